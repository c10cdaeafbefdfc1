"""Every bad input gets one line 'file:line:col: error: ...' and exit status 2; nothing is overwritten.

Each case is a model text with '@@' where the error must point; the test removes the marker,
writes the file, runs the CLI and checks the exact line and column.
"""

from __future__ import annotations

import re

import pytest

from bbmcheck.cli import main

GOOD = """name = "m"
level = "L0"
program = '''
str   T1[1], invalid
dsb   ishst
tlbi  vmalls12e1is
dsb   ish
stlr  T1[1], block oa=0x80000000 attr=normal perm=rw
dsb   ishst
free  T2
'''

[tables.T1]
level = 1
root = true
entries = { 1 = "table T2" }

[tables.T2]
level = 2
entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }

[observers]
vcpus = 2

[claims]
invalid-window = "violated"
"""


def variant(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new, 1)


CASES = [
    ("toml-syntax", variant('name = "m"', 'name = @@"m'), "invalid TOML"),
    ("missing-program", GOOD.replace(GOOD[GOOD.index("program"):GOOD.index("[tables.T1]")], "", 1).replace(
        'name = "m"', '@@name = "m"'), "missing required key 'program'"),
    ("program-after-section", GOOD.replace(GOOD[GOOD.index("program"):GOOD.index("[tables.T1]")], "", 1).replace(
        "[claims]\n", "[claims]\n@@program = 'dsb ish'\n"), "put it before the first header"),
    ("unknown-top-key", variant('level = "L0"', 'level = "L0"\n@@progam = "x"'), "did you mean 'program'"),
    ("unknown-instruction", variant("dsb   ishst\ntlbi", "@@tlbii ishst\ntlbi"),
     "unknown instruction 'tlbii'"),
    ("unknown-tlbi-op", variant("tlbi  vmalls12e1is", "tlbi  @@vmalls12e1iss"), "did you mean 'vmalls12e1is'"),
    ("by-ipa-without-address", variant("tlbi  vmalls12e1is", "tlbi  @@ipas2e1is"), "needs an IPA operand"),
    ("vmall-with-address", variant("tlbi  vmalls12e1is", "tlbi  vmalls12e1is, @@0x40000000"),
     "takes no address operand"),
    ("bad-ttl", variant("tlbi  vmalls12e1is", "tlbi  ipas2e1is, 0x40000000, ttl=@@7"), "TTL level hint must be 0..3"),
    ("unaligned-tlbi-ipa", variant("tlbi  vmalls12e1is", "tlbi  ipas2e1is, @@0x40000010"), "not 4 KiB-aligned"),
    ("unknown-dsb-option", variant("dsb   ish\n", "dsb   @@ishh\n"), "unknown DSB option 'ishh'"),
    ("store-unknown-table", variant("str   T1[1], invalid", "str   @@T9[1], invalid"), "store to unknown table 'T9'"),
    ("index-out-of-range", variant("str   T1[1], invalid", "str   T1[@@600], invalid"), "out of range"),
    ("unknown-descriptor-name", variant("str   T1[1], invalid", "str   T1[1], @@new_blok"),
     "unknown descriptor name 'new_blok'"),
    ("page-at-level-2", variant('entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }',
                                'entries = { 0 = "@@page oa=0x80000000" }'),
     "page descriptor can only stand at level 3"),
    ("block-at-level-3", variant("[tables.T2]\nlevel = 2", "[tables.T2]\nlevel = 3").replace(
        '"block oa=0x80000000 attr=normal perm=rw" }', '"@@block oa=0x80000000 attr=normal perm=rw" }'),
     "cannot stand at level 3"),
    ("misaligned-block", variant('"block oa=0x80000000 attr=normal perm=rw" }', '"block @@oa=0x80001000" }'),
     "not aligned to the 2 MiB"),
    ("unknown-descriptor-field", variant('"block oa=0x80000000 attr=normal perm=rw" }',
                                         '"block oa=0x80000000 @@colour=red" }'), "unknown descriptor field 'colour'"),
    ("unknown-attr", variant('"block oa=0x80000000 attr=normal perm=rw" }', '"block oa=0x80000000 attr=@@nromal" }'),
     "did you mean 'normal'"),
    ("table-unknown", variant('entries = { 1 = "table T2" }', 'entries = { 1 = "table @@T7" }'), "unknown table 'T7'"),
    ("table-wrong-level", variant("[tables.T2]\nlevel = 2", "[tables.T2]\nlevel = 1").replace(
        '"block oa=0x80000000 attr=normal perm=rw" }', '"block oa=0x80000000 attr=normal perm=rw" }').replace(
        '{ 1 = "table T2" }', '{ 1 = "table @@T2" }'), "expected level 2"),
    ("two-roots", variant("[tables.T2]\nlevel = 2", "[tables.T2]\nlevel = 2\n@@root = true"), "exactly one table"),
    ("unknown-level", variant('level = "L0"', 'level = @@"L3"'), "unknown FEAT_BBM level 'L3'"),
    ("zero-vcpus", variant("vcpus = 2", "vcpus = @@0"), "vcpus must be a whole number"),
    ("unknown-claim-property", variant('invalid-window = "violated"', '@@invalid-windows = "violated"'),
     "did you mean 'invalid-window'"),
    ("bad-claim-value", variant('invalid-window = "violated"', 'invalid-window = @@"maybe"'), "must be one of"),
    ("bad-address", variant("vcpus = 2", 'vcpus = 2\naddresses = ["@@0xZZ"]'), "is not a number"),
    ("free-unknown-table", variant("free  T2", "free  @@T5"), "free of unknown table 'T5'"),
    ("never-linked-table", variant("[observers]", "@@[tables.T9]\nlevel = 2\n\n[observers]"), "never linked"),
    ("missing-operand", variant("str   T1[1], invalid", "@@str   T1[1]"), "needs two operands"),
    ("dmb-not-modelled", variant("dsb   ish\nstlr", "@@dmb   ish\nstlr"),
     "models str/stlr stores and dsb/isb barriers only"),
]


