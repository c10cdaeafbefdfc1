"""The default scenario (extract/default_scenario.py): code checked with no --scenario.

The fixture tests/fixtures/code/default_scenario.c is in this project's own words; each function
reproduces one way real code tells what an entry held or what it stores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bbmcheck.cli import main
from bbmcheck.extract.extract import extract
from bbmcheck.results import Verdict
from bbmcheck.verify import verify

HERE = Path(__file__).parent / "fixtures" / "code"
CODE = str(HERE / "default_scenario.c")
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "ttrem-coalesce-rfc-patch.txt"


def models(function: str, code: str = CODE) -> dict[str, object]:
    got, _ = extract(code, function, None)
    return {m.name: m for m in got}


def violated(seq: object) -> set[str]:
    result = verify(seq)  # type: ignore[arg-type]
    return {f.property for f in result.findings if f.verdict is Verdict.VIOLATED}


def situations(ms: dict[str, object]) -> set[str]:
    return {name.rsplit(".", 1)[1] for name in ms}


def test_correct_break_before_make_has_only_the_invalid_window() -> None:
    ms = models("replace_leaf")
    # the leaf constructor makes a block or a page: every old kind meets a leaf
    assert {"invalid-to-block", "block-to-block-oa", "block-to-block-perm", "table-to-block",
            "page-to-page-oa"} <= situations(ms)
    assert not any(s.endswith("-to-table") or s.endswith("-to-invalid") for s in situations(ms))
    for m in ms.values():
        assert violated(m.sequence) <= {"invalid-window"}, m.name  # type: ignore[attr-defined]


def test_a_table_flushed_as_a_leaf_is_found() -> None:
    ms = models("replace_leaf_ipa_only")
    table = [m for name, m in ms.items() if name.endswith(".table-to-block")]
    assert table and all("stale-translation" in violated(m.sequence) for m in table)  # type: ignore[attr-defined]
    leaf = [m for name, m in ms.items() if name.endswith(".block-to-block-oa")]
    assert leaf and all(violated(m.sequence) <= {"invalid-window"} for m in leaf)  # type: ignore[attr-defined]


def test_the_range_flush_covers_every_page_of_the_old_table() -> None:
    ms = models("replace_leaf")
    (table,) = [m for name, m in ms.items() if name.endswith(".table-to-block")]
    tlbis = [i.text for i in table.sequence.program if i.op == "tlbi"]  # type: ignore[attr-defined]
    assert sum("ipas2e1is" in t for t in tlbis) == 2  # both pages of T3


def test_warn_on_states_what_the_code_assumes(tmp_path: Path) -> None:
    assert situations(models("make")) == {"invalid-to-block", "invalid-to-table"}
    # without the assertion nothing says the entry was broken: a live block is overwritten
    text = Path(CODE).read_text().replace("\tWARN_ON(!stage2_pte_is_locked(*ctx->ptep));\n", "")
    bare = tmp_path / "bare.c"
    bare.write_text(text)
    ms = models("make", str(bare))
    assert "block-to-block-oa" in situations(ms)
    assert "bbm-required" in violated(ms["make.block-to-block-oa"].sequence)  # type: ignore[attr-defined]


def test_a_filled_table_is_linked_as_the_new_value() -> None:
    ms = models("split_fill")
    filled = [m for m in ms.values() if any(i.loc is not None and i.loc.table == "N"
                                            for i in m.sequence.program)]  # type: ignore[attr-defined]
    assert filled
    for m in filled:
        program = m.sequence.program  # type: ignore[attr-defined]
        last = [i for i in program if i.is_store][-1]
        assert last.loc.table == "T2" and last.desc.text() == "table N"
        assert violated(m.sequence) <= {"invalid-window"}, m.name  # type: ignore[attr-defined]


def test_put_page_of_the_entry_pointer_is_no_free_and_of_the_child_is() -> None:
    got, notes = extract(CODE, "unmap_put", None)
    frees = {m.name: [i.text for i in m.sequence.program if i.op == "free"] for m in got}
    assert any(name.endswith(".table") and f == ["free T3"] for name, f in frees.items())
    assert all(f == [] for name, f in frees.items() if not name.endswith("table"))
    assert frees["unmap_put.p1.empty-table"] == ["free T3"]  # an emptied table is freed all the same
    assert any("reference dropped on the live table" in n for n in notes)
    for m in got:
        assert violated(m.sequence) <= {"invalid-window"}, m.name


def test_a_deleted_tlbi_is_found() -> None:
    ms = models("replace_leaf")
    m = next(m for name, m in ms.items() if name.endswith(".block-to-block-oa"))
    program = m.sequence.program  # type: ignore[attr-defined]
    for k, ins in enumerate(program):
        if ins.op == "tlbi" and "ipas2e1is" in ins.text:
            mutant = replace(m.sequence, program=program[:k] + program[k + 1:])  # type: ignore[attr-defined]
            assert violated(mutant) - {"invalid-window"}, ins.text


@pytest.mark.skipif(not SEED.is_file(), reason="the seed patch is beside the checkout only")
def test_seed_patch_without_scenario_gives_its_level0_and_nt_paths() -> None:
    got, notes = extract(str(SEED), "stage2_coalesce_tables_into_block", None)
    by_path = {}
    for m in got:
        by_path.setdefault(m.path, set()).add(m.sequence.level.value)
    assert by_path == {"ttrem_level=TTREM_LEVEL0": {"L0"}, "ttrem_level=TTREM_LEVEL1": {"L1"}}
    coalesce = [m for m in got if m.name.endswith(".table-to-block")]
    assert len(coalesce) == 2
    assert any("makes no page-table update" in n for n in notes)  # the default: return -EINVAL


def test_cli_verify_from_code_with_no_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--from-code", CODE, "--function", "replace_leaf", "--no-traces"]) == 0
    out = capsys.readouterr().out
    assert "replace_leaf.p3.table-to-block" in out and "(default scenario)" in out
    assert main(["verify", "--from-code", CODE, "--function", "replace_leaf_ipa_only", "--no-traces"]) == 1


def test_bad_predicates_are_located(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "map.toml"
    bad.write_text('extends = "linux-kvm-arm64"\n[predicates]\nkvm_pte_valid = "vaild"\n')
    assert main(["extract", CODE, "--function", "make", "--primitives", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{bad}:3:17: error: [predicates] 'kvm_pte_valid': unknown kind "
                                               "'vaild'") and "did you mean 'valid'" in err[0]


def test_a_copy_of_the_old_entry_changes_its_attributes_only() -> None:
    ms = models("set_attrs")
    assert situations(ms) == {"block-to-block-perm", "page-to-page-perm"}
    for m in ms.values():  # the flush is the caller's: without it the old permissions stay cached
        assert "stale-translation" in violated(m.sequence)  # type: ignore[attr-defined]


def test_a_scenario_without_base_pins_the_default_context(capsys: pytest.CaptureFixture[str]) -> None:
    scen = str(HERE / "set_attrs.scenario.toml")
    got, _ = extract(CODE, "set_attrs", scen)
    assert {m.name.rsplit(".", 1)[1] for m in got} == {"block-to-block-perm", "page-to-page-perm"}
    page = next(m for m in got if m.name.endswith("page-to-page-perm"))
    assert [i.text for i in page.sequence.program if i.op == "tlbi"][0] == "tlbi ipas2e1is, 0x201000"
    assert main(["verify", "--from-code", CODE, "--function", "set_attrs", "--scenario", scen, "--no-traces"]) == 0


def test_a_scenario_without_base_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "s.toml"
    for text, where, says in (
            ('situations = ["blok"]\n', "1:14", "unknown situation 'blok'"),
            ('[entries]\nptep = "T1[1]"\n', "1:2", "'entries' needs a base model"),
            ('base = "ttrem1"\nsituations = ["block"]\n', "2:1", "'situations' needs no base"),
            ('epilogue = ["tlbi ipas2e1is, {ipa"]\n', "1:30", "'{ipa' is not an intermediate physical address")):
        bad.write_text(text)
        assert main(["extract", CODE, "--function", "set_attrs", "--scenario", str(bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"{bad}:{where}: error: {says}"), err


def test_comparisons_of_old_and_new_say_they_differ() -> None:
    # every default situation changes the entry: a store guarded by "differs in software bits
    # only" is checked where the old entry was invalid, and nowhere else
    assert situations(models("map_leaf_sw")) == {"invalid-to-block"}


def test_a_paths_key_that_names_no_path_is_said(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('situations = ["block"]\n\n[paths]\np9 = { skip = "never" }\n')
    assert main(["extract", CODE, "--function", "set_attrs", "--scenario", str(bad)]) == 0
    err = capsys.readouterr().err
    assert f"{bad}:4:1: warning: [paths] 'p9' names no path of 'set_attrs'" in err
    scen = HERE / "kvm_replace_leaf.scenario.toml"  # with a base too
    typo = tmp_path / "t.toml"
    typo.write_text(scen.read_text().replace("base = \"", "# \n\nbase = \"", 1) + '\n[paths.p7]\nskip = "x"\n')
    assert main(["extract", str(HERE / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf",
                 "--scenario", str(typo)]) == 0
    assert "warning: [paths] 'p7' names no path of 'stage2_split_leaf'" in capsys.readouterr().err


def test_a_level_hint_that_names_the_table_leaves_its_walk_caches(tmp_path: Path) -> None:
    """KVM passed the table's level as the TTL of the TLBI that unmaps a table (fixed upstream by
    passing an unknown level): the walk caches that point at the child survive it (RSQXYZ), and the
    child is freed under them."""
    scen = str(HERE / "emptied_table.scenario.toml")
    (m,) = extract(CODE, "unmap_table_hinted", scen)[0]
    assert "tlbi ipas2e1is, 0x200000, ttl=2" in [i.text for i in m.sequence.program]
    assert violated(m.sequence) == {"freed-table-walk"}
    fixed = tmp_path / "fixed.c"
    fixed.write_text(Path(CODE).read_text().replace(
        "kvm_call_hyp(__kvm_tlb_flush_vmid_ipa, mmu, ctx->addr, ctx->level);\n\tmm_ops->put_page(childp);",
        "kvm_call_hyp(__kvm_tlb_flush_vmid_ipa, mmu, ctx->addr, TLBI_TTL_UNKNOWN);\n\tmm_ops->put_page(childp);"))
    (m,) = extract(str(fixed), "unmap_table_hinted", scen)[0]
    assert "tlbi ipas2e1is, 0x200000" in [i.text for i in m.sequence.program]  # no hint: every level
    assert violated(m.sequence) == set()
