"""Bad input never gets a traceback: one line ``file:line:col: error: ...`` on stderr, exit status 2.

Each model-file case starts from BASE (a valid model) and makes one mistake by replacing a piece of
text. The case names the offending token inside the replacement, and the test computes the line and
column that token lands on, so a locator that points at the wrong place (a comment, a section header,
an earlier look-alike value) fails the test. The file's bytes must be unchanged afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from bbmcheck.cli import main

# A valid model: split a 2 MiB block into a table of 4 KiB pages with break-before-make. The comments
# inside the sections name tables and entries on purpose: a locator that searches raw text finds them
# before the real mistake.
BASE = """\
# Base model for the bad-input tests. Each case breaks one thing.
name   = "bad-input-base"
title  = "split a block, BBM"
level  = "L0"          # FEAT_BBM level: L0, L1, L2 or L2-noabort
expect = "claims-hold"

program = '''
str   T2[0], invalid              // break: the old block (table T2, entry 0)
dsb   ishst
tlbi  ipas2e1is, 0x80000000, ttl=2
dsb   ish
tlbi  vmalle1is                   // combined stage-1+2 entries too (RVZZVZ)
dsb   ish
isb
stlr  T2[0], new_table            // make: link the level-3 table T3
dsb   ishst
'''

[descriptors]
new_table = "table T3"
old_block = "block oa=0x80000000 attr=normal perm=rw"

[tables.T1]
# the root: entry 2 = table T2, which maps IPA 0x80000000..0xbfffffff
level = 1
root  = true
entries = { 2 = "table T2" }

[tables.T2]
# entry 0 = the 2 MiB block being split
level = 2
entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }

[tables.T3]
level = 3
entries = { 0 = "page oa=0x80000000 attr=normal perm=rw", 1 = "page oa=0x80001000 attr=normal perm=rw" }

[observers]
vcpus = 2
addresses = ["0x80000000", "0x80001000"]

