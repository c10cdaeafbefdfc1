"""Issue 15, maps: the bundled maps for Linux kernel mappings, Hafnium and Gunyah; stores written
as assignments; the automatic choice of a map; kernel macros read without the kernel's headers.
Every fixture is in the project's own words, reproducing one construct of the real code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bbmcheck.cli import main
from bbmcheck.errors import InputError
from bbmcheck.extract.c_paths import function_paths
from bbmcheck.extract.choose import choose_map
from bbmcheck.extract.extract import extract
from bbmcheck.extract.macros import rewrite
from bbmcheck.extract.mapping import BUNDLED_MAPS, load_primitives
from bbmcheck.extract.source import read_source
from bbmcheck.results import Verdict
from bbmcheck.verify import verify

HERE = Path(__file__).parent / "fixtures" / "code"
PRIMITIVES = Path(__file__).resolve().parent.parent / "bbmcheck" / "extract" / "primitives"


def violated(model) -> set[str]:
    return {f.property for f in verify(model.sequence).findings if f.verdict is Verdict.VIOLATED}


def test_every_bundled_map_loads_and_says_what_it_was_read_from():
    assert {p.stem for p in PRIMITIVES.glob("*.toml")} == set(BUNDLED_MAPS)
    for name in BUNDLED_MAPS:
        load_primitives(name)
        header = (PRIMITIVES / f"{name}.toml").read_text().split("\n[")[0]
        assert "Sources read" in header and re.search(r"\b[0-9a-f]{12}\b", header), name


def test_linux_kernel_map_frees_a_table_only_after_the_walk_caches_are_flushed():
    """pmd_clear, __flush_tlb_kernel_pgtable, pte_free_kernel: the by-VA flush is the model's by-IPA
    flush, a DSB, then VMALLE1IS (the header's argument), so the right order is safe and freeing
    first is a freed-table-walk."""
    scen = str(HERE / "linux_free_pte_table.scenario.toml")
    (good,), notes = extract(str(HERE / "linux_free_pte_table.c"), "clear_pte_table", scen,
                             primitives="linux-arm64-mm", strict=True)
    assert good.name == "linux-free-pte-table" and notes == ["path p1 [!(pmd_table(pmd))] makes no page-table "
                                                             "update; no model"]
    assert good.lines == ("str T2[1], invalid", "dsb ishst", "tlbi ipas2e1is, 0x40200000", "dsb ish",
                          "tlbi vmalle1is", "dsb ish", "isb", "free T3")
    assert violated(good) == set()
    (early,), _ = extract(str(HERE / "linux_free_pte_table.c"), "clear_pte_table_early_free", scen,
                          primitives="linux-arm64-mm", strict=True)
    assert violated(early) == {"freed-table-walk"}


def test_a_barrier_that_depends_on_the_value_written_is_given_only_where_it_is_issued():
    """__set_pte issues DSB ISHST; ISB for a valid pte only (a "when valid" line)."""
    scen = str(HERE / "linux_free_pte_table.scenario.toml")
    (m,), _ = extract(str(HERE / "linux_free_pte_table.c"), "write_two", scen, primitives="linux-arm64-mm", strict=True)
    assert m.lines == ("str T3[0], page oa=0x80200000 attr=normal perm=rw", "dsb ishst", "isb", "str T3[1], invalid")


def test_when_lines_and_types_are_checked_where_they_are_written(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[primitives]\nf = ["when maybe {desc:0}: isb"]\n')
    with pytest.raises(InputError, match="'maybe {desc:0}' is not a condition") as e:
        load_primitives(str(bad))
    assert (e.value.line, e.value.col) == (2, 7)
    bad.write_text('[types]\nentries = ["pte_t"]\n[primitives]\nf = ["isb"]\n')
    with pytest.raises(InputError, match=r'\[types\] entries needs "=" in \[primitives\]') as e:
        load_primitives(str(bad))
    assert (e.value.line, e.value.col) == (2, 11)
    bad.write_text('[types]\nentry = ["pte_t"]\n')
    with pytest.raises(InputError, match="unknown key 'entry' in \\[types\\]"):
        load_primitives(str(bad))
    bad.write_text('[primitives]\n"=" = []\n[types]\nentries = ["pte t"]\n')
    with pytest.raises(InputError, match="list of C type names"):
        load_primitives(str(bad))
    mine = tmp_path / "mine.toml"
    mine.write_text('extends = "hafnium"\n[types]\nentries = ["my_pte_t"]\n')
    assert load_primitives(str(mine)).entry_types == {"pte_t", "my_pte_t"}


def test_an_assignment_through_an_entry_pointer_is_a_store_and_other_memory_is_not():
    """Hafnium writes entries by assignment: *pte = ...; a counter through int * and a field of a
    struct stay ignored; the inlined helper's two flush paths are both models."""
    scen = str(HERE / "hafnium_replace.scenario.toml")
    models, notes = extract(str(HERE / "hafnium_replace.c"), "replace_entry", scen, primitives="hafnium", strict=True)
    got = {m.name: m.lines for m in models}
    assert got == {
        "hafnium-replace-s1": ("str T1[1], invalid", "dsb ish", "tlbi ipas2e1is, 0x40000000", "dsb ish",
                               "tlbi vmalle1is", "dsb ish", "isb", "str T1[1], table T2"),
        "hafnium-replace-s2": ("str T1[1], invalid", "dsb ish", "tlbi ipas2e1is, 0x40000000", "dsb ish",
                               "tlbi vmalle1is", "dsb ish", "isb", "str T1[1], table T2"),
    }
    assert notes == ["path p3 [!(arch_mm_pte_is_valid(v, level))] skipped: the entry this scenario replaces is "
                     "valid"]
    # the old entry is a block: mm_free_page_pte frees nothing ("when table")
    assert all(violated(m) == {"invalid-window"} for m in models)


def _calls(tmp_path, code: str, types=frozenset({"pte_t"}), known=lambda n: n == "=") -> tuple[list, list[str]]:
    f = tmp_path / "s.c"
    f.write_text(code)
    said: list[str] = []
    paths = function_paths(read_source(str(f)), "f", known, None, None, lambda e: said.append(e.render()),
                           entry_types=types)
    return [[(c.name, c.args) for c in p.calls] for p in paths], said


def test_stores_by_declared_type(tmp_path):
    code = ("struct tbl { pte_t slots[4]; int used; };\nstatic pte_t root[512];\n"
            "void f(pte_t *p, struct tbl *t, u64 *n, struct other *o, pte_t v)\n{\n"
            "    *p = v;\n    p[1] = v;\n    root[2] = v;\n    t->slots[3] = v;\n"
            "    t->used = 1;\n    *n = 2;\n    o->count = 3;\n    pte_t local = v;\n    local = v;\n"
            "    o->slots[0] = v;\n    o->words[0] = 5;\n}\n")
    (calls,), said = _calls(tmp_path, code)
    assert calls == [("=", ("*p", "v")), ("=", ("p[1]", "v")), ("=", ("root[2]", "v")),
                     ("=", ("t->slots[3]", "v")), ("=", ("o->slots[0]", "v"))]
    assert said == [f"{tmp_path / 's.c'}:14:5: error: no declaration of 'o->slots' found: taken to point to table "
                    "entries, since the value stored is a pte_t",
                    f"{tmp_path / 's.c'}:15:5: error: no declaration of 'o->words' found: taken as memory that "
                    "holds no table entry, so this store is not modelled (declare it, or give the map's [types] "
                    "its type)"]
    # a map without [types] makes no store of an assignment
    assert _calls(tmp_path, code, types=frozenset()) == ([[]], [])
    with pytest.raises(InputError, match="'\\|=' to table entry '\\*p' is not modelled") as e:
        _calls(tmp_path, "void f(pte_t *p)\n{\n    *p |= 4;\n}\n")
    assert (e.value.line, e.value.col) == (3, 5)


def test_container_of_with_a_struct_type_parses_and_keeps_its_columns(tmp_path):
    """Once "a C syntax error"; every character after the macro is where it was written."""
    code = ("static void f(pte_t *p, pte_t v)\n{\n"
            "    struct holder *h = container_of(p, struct holder, entry); WRITE_ONCE(*q, v);\n}\n")
    f = tmp_path / "c.c"
    f.write_text(code)
    scen = tmp_path / "s.toml"
    scen.write_text('base = "split-bbm"\n[values]\nv = "table T2"\n')
    with pytest.raises(InputError, match="'\\*q' has no meaning in scenario") as e:
        extract(str(f), "f", str(scen), primitives="linux-arm64-mm")
    assert (e.value.line, e.value.col) == (3, 74) and code.split("\n")[2][73:75] == "*q"


def test_a_for_each_macro_is_a_loop_and_an_attribute_is_blank(tmp_path):
    code = ("static __always_inline int __must_check f(pte_t *p, pte_t v)\n{\n"
            "    for_each_table_slot(p, slot) {\n        g(slot);\n    }\n"
            "    list_for_each_entry(x, &head, node)\n        h(x);\n    COUNT_IT(p);\n    return 0;\n}\n")
    runs, said = _calls(tmp_path, code, known=lambda n: n in ("g", "h", "="))
    names = sorted(tuple(n for n, _ in calls) for calls in runs)
    assert ("g", "g", "h", "h", "COUNT_IT") in names and ("COUNT_IT",) in names
    where = str(tmp_path / "s.c")
    assert f"{where}:3:5: error: macro 'for_each_table_slot' guessed: read as a loop over its arguments" in said[0]
    assert said[1] == (f"{where}:8:5: error: macro 'COUNT_IT' guessed: read as a function call (a macro whose "
                       "definition bbmcheck has not seen)")
    assert not any("list_for_each_entry" in s for s in said)  # a known iterator is no guess


def test_macros_that_hide_meaning(tmp_path):
    """unlikely(x) is x (so a later x decides alike), BUG_ON(c) ends the path where c holds,
    WRITE_ONCE(a, v) is an assignment, BIT(n) is a value; a map that names one keeps its own."""
    code = ("void f(pte_t *p, pte_t v, int x)\n{\n    if (unlikely(x))\n        a();\n"
            "    BUG_ON(x == 2);\n    if (x)\n        b(BIT(3));\n    WRITE_ONCE(*p, v);\n}\n")
    runs, _ = _calls(tmp_path, code, known=lambda n: n in ("a", "b", "="))
    assert sorted(runs) == sorted([[("a", ()), ("b", ("BIT(3)",)), ("=", ("*p", "v"))], [("=", ("*p", "v"))]])
    runs, _ = _calls(tmp_path, code, types=frozenset(), known=lambda n: n in ("a", "b", "WRITE_ONCE", "BUG_ON"))
    assert all(calls[-1][0] == "WRITE_ONCE" for calls in runs) and any(c[0] == "BUG_ON" for c in runs[0])


def test_rewriting_keeps_every_line_and_column():
    for path in sorted(HERE.glob("*.c")):
        text = path.read_text()
        got, _ = rewrite(text)
        assert len(got) == len(text) and [m.start() for m in re.finditer("\n", got)] == [
            m.start() for m in re.finditer("\n", text)]
    text = 'x = WRITE_ONCE(a, "(,") /* BIT( */ + list_for_each(p, h) { };\n#define M(x) unlikely(x)\n'
    got, _ = rewrite(text)
    assert got == 'x =           (a= "(,") /* BIT( */ + while        (p, h) { };\n#define M(x) unlikely(x)\n'


@pytest.mark.parametrize(("code", "function", "expected"), [
    ("xen_p2m_replace.c", "p2m_replace_entry", "xen-arm"),
    ("gunyah_merge_l1.c", "pgtable_merge_block_l1", "gunyah"),
    ("kvm_split_helpers.c", "stage2_split_helpers", "linux-kvm-arm64"),
    ("hafnium_replace.c", "replace_entry", "hafnium"),
    ("linux_free_pte_table.c", "clear_pte_table", "linux-arm64-mm"),
])
def test_the_map_that_knows_the_function_is_chosen(code, function, expected):
    name, note = choose_map(read_source(str(HERE / code)), function)
    assert name == expected and note.startswith(f"primitive map {expected} chosen: it knows ")


def test_a_tie_or_nothing_known_asks_for_primitives(tmp_path, capsys):
    f = tmp_path / "t.c"
    f.write_text("void f(void)\n{\n    dsb(ish);\n}\n\nvoid g(void)\n{\n    mystery();\n}\n\n"
                 "void h(void)\n{\n    isb();\n}\n")
    with pytest.raises(InputError, match="know as many calls of 'f' \\(dsb\\) and differ on them; say which "
                       "with --primitives") as e:
        choose_map(read_source(str(f)), "f")  # Gunyah's dsb(outer_shareable) is not dsb(option)
    assert (e.value.line, e.value.col) == (1, 1)
    # maps that tie but say the same of every call are alike: the first is taken
    name, note = choose_map(read_source(str(f)), "h")
    assert name == "linux-kvm-arm64" and "and say the same of each" in note
    with pytest.raises(InputError, match="no bundled primitive map knows a call of 'g'") as e:
        choose_map(read_source(str(f)), "g")
    assert (e.value.line, e.value.col) == (6, 1)
    scen = str(HERE / "hafnium_replace.scenario.toml")
    assert main(["extract", str(f), "--function", "g", "--scenario", scen]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{f}:6:1: error: no bundled primitive map") and "Traceback" not in err
    assert main(["extract", str(HERE / "hafnium_replace.c"), "--function", "replace_entry", "--scenario", scen,
                 "-o", str(tmp_path / "out")]) == 0
    assert "bbmcheck: primitive map hafnium chosen: it knows" in capsys.readouterr().err


def test_a_condition_that_assigns_without_calls_and_a_cast_written_like_a_call(tmp_path):
    """``(b &= 2)`` in a ``&&`` without calls once recursed forever (a traceback on Gunyah's
    pgtable.c); ``(u64)(a)`` parses as a call of ``(u64)`` and is a value, not an unknown call."""
    code = ("int f(int a, int b)\n{\n    if ((a >= 1) && (b &= 2))\n        g((u64)(a));\n"
            "    return (a > 0) && (b += 1);\n}\n")
    runs, said = _calls(tmp_path, code, types=frozenset(), known=lambda n: n == "g")
    assert sorted(runs) == [[], [("g", ("(u64)(a)",))]] and said == []
