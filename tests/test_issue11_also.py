"""Issue 11, "Also": the smaller report and input problems, one test per item."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bbmcheck.cli import main
from bbmcheck.results import Verdict
from bbmcheck.sequences.edit import edit
from bbmcheck.sequences.load import load_model, load_text
from bbmcheck.verify import Options, verify

ROOT = Path(__file__).resolve().parent.parent

TABLE = '''
[tables.T1]
level = 1
root = true
entries = { 1 = "block oa=0x80000000" }
'''


def model(tmp_path: Path, program: list[str], rest: str = TABLE, name: str = "m") -> str:
    text = f'name = "{name}"\nlevel = "L0"\nprogram = \'\'\'\n' + "\n".join(program) + "\n'''\n" + rest
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


BBM = ["str T1[1], invalid", "dsb ishst", "tlbi vmalls12e1is", "dsb ish", "str T1[1], block oa=0xc0000000"]


def test_persisting_window_says_the_last_store_is_never_made_visible(tmp_path):
    """Item 1: a program ending in a store that no store-visibility DSB follows says so, naming the line."""
    unpublished = verify(load_model(model(tmp_path, BBM, name="nodsb")))  # the store is line 8
    window = unpublished.finding("invalid-window")
    assert window.persisting and window.window is not None
    assert window.window.closes_at == ("never: still possible after the sequence completed; "
                                       "the last store is never made visible: no DSB follows line 8")
    # dsb nsh (or an isb) reaches no other walker: still unpublished
    for tail in ("dsb nsh", "isb"):
        f = verify(load_model(model(tmp_path, [*BBM, tail], name="weak"))).finding("invalid-window")
        assert f.window is not None and "no DSB follows line 8" in f.window.closes_at
    published = verify(load_model(model(tmp_path, [*BBM, "dsb ishst"], name="dsb")))
    assert not published.finding("invalid-window").persisting
    # the seed's persisting conflict ends with 'dsb ishst; free; free': nothing about visibility
    seed = verify(load_model("ttrem1")).finding("tlb-conflict")
    assert seed.persisting and seed.window is not None
    assert seed.window.closes_at == "never: still possible after the sequence completed"


def test_json_no_traces_leaves_out_the_itf_documents(capsys):
    """Item 2: --json --no-traces keeps each counterexample's path, not its ITF document or steps."""
    code, full, _ = run(capsys, "verify", "ttrem1", "--json")
    code_short, short, _ = run(capsys, "verify", "ttrem1", "--json", "--no-traces")
    assert code == code_short == 1
    assert run(capsys, "verify", "ttrem1", "--json", "--no-traces")[1] == short  # byte-identical
    data = json.loads(short)
    traces = [f[k] for f in data["findings"] for k in ("trace", "persisting_trace") if f[k] is not None]
    assert traces and all("itf" not in t and "steps" not in t and t["path"] for t in traces)
    assert data["findings"][0]["trace"]["path"] == json.loads(full)["findings"][0]["trace"]["path"]
    assert '"itf"' in full and '"itf"' not in short and len(short) < len(full) / 4


def test_ttl0_is_warned_about_at_its_position(tmp_path, capsys):
    """Item 3: ttl=0 is a located warning on stderr, with the exit status the verdicts give."""
    program = ["str T1[1], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40000000, ttl=0", "dsb ish"]
    path = model(tmp_path, program, name="ttl0")
    code, out, err = run(capsys, "verify", path, "--no-traces")
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert warnings == [f"{path}:6:29: warning: ttl=0 names a level-0 leaf, but with a 4 KiB granule stage 2 "
                        "has no leaf at level 0: this TLBI need invalidate nothing (RSQXYZ); give the leaf's "
                        "level 1..3, or no hint"]
    assert code == verify(load_model(path)).exit_code and "warning" not in out
    hinted = model(tmp_path, [*program[:2], "tlbi ipas2e1is, 0x40000000, ttl=1", "dsb ish"], name="ttl1")
    assert ": warning: " not in run(capsys, "verify", hinted, "--no-traces")[2]