def locate(text: str) -> tuple[str, int, int]:
    pos = text.index("@@")
    clean = text.replace("@@", "", 1)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return clean, line, col


@pytest.mark.parametrize(("text", "phrase"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_model_file_error_is_one_located_line(tmp_path, capsys, text, phrase):
    clean, line, col = locate(text)
    path = tmp_path / "m.toml"
    path.write_text(clean)
    before = path.read_bytes()
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{path}:{line}:{col}: error: "), (lines[0], line, col)
    assert phrase in lines[0]
    assert "Traceback" not in err
    assert path.read_bytes() == before


def test_non_utf8_file(tmp_path, capsys):
    path = tmp_path / "m.toml"
    path.write_bytes(GOOD.encode().replace(b'"m"', b'"\xff"', 1))
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert re.match(rf"^{re.escape(str(path))}:1:\d+: error: model file is not UTF-8 text$", err)


ARGV_CASES = [
    (["verify", "ttrem1", "--level", "L3"], "--level", "invalid FEAT_BBM level 'L3'"),
    (["verify", "ttrem1", "--vcpus", "0"], "--vcpus", "--vcpus must be a whole number from 1"),
    (["verify", "ttrem1", "--nt-fault", "sometimes"], "--nt-fault", "invalid value 'sometimes'"),
    (["verify", "ttrem1", "--frobnicate"], "--frobnicate", "No such option"),
    (["verify", "ttrem1", "--max-states", "0"], "--max-states", "must be positive"),
    (["verify", "ttrem1", "--format", "pdf", "--trace-out", "x"], "--format", "unknown trace format 'pdf'"),
    (["verify", "ttrem1", "--vcpus", "two"], "--vcpus", "valid integer"),
]


@pytest.mark.parametrize(("argv", "option", "phrase"), ARGV_CASES, ids=[a[2] for a in ARGV_CASES])
def test_command_line_error_points_at_the_option(capsys, argv, option, phrase):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "Traceback" not in err
    col = " ".join(argv).index(option) + 1
    assert err.startswith(f"<command-line>:1:{col}: error: "), (err, col)
    assert phrase in err


def test_unknown_model_name_suggests_a_bundled_one(capsys):
    assert main(["verify", "ttrem9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("<command-line>:1:") and "no bundled model named 'ttrem9'" in err and "did you mean" in err


def test_missing_model_file(capsys, tmp_path):
    missing = tmp_path / "nope.toml"
    assert main(["verify", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"<command-line>:1:8: error: no such model file '{missing}'"