[claims]
invalid-window = "violated"
"""

PROGRAM = BASE[BASE.index("program = '''"):BASE.index("[descriptors]")]


@dataclass(frozen=True)
class Mistake:
    """Replace ``old`` (which must occur once, after the ``before`` edits) by ``new``; the error must
    point at the first ``token`` inside ``new`` (None: at 1:1, the file as a whole)."""

    id: str
    old: str
    new: str
    token: str | None
    phrase: str
    before: tuple[tuple[str, str], ...] = ()

    def build(self) -> tuple[str, int, int]:
        text = BASE
        for old, new in self.before:
            text = _replace_once(text, old, new)
        assert text.count(self.old) == 1, f"{self.id}: {self.old!r} is not unique"
        start = text.index(self.old)
        text = text[:start] + self.new + text[start + len(self.old):]
        if self.token is None:
            return text, 1, 1
        assert self.token in self.new, f"{self.id}: {self.token!r} not in the replacement"
        pos = start + self.new.index(self.token)
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        return text, line, col


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not unique"
    return text.replace(old, new, 1)


T1_ENTRIES = 'entries = { 2 = "table T2" }'
T2_BLOCK = '"block oa=0x80000000 attr=normal perm=rw" }'
T3_PAGES = ('entries = { 0 = "page oa=0x80000000 attr=normal perm=rw", '
            '1 = "page oa=0x80001000 attr=normal perm=rw" }')
ADDRESSES = 'addresses = ["0x80000000", "0x80001000"]'

MISTAKES = [
    # --- TOML itself ---------------------------------------------------------------------------
    Mistake("toml-syntax-bare-word", "vcpus = 2", "vcpus = two", "two", "invalid TOML: Invalid value"),
    # the closing ''' is missing: the error points at the opening one, not at the end of the file
    Mistake("toml-unterminated-program", "program = '''", "program = '''", "'''",
            "invalid TOML: unterminated string (no closing ''')", before=(("dsb   ishst\n'''\n", "dsb   ishst\n"),)),
    Mistake("toml-unterminated-string", 'title  = "split a block, BBM"', 'title  = "split a block, BBM', '"',
            "invalid TOML: unterminated string"),
    Mistake("toml-unclosed-array", ADDRESSES + "\n", 'addresses = ["0x80000000", "0x80001000"\n', "addresses",
            "invalid TOML: Unclosed array"),
    Mistake("toml-duplicate-key", "vcpus = 2", "vcpus = 2\nvcpus = 3", "vcpus = 3", "invalid TOML"),
    # --- top-level keys --------------------------------------------------------------------------
    Mistake("missing-program", PROGRAM, "", None, "missing required key 'program'"),
    Mistake("program-after-descriptors", "[descriptors]\n", "[descriptors]\n" + PROGRAM, "program",
            "top-level key 'program' is inside [descriptors]: in TOML a key after the [descriptors] header belongs "
            "to that section; a top-level key must come first, so put it before the first header",
            before=((PROGRAM, ""),)),
    Mistake("program-after-claims", 'invalid-window = "violated"\n', 'invalid-window = "violated"\n' + PROGRAM,
            "program", "put it before the first header", before=((PROGRAM, ""),)),
    Mistake("program-after-table", "[tables.T3]\n", "[tables.T3]\n" + PROGRAM, "program",
            "put it before the first header", before=((PROGRAM, ""),)),
    Mistake("title-after-descriptors", "[descriptors]\n", '[descriptors]\ntitle = "split a block"\n', "split",
            "unknown descriptor kind 'split' (top-level key 'title' is inside [descriptors]: in TOML a key after "
            "the [descriptors] header belongs to that section", before=(('title  = "split a block, BBM"\n', ""),)),
    Mistake("unknown-top-key", 'title  = "split a block, BBM"', 'titel  = "split a block, BBM"', "titel",
            "unknown key 'titel' (did you mean 'title'?)"),
    Mistake("unknown-bbm-level", 'level  = "L0"', 'level  = "L3"', '"L3"', "unknown FEAT_BBM level 'L3'"),
    Mistake("level-not-a-string", 'level  = "L0"', "level  = 1", "1", "'level' must be a string"),
    Mistake("bad-expect", 'expect = "claims-hold"', 'expect = "claims-ok"', '"claims-ok"',
            "expect must be one of claims-hold, claims-refuted"),
    # --- the program -----------------------------------------------------------------------------
    Mistake("unknown-instruction", "tlbi  vmalle1is", "tlbii vmalle1is", "tlbii",
            "unknown instruction 'tlbii' (did you mean 'tlbi'?)"),
    Mistake("dmb-not-modelled", "dsb   ishst\ntlbi", "dmb   ishst\ntlbi", "dmb",
            "bbmcheck models str/stlr stores and dsb/isb barriers only"),
    Mistake("unknown-tlbi-op", "tlbi  vmalle1is", "tlbi  vmalle2is", "vmalle2is",
            "unknown or unmodelled TLBI operation 'vmalle2is' (did you mean 'vmalle1is'?)"),
    Mistake("by-ipa-tlbi-without-address", "tlbi  ipas2e1is, 0x80000000, ttl=2", "tlbi  ipas2e1is",
            "ipas2e1is", "needs an IPA operand"),
    Mistake("vmall-tlbi-with-address", "tlbi  vmalle1is", "tlbi  vmalle1is, 0x80000000", "0x80000000",
            "'tlbi vmalle1is' takes no address operand"),
    Mistake("bad-ttl", "ttl=2", "ttl=7", "7", "TTL level hint must be 0..3, got '7'"),
    Mistake("unaligned-tlbi-ipa", "0x80000000, ttl=2", "0x80000800, ttl=2", "0x80000800",
            "IPA 0x80000800 is not 4 KiB-aligned"),
    Mistake("unknown-dsb-option", "dsb   ish\ntlbi", "dsb   ihs\ntlbi", "ihs", "unknown DSB option 'ihs'"),
    Mistake("tlbi-missing-comma", "tlbi  ipas2e1is, 0x80000000, ttl=2", "tlbi  ipas2e1is 0x80000000, ttl=2",
            "0x80000000", "expected ',' before '0x80000000'"),
    Mistake("tlbi-ipa-negative", "0x80000000, ttl=2", "-0x1000, ttl=2", "-0x1000", "IPA '-0x1000' is not in 0..2^48-1"),
    Mistake("isb-with-operand", "isb\n", "isb   ish\n", "ish", "'isb' takes no operand other than 'sy'"),
    Mistake("store-spaced-index-missing-operand", "str   T2[0], invalid ", "str   T2[ 0 ]        ", "str",
            "'str' needs two operands"),
    Mistake("store-missing-operand", "str   T2[0], invalid ", "str   T2[0]          ", "str",
            "'str' needs two operands"),
    Mistake("store-missing-comma", "str   T2[0], invalid", "str   T2[0]  invalid", "invalid",
            "expected ',' before 'invalid'"),
    Mistake("store-to-unknown-table", "str   T2[0], invalid", "str   T7[0], invalid", "T7",
            "store to unknown table 'T7'"),
    Mistake("entry-index-out-of-range", "str   T2[0], invalid", "str   T1[600], invalid", "600",
            "entry index 600 is out of range"),
    Mistake("unknown-descriptor-name", "stlr  T2[0], new_table ", "stlr  T2[0], new_tabel ", "new_tabel",
            "unknown descriptor name 'new_tabel' (did you mean 'new_table'?)"),
    Mistake("inline-store-bad-permission", "stlr  T2[0], new_table ",
            "stlr  T2[0], block oa=0x80000000 perm=rwz ", "rwz", "permission 'rwz'"),
    Mistake("store-page-at-level-2", "stlr  T2[0], new_table ",
            "stlr  T2[0], page oa=0x80000000 ", "page", "a page descriptor can only stand at level 3"),
    Mistake("store-links-unknown-table", "stlr  T2[0], new_table ", "stlr  T2[0], table T4 ", "T4",
            "unknown table 'T4'"),
    Mistake("store-links-wrong-level", "stlr  T2[0], new_table ", "stlr  T1[2], table T3  ", "T3",
            "table 'T3' is level 3 but is linked from a level-1 entry (expected level 2)"),
    Mistake("free-of-unknown-table", "dsb   ishst\n'''", "dsb   ishst\nfree  T9\n'''", "T9",
            "free of unknown table 'T9'"),
    # a one-line basic string: every instruction is on the key's line, each after a two-character \n
    Mistake("one-line-program", PROGRAM, 'program = "dsb ish\\ntlbii vmalle1is"\n\n', "tlbii",
            "unknown instruction 'tlbii'"),
    Mistake("empty-program", PROGRAM, "program = '''\n// nothing yet\n'''\n\n", "'''",
            "the program has no instructions"),
    # --- descriptors -------------------------------------------------------------------------------
    Mistake("descriptor-unknown-kind", 'old_block = "block', 'old_block = "blok', "blok",
            "unknown descriptor kind 'blok' (did you mean 'block'?)"),
    Mistake("descriptor-negative-oa", 'old_block = "block oa=0x80000000', 'old_block = "block oa=-0x200000',
            "-0x200000", "output address '-0x200000' is not in 0..2^48-1"),
    Mistake("descriptor-not-a-string", 'new_table = "table T3"', "new_table = 3", "3",
            "a descriptor must be a string"),
    Mistake("page-at-level-2", T2_BLOCK, '"page oa=0x80000000 attr=normal perm=rw" }', "page",
            "a page descriptor can only stand at level 3, not level 2"),
    Mistake("block-at-level-3", T3_PAGES, T3_PAGES.replace('1 = "page', '1 = "block'), "block",
            "a block descriptor cannot stand at level 3"),
    Mistake("misaligned-block", T2_BLOCK, '"block oa=0x80001000 attr=normal perm=rw" }', "oa=0x80001000",
            "output address 0x80001000 is not aligned to the 2 MiB a level-2 block maps"),
    Mistake("unknown-descriptor-field", T2_BLOCK, '"block oa=0x80000000 colour=red perm=rw" }', "colour",
            "unknown descriptor field 'colour'"),
    Mistake("unknown-memory-attribute", T2_BLOCK, '"block oa=0x80000000 attr=nromal perm=rw" }', "nromal",
            "unknown memory attribute 'nromal' (did you mean 'normal'?)"),
    Mistake("table-descriptor-unknown-table", T1_ENTRIES, 'entries = { 2 = "table T" }', "T",
            "unknown table 'T'"),
    # T2 made level 1 (its 1 GiB-aligned block stays legal): T1's level-1 entry now links a level-1 table.
    Mistake("table-linked-at-wrong-level", T1_ENTRIES, T1_ENTRIES, "T2",
            "table 'T2' is level 1 but is linked from a level-1 entry (expected level 2)",
            before=(("# entry 0 = the 2 MiB block being split\nlevel = 2", "level = 1"),)),
    Mistake("entries-sub-table", '[tables.T2]\n# entry 0 = the 2 MiB block being split\nlevel = 2\n'
            'entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }',
            '[tables.T2]\n# entry 0 = the 2 MiB block being split\nlevel = 2\n\n[tables.T2.entries]\n'
            '0 = "page oa=0x80000000 attr=normal perm=rw"', "page",
            "a page descriptor can only stand at level 3"),
    Mistake("entries-dotted-key", 'entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }',
            'entries.0 = "page oa=0x80000000 attr=normal perm=rw"', "page",
            "a page descriptor can only stand at level 3"),
    Mistake("entry-index-not-a-number", T1_ENTRIES, 'entries = { two = "table T2" }', "two",
            "entry index 'two' is not a number in 0..511"),
    # --- tables ------------------------------------------------------------------------------------
    Mistake("two-root-tables", "[tables.T2]\n", "[tables.T2]\nroot = true\n", "root",
            "exactly one table must have root = true (found 2)"),
    Mistake("table-level-out-of-range", "[tables.T3]\nlevel = 3", "[tables.T3]\nlevel = 4", "4",
            "table 'T3' needs level = 0..3"),
    Mistake("unknown-table-key", "[tables.T3]\nlevel = 3", "[tables.T3]\nlevle = 3", "levle",
            "unknown key 'levle' (did you mean 'level'?)"),
    Mistake("top-level-key-after-header", "[tables.T3]\nlevel = 3", "[tables.T3]\nlevel = 3\nsource = \"x\"",
            "source", "unknown key 'source': in TOML a key after the [tables.T3] header belongs to that section"),
    Mistake("table-never-linked", "[observers]", "[tables.T9]\nlevel = 3\n\n[observers]", "[tables.T9]",
            "table 'T9' is never linked into the tree from the root"),
    # --- observers and claims ----------------------------------------------------------------------
    Mistake("zero-vcpus", "vcpus = 2", "vcpus = 0", "0", "vcpus must be a whole number 1..64"),
    Mistake("address-not-a-number", ADDRESSES, 'addresses = ["0x80000000", "0x8000zz00"]', "0x8000zz00",
            "address '0x8000zz00' is not a number"),
    # "0x8000100" is a prefix of "0x80001000": the error must point at the second element, not inside the
    # first (the token carries its closing quote so that it names the second one)
    Mistake("address-unaligned-lookalike", ADDRESSES, 'addresses = ["0x80001000", "0x8000100"]',
            '0x8000100"', "address 0x8000100 must be a 4 KiB-aligned IPA"),
    Mistake("address-outside-root-range", ADDRESSES, 'addresses = ["0x80000000", 0x10000000000]',
            "0x10000000000", "outside"),
    Mistake("unknown-observer-key", "vcpus = 2", "vcpu = 2", "vcpu", "unknown key 'vcpu' (did you mean 'vcpus'?)"),
    Mistake("unknown-claim-property", 'invalid-window = "violated"', 'invalid-windows = "violated"',
            "invalid-windows", "unknown property 'invalid-windows' (did you mean 'invalid-window'?)"),
    Mistake("bad-claim-value", 'invalid-window = "violated"', 'invalid-window = "maybe"', '"maybe"',
            "claim for 'invalid-window' must be one of holds, violated, any, got 'maybe'"),
]


def _check_one_error(code: int, out: str, err: str, file: str, line: int, col: int, phrase: str) -> str:
    assert "Traceback" not in out + err
    assert code == 2, err
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line:\n{err}"
    head = f"{file}:{line}:{col}: error: "
    assert re.match("^" + re.escape(head), err), f"expected {head!r}, got {err!r}"
    assert phrase in err, f"{phrase!r} not in {err!r}"
    return err


@pytest.fixture
def run(capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""

    def go(argv: list[str]) -> tuple[int, str, str]:
        code = main(argv)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return go


def test_base_model_is_valid(tmp_path, run):
    path = tmp_path / "base.toml"
    path.write_text(BASE, encoding="utf-8")
    code, out, err = run(["verify", str(path)])
    assert code == 0, out + err


@pytest.mark.parametrize("case", MISTAKES, ids=[m.id for m in MISTAKES])
def test_model_file_mistake_is_one_located_line(tmp_path, run, case):
    text, line, col = case.build()
    path = tmp_path / "model.toml"
    path.write_bytes(text.encode("utf-8"))
    before = path.read_bytes()
    code, out, err = run(["verify", str(path)])
    _check_one_error(code, out, err, str(path), line, col, case.phrase)
    assert path.read_bytes() == before


def test_mistake_ids_are_distinct():
    assert len({m.id for m in MISTAKES}) == len(MISTAKES) >= 20


def test_non_utf8_file_points_at_the_bad_byte(tmp_path, run):
    # The bad byte is on line 3, after 'title  = "split a block'; the column counts characters.
    raw = BASE.encode("utf-8").replace(b'"split a block, BBM"', b'"split a block\xff, BBM"', 1)
    path = tmp_path / "model.toml"
    path.write_bytes(raw)
    code, out, err = run(["verify", str(path)])
    _check_one_error(code, out, err, str(path), 3, len('title  = "split a block') + 1, "not UTF-8")
    assert path.read_bytes() == raw


def test_crlf_file_is_located_like_lf(tmp_path, run):
    text, line, col = Mistake("x", "tlbi  vmalle1is", "tlbii vmalle1is", "tlbii", "").build()
    path = tmp_path / "model.toml"
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    code, out, err = run(["verify", str(path)])
    _check_one_error(code, out, err, str(path), line, col, "unknown instruction 'tlbii'")


# (id, argv, index of the offending argument, phrase)
ARGV_CASES = [
    ("level-L3", ["verify", "ttrem1", "--level", "L3"], 2, "invalid FEAT_BBM level 'L3'"),
    ("level-L3-equals", ["verify", "--level=L3", "ttrem1"], 1, "invalid FEAT_BBM level 'L3'"),
    ("vcpus-0", ["verify", "ttrem1", "--vcpus", "0"], 2, "--vcpus must be a whole number from 1, got 0"),
    ("vcpus-not-a-number", ["verify", "--vcpus", "two", "ttrem1"], 1, "'--vcpus'"),
    ("nt-fault-sometimes", ["verify", "ttrem1", "--nt-fault", "sometimes"], 2,
     "invalid value 'sometimes' for --nt-fault (expected one of always, never, both)"),
    ("unknown-option", ["verify", "ttrem1", "--frobnicate"], 2, "No such option '--frobnicate'"),
    ("max-states-0", ["verify", "ttrem1", "--max-states", "0"], 2, "--max-states must be positive, got 0"),
    ("timeout-negative", ["verify", "ttrem1", "--timeout", "-1"], 2, "--timeout must be a positive number"),
    ("option-without-value", ["verify", "ttrem1", "--level"], 2, "requires an argument"),
    ("unknown-bundled-model", ["verify", "--vcpus", "2", "ttrem9"], 3, "no bundled model named 'ttrem9'"),
    ("extra-argument", ["verify", "ttrem1", "ttrem2"], 2, "unexpected extra argument"),
    ("extra-argument-repeated", ["verify", "ttrem1", "ttrem1"], 2, "unexpected extra argument"),
    ("l2-nt-maybe", ["verify", "--l2-nt", "maybe", "ttrem1"], 1, "invalid value 'maybe' for --l2-nt"),
    ("rmrrpw-not-both", ["verify", "ttrem1", "--rmrrpw", "both"], 2, "invalid value 'both' for --rmrrpw"),
    ("unknown-command", ["verfiy", "ttrem1"], 0, "No such command 'verfiy'"),
]


@pytest.mark.parametrize(("argv", "index", "phrase"), [c[1:] for c in ARGV_CASES], ids=[c[0] for c in ARGV_CASES])
def test_command_line_mistake_points_at_the_argument(run, argv, index, phrase):
    code, out, err = run(argv)
    col = len(" ".join(argv[:index])) + 1 + (1 if index else 0)
    _check_one_error(code, out, err, "<command-line>", 1, col, phrase)


def test_unknown_bundled_model_suggests_a_close_name(run):
    code, out, err = run(["verify", "ttrem9"])
    _check_one_error(code, out, err, "<command-line>", 1, len("verify ") + 1, "no bundled model named 'ttrem9'")
    assert re.search(r"did you mean 'ttrem[012]'\?", err), err


def test_nonexistent_model_file_is_a_command_line_error(tmp_path, run):
    missing = tmp_path / "nope.toml"
    code, out, err = run(["verify", "--vcpus", "2", str(missing)])
    _check_one_error(code, out, err, "<command-line>", 1, len("verify --vcpus 2 ") + 1,
                     f"no such model file '{missing}'")
    assert not missing.exists()


def test_model_folder_is_a_command_line_error(tmp_path, run):
    code, out, err = run(["verify", str(tmp_path)])
    _check_one_error(code, out, err, "<command-line>", 1, len("verify ") + 1, "is a folder, not a model file")


def test_trace_out_that_is_a_file_is_refused_before_the_search(tmp_path, run):
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n", encoding="utf-8")
    argv = ["verify", "ttrem1", "--trace-out", str(target)]
    code, out, err = run(argv)
    _check_one_error(code, out, err, "<command-line>", 1, len("verify ttrem1 ") + 1, "exists and is not a folder")
    assert target.read_text(encoding="utf-8") == "my notes\n"


def test_table_linked_at_two_ipas_points_at_the_second_link(tmp_path, run):
    text, line, col = Mistake("x", T1_ENTRIES, 'entries = { 2 = "table T2", 3 = "table T2" }', 'T2" }', "").build()
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    code, out, err = run(["verify", str(path)])
    _check_one_error(code, out, err, str(path), line, col, "table 'T2' is linked at IPA 0xc0000000")


def _big_model(tmp_path) -> str:
    """A model whose loading and building alone take more than a second."""
    n = 400
    lines = []
    for i in range(n):
        lines += [f"str T1[{i}], invalid", "dsb ishst", f"tlbi ipas2e1is, {i << 30:#x}", "dsb ish",
                  f"stlr T1[{i}], block oa={i << 30:#x} attr=normal perm=rw", "dsb ishst"]
    entries = ", ".join(f'{i} = "block oa={(i << 30) + (1 << 39):#x} attr=normal perm=rw"' for i in range(n))
    text = ('name = "big"\nlevel = "L0"\nprogram = """\n' + "\n".join(lines) + '\n"""\n[tables.T1]\nlevel = 1\n'
            f"root = true\nentries = {{ {entries} }}\n[observers]\nvcpus = 3\n")
    path = tmp_path / "big.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.xdist_group("timing")  # not beside the tests that start worker processes (tests/conftest.py)
@pytest.mark.parametrize("engine", ["explicit", "bmc"])
def test_timeout_bounds_the_whole_command(tmp_path, run, engine):
    import time

    path = _big_model(tmp_path)
    start = time.monotonic()
    code, out, err = run(["verify", path, "--timeout", "0.5", "--engine", engine, "--no-traces"])
    assert time.monotonic() - start < 2.5, "the deadline covers loading, building and the search"
    # on stdout in the report, or on stderr when the cap passes before the model is even loaded
    assert code == 3 and "time cap of 0.5 s reached" in out + err, out + err


@pytest.mark.xdist_group("timing")
def test_timeout_bounds_the_library_call_too(tmp_path):
    import time

    from bbmcheck.results import Verdict
    from bbmcheck.sequences.load import load_model
    from bbmcheck.verify import Options, verify

    seq = load_model(_big_model(tmp_path))
    start = time.monotonic()
    result = verify(seq, Options(timeout=0.3))
    assert time.monotonic() - start < 1.5
    assert not result.complete and all(f.verdict is Verdict.UNKNOWN for f in result.findings)


@pytest.mark.xdist_group("timing")
def test_a_swallowed_time_cap_is_raised_again():
    """Python swallows an exception raised in a gc or weakref callback ("Exception ignored in"); CI
    saw a --timeout 0.5 BMC run take 4.7 s when the one alarm landed in hypothesis's gc callback.
    Past the deadline the alarm repeats, so the next bytecode of the region raises it again."""
    import time

    from bbmcheck.verify import TimeUp, interruptible, time_limit

    start = time.monotonic()
    swallowed = 0
    with time_limit(0.1):
        with pytest.raises(TimeUp):
            with interruptible():
                try:
                    time.sleep(2)
                except TimeUp:
                    swallowed += 1  # as Python does with an exception raised in a gc callback
                time.sleep(2)
    assert swallowed == 1 and time.monotonic() - start < 1.0