def test_top_level_key_after_a_table_header_gets_the_misplaced_key_hint(tmp_path, capsys):
    """Item 4: 'level = ...' below [tables.T1], which has a level, is TOML's "Cannot overwrite a
    value"; the error says the top-level key is inside [tables.T1]."""
    path = model(tmp_path, ["dsb ish"], TABLE + 'level = "L0"\n', name="late")
    text = Path(path).read_text().replace('level = "L0"\n', "", 1)  # only the late one is left
    Path(path).write_text(text)
    code, out, err = run(capsys, "verify", path)
    line = text.split("\n").index('level = "L0"') + 1
    assert code == 2 and out == ""
    assert err == (f"{path}:{line}:1: error: invalid TOML: Cannot overwrite a value (top-level key 'level' is "
                   "inside [tables.T1]: in TOML a key after the [tables.T1] header belongs to that section; a "
                   "top-level key must come first, so put it before the first header)\n")
    # a key really written twice in one table keeps the plain message
    twice = model(tmp_path, ["dsb ish"], TABLE + "level = 1\n", name="twice")
    assert run(capsys, "verify", twice)[2].endswith("Cannot overwrite a value (the key is already set above)\n")


def test_models_readme_documents_the_entries_sub_table():
    """Item 5: models/README.md shows the [tables.X.entries] form, and its example loads."""
    readme = (ROOT / "models" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```toml\n(.*?)```", readme, re.S) if re.search(r"^\[tables\.\w+\.entries\]", b,
                                                                                       re.M)]
    assert len(blocks) == 1, "one example of the [tables.X.entries] sub-table"
    example = blocks[0]
    name = re.search(r"^\[tables\.(\w+)\.entries\]", example, re.M).group(1)  # type: ignore[union-attr]
    rows = [line for line in example.split(f"[tables.{name}.entries]")[1].split("\n") if "=" in line]
    text = ('level = "L0"\nprogram = "dsb ish"\n[tables.R]\nlevel = 1\nroot = true\nentries = { 1 = "table M" }\n'
            f'[tables.M]\nlevel = 2\nentries = {{ 1 = "table {name}" }}\n' + example)
    seq = load_text(text, "example.toml")
    assert len(seq.table(name).entries) == len(rows) >= 2


def test_claims_none_reports_verdicts_and_fails_only_on_errors(tmp_path, capsys):
    """Item 6: --claims none, and a model with no [claims] table, judge against no claims: a correct
    break-before-make (a warning-severity invalid window) exits 0; an error-severity violation exits 1."""
    bbm = model(tmp_path, [*BBM, "dsb ishst"], name="bbm")  # no [claims] table
    code, out, _ = run(capsys, "verify", bbm, "--no-traces")
    assert code == 0, out
    assert "claims: none (verdicts only: exit status 1 only when an error-severity property is violated)" in out
    assert "invalid-window     VIOLATED; transient  [no claim; warning severity]" in out
    assert "tlb-conflict       holds  [no claim]" in out and "claimed" not in out
    assert run(capsys, "verify", bbm, "--no-traces")[1] == out  # byte-identical
    assert json.loads(run(capsys, "verify", bbm, "--json")[1])["claims"] == "none"
    # an empty [claims] table claims that every property holds, as before
    claimed = model(tmp_path, [*BBM, "dsb ishst"], TABLE + "\n[claims]\n", name="claimed")
    code, out, _ = run(capsys, "verify", claimed, "--no-traces")
    assert code == 1 and "[claimed holds: REFUTED]" in out
    assert run(capsys, "verify", claimed, "--no-traces", "--claims", "none")[0] == 0
    # bundled models keep their claims unless asked; with none, only error severity fails
    assert run(capsys, "verify", "ttrem0", "--no-traces", "--claims", "none")[0] == 0
    code, out, _ = run(capsys, "verify", "ttrem1", "--no-traces", "--claims", "none")
    assert code == 1 and "tlb-conflict       VIOLATED" in out and "[no claim; error severity]" in out
    code, out, err = run(capsys, "verify", "ttrem0", "--claims", "nne")
    assert code == 2 and out == "" and err == ("<command-line>:1:15: error: invalid value 'nne' for --claims "
                                               "(expected one of model, none) (did you mean 'none'?)\n")
    # the library: Options(claims="none"); edit() keeps a model without claims without them
    seq = load_model(bbm)
    assert not seq.claimed and verify(seq).exit_code == 0
    assert not edit(seq, name="edited").claimed
    result = verify(load_model("ttrem1"), Options(claims="none"))
    assert result.claims == "none" and result.exit_code == 1
    assert {f.claim for f in result.findings} == {"none"}
    assert not result.finding("tlb-conflict").claim_ok and result.finding("invalid-window").claim_ok
    assert result.finding("tlb-conflict").verdict is Verdict.VIOLATED
