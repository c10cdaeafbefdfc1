"""A corpus of bad input for every entry point: model files, command-line options, scenario and
primitive maps, C, assembly and diff sources (issue 12).

Every case must give exactly one line ``file:line:col: error: ...`` on stderr and exit status 2:
never a traceback, an "internal error" (exit 4), a silent acceptance or a hang. Each case's text
carries ``§§`` where the error must point (removed before the file is written); a command-line case
marks the offending argument with a leading ``§§``. Everything runs in-process through
``bbmcheck.cli.main``, so the whole corpus takes seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bbmcheck.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "code"
MARK = "§§"

# ---------------------------------------------------------------------------------------------------
# model files

MODEL = """\
name = "corpus"
title = "break, invalidate, make"
level = "L0"
expect = "claims-hold"
program = '''
str   T1[1], invalid          // break
dsb   ishst
tlbi  vmalls12e1is
dsb   ish
stlr  T1[1], block oa=0x80000000 attr=normal perm=rw
dsb   ishst
free  T2
'''

[descriptors]
new_block = "block oa=0x80000000 attr=normal perm=rw"

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


def sub(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new, 1)


def model(old: str, new: str) -> str:
    return sub(MODEL, old, new)


def instr(line: str) -> str:
    """The model with its 'tlbi' line replaced by ``line`` (which carries the marker)."""
    return model("tlbi  vmalls12e1is\n", line + "\n")


def program_as(text: str) -> str:
    """The model with its whole program replaced."""
    start, end = MODEL.index("program = '''"), MODEL.index("[descriptors]")
    return MODEL[:start] + text + "\n\n" + MODEL[end:]


TYPES = [("int", "3"), ("bool", "true"), ("float", "1.5"), ("array", "[1]"), ("table", "{ a = 1 }"),
         ("date", "1979-05-27")]

MODEL_CASES: list[tuple[str, str, str]] = []  # (id, text with marker, phrase)


def m(case_id: str, text: str, phrase: str) -> None:
    MODEL_CASES.append((case_id, text, phrase))


# wrong types for every top-level string key
for key, old in [("name", 'name = "corpus"'), ("title", 'title = "break, invalidate, make"'),
                 ("level", 'level = "L0"'), ("expect", 'expect = "claims-hold"')]:
    for tname, value in TYPES:
        m(f"{key}-{tname}", model(old, f"{key} = {MARK}{value}"), f"'{key}' must be a string")
for tname, value in TYPES:
    m(f"source-{tname}", model('name = "corpus"', f'name = "corpus"\nsource = {MARK}{value}'),
      "'source' must be a string")
    m(f"description-{tname}", model('name = "corpus"', f'name = "corpus"\ndescription = {MARK}{value}'),
      "'description' must be a string")
    m(f"program-{tname}", program_as(f"program = {MARK}{value}"), "'program' must be a string")
# sections that are not tables
for key in ("descriptors", "observers", "claims"):
    header = f"[{key}]\n"
    for tname, value in [("int", "3"), ("string", '"x"'), ("array", "[1]")]:
        body_end = MODEL.index(header)
        next_header = MODEL.find("\n[", body_end + 1)
        text = MODEL[:body_end] + MODEL[next_header + 1:] if next_header > 0 else MODEL[:body_end]
        text = sub(text, 'name = "corpus"', f'name = "corpus"\n{MARK}{key} = {value}')
        m(f"{key}-is-{tname}", text, f"'{key}' must be a table")
TABLELESS = MODEL[:MODEL.index("[tables.T1]")] + MODEL[MODEL.index("[observers]"):]
for tname, value in [("int", "3"), ("string", '"x"'), ("array", "[1]"), ("bool", "false")]:
    m(f"tables-is-{tname}", sub(TABLELESS, 'name = "corpus"', f'name = "corpus"\ntables = {MARK}{value}'),
      "'tables' must be [tables.<name>] sections")
m("tables-missing", MARK + TABLELESS, "missing [tables.<name>] sections")
m("tables-empty", sub(TABLELESS, "[observers]", f"[{MARK}tables]\n\n[observers]"), "missing [tables.<name>]")
m("table-is-int", sub(TABLELESS, "[observers]", f"[tables]\n{MARK}T1 = 3\n\n[observers]"),
  "table 'T1' must be a table")
# table fields
for tname, value in [("string", '"1"'), ("bool", "true"), ("four", "4"), ("negative", "-1"), ("float", "1.0"),
                     ("array", "[1]")]:
    m(f"table-level-{tname}", model("[tables.T2]\nlevel = 2", f"[tables.T2]\nlevel = {MARK}{value}"),
      "table 'T2' needs level = 0..3")
m("table-level-missing", model("[tables.T2]\nlevel = 2\n", f"{MARK}[tables.T2]\n"), "needs level = 0..3")
for tname, value in [("int", "1"), ("string", '"yes"'), ("array", "[true]")]:
    m(f"table-root-{tname}", model("root = true", f"root = {MARK}{value}"), "'root' must be true or false")
for tname, value in [("int", "3"), ("string", '"table T2"'), ("array", '["table T2"]'), ("bool", "true")]:
    m(f"table-entries-{tname}", model('entries = { 1 = "table T2" }', f"entries = {MARK}{value}"),
      "'entries' must be a table")
# entry indices
for tname, key in [("word", "one"), ("arabic-digit", '"\u0661"'), ("devanagari", '"\u0967"'),
                   ("fullwidth", '"\uff11"'), ("negative", '"-1"'), ("too-big", "512"), ("huge", "99999999999"),
                   ("spaced", '" 1"'), ("plus", '"+1"'), ("float-text", '"1.0"'), ("empty", '""'),
                   ("hex-too-big", '"0x200"'), ("underscore-end", '"1_"')]:
    m(f"entry-index-{tname}", model('entries = { 1 = "table T2" }', f'entries = {{ {MARK}{key} = "table T2" }}'),
      "is not a number in 0..511")
for tname, dup in [("hex", '"0x1"'), ("binary", '"0b1"'), ("octal", '"0o1"'), ("binary-padded", '"0b01"'),
                   ("hex-upper", '"0X01"')]:
    m(f"entry-index-duplicate-{tname}", model('entries = { 1 = "table T2" }',
                                              f'entries = {{ 1 = "table T2", {MARK}{dup} = "table T2" }}'),
      "entry 1 of table 'T1' is given twice")
# entry values (in T2)
T2 = 'entries = { 0 = "block oa=0x80000000 attr=normal perm=rw" }'
for tname, value, phrase in [
        ("int", f"{MARK}3", "a descriptor must be a string"), ("bool", f"{MARK}true", "a descriptor must be a string"),
        ("array", f'{MARK}["block"]', "a descriptor must be a string"),
        ("table", f"{MARK}{{ kind = 1 }}", "a descriptor must be a string"),
        ("empty", f'"{MARK}"', "empty descriptor"),
        ("unknown-kind", f'"{MARK}blok oa=0x80000000"', "unknown descriptor"),
        ("page-at-2", f'"{MARK}page oa=0x80000000"', "a page descriptor can only stand at level 3"),
        ("misaligned", f'"block {MARK}oa=0x80001000"', "not aligned to the 2 MiB"),
        ("bad-attr", f'"block oa=0x80000000 attr={MARK}nromal"', "unknown memory attribute"),
        ("bad-perm", f'"block oa=0x80000000 perm={MARK}rwz"', "permission 'rwz'"),
        ("arabic-oa", f'"block oa={MARK}\u0660x80000000"', "descriptors are written in ASCII"),
        ("nbsp", f'"block{MARK}\u00a0oa=0x80000000"', "descriptors are written in ASCII"),
        ("tab-escape", f'"block{MARK}\\toa=0x80000000"', "descriptors are written in ASCII"),
        ("unicode-escape-then-error", f'"block\\u0020oa=0x80000000 attr={MARK}nromal"', "unknown memory attribute"),
        ("long-escape-then-error", f'"block\\U00000020oa=0x80000000 attr={MARK}nromal"', "unknown memory attribute"),
        ("quote-escape-then-error", f'"block oa=0x80000000 {MARK}\\"x"', "expected key=value"),
        ("literal-then-error", f"'block oa=0x80000000 attr={MARK}nromal'", "unknown memory attribute"),
        ("unknown-field", f'"block oa=0x80000000 {MARK}colour=red"', "unknown descriptor field"),
        ("negative-oa", f'"block oa={MARK}-0x200000"', "is not in 0..2^48-1"),
        ("table-unknown", f'"table {MARK}T9"', "unknown table 'T9'"),
        ("table-wrong-level", f'"table {MARK}T1"', "table 'T1' is level 1 but is linked from a level-2 entry"),
]:
    m(f"entry-value-{tname}", model(T2, f"entries = {{ 0 = {value} }}"), phrase)
m("entries-subtable-error", model(T2, f'\n[tables.T2.entries]\n0 = "{MARK}page oa=0x80000000"'),
  "a page descriptor can only stand at level 3")
m("entries-dotted-error", model(T2, f'entries.0 = "{MARK}page oa=0x80000000"'), "a page descriptor")
m("entries-multiline-basic-error", model(T2, f'entries = {{ 0 = """block oa=0x80000000 attr={MARK}nromal""" }}'),
  "unknown memory attribute")
# [descriptors] values
DESC = 'new_block = "block oa=0x80000000 attr=normal perm=rw"'
for tname, value, phrase in [
        ("int", f"{MARK}1", "a descriptor must be a string"), ("array", f"{MARK}[]", "a descriptor must be a string"),
        ("bad-kind", f'"{MARK}bloc"', "unknown descriptor kind"), ("bad-attr", f'"block attr={MARK}dev"', "attribute"),
        ("non-ascii", f'"block oa=0x8000000{MARK}\u0660"', "written in ASCII"),
        ("escape-shift", f'"\\u0062lock attr={MARK}dev"', "attribute"),
        ("newline-escape", f'"block{MARK}\\noa=0x80000000"', "written in ASCII"),
]:
    m(f"descriptor-{tname}", model(DESC, f"new_block = {value}"), phrase)
# the program: instructions
for tname, line, phrase in [
        ("ldr", f"{MARK}ldr   x0, [x1]", "unknown instruction 'ldr'"),
        ("stp", f"{MARK}stp   T1[1], invalid", "unknown instruction 'stp'"),
        ("stur", f"{MARK}stur  T1[1], invalid", "unknown instruction 'stur'"),
        ("swp", f"{MARK}swp   T1[1], invalid", "unknown instruction 'swp'"),
        ("cas", f"{MARK}cas   T1[1], invalid", "unknown instruction 'cas'"),
        ("dmb", f"{MARK}dmb   ish", "models str/stlr stores and dsb/isb barriers only"),
        ("nop", f"{MARK}nop", "unknown instruction 'nop'"),
        ("typo", f"{MARK}tlbbi vmalls12e1is", "unknown instruction"),
        ("indented-typo", f"    {MARK}tlbii vmalls12e1is", "unknown instruction 'tlbii'"),
        ("non-ascii-mnemonic", f"{MARK}\u0442lbi vmalls12e1is", "instructions are written in ASCII"),
        ("non-ascii-operand", f"tlbi  vmalls12e1is{MARK}\u00a0", "instructions are written in ASCII"),
        ("tlbi-no-op", f"{MARK}tlbi", "needs an operation"),
        ("tlbi-unknown-op", f"tlbi  {MARK}vmalle2is", "unknown or unmodelled TLBI operation"),
        ("tlbi-by-ipa-no-address", f"tlbi  {MARK}ipas2e1is", "needs an IPA operand"),
        ("tlbi-vmall-address", f"tlbi  vmalls12e1is, {MARK}0x40000000", "takes no address operand"),
        ("tlbi-vmall-ttl", f"tlbi  vmalls12e1is, {MARK}ttl=2", "takes no TTL hint"),
        ("tlbi-two-ttl", f"tlbi  ipas2e1is, 0x40000000, ttl=1, {MARK}ttl=2", "a second TTL hint"),
        ("tlbi-same-ttl-twice", f"tlbi  ipas2e1is, 0x40000000, ttl=2, {MARK}ttl=2", "a second TTL hint"),
        ("tlbi-ttl-7", f"tlbi  ipas2e1is, 0x40000000, ttl={MARK}7", "TTL level hint must be 0..3"),
        ("tlbi-ttl-word", f"tlbi  ipas2e1is, 0x40000000, ttl={MARK}two", "TTL level hint must be 0..3"),
        ("tlbi-ttl-arabic", f"tlbi  ipas2e1is, 0x40000000, ttl={MARK}\u0662", "written in ASCII"),
        ("tlbi-ipa-arabic", f"tlbi  ipas2e1is, {MARK}\u0664\u0660\u0660\u0660", "written in ASCII"),
        ("tlbi-ipa-word", f"tlbi  ipas2e1is, {MARK}here", "is not an intermediate physical address"),
        ("tlbi-ipa-negative", f"tlbi  ipas2e1is, {MARK}-0x1000", "is not in 0..2^48-1"),
        ("tlbi-ipa-huge", f"tlbi  ipas2e1is, {MARK}0x1000000000000000", "is not in 0..2^48-1"),
        ("tlbi-ipa-unaligned", f"tlbi  ipas2e1is, {MARK}0x40000010", "not 4 KiB-aligned"),
        ("tlbi-ipa-outside-root", f"tlbi  ipas2e1is, {MARK}0x10000000000", "outside the 0x8000000000 bytes"),
        ("tlbi-ipa-outside-root-ttl", f"tlbi  ipas2le1is, {MARK}0x8000000000, ttl=3", "outside the"),
        ("tlbi-two-addresses", f"tlbi  ipas2e1is, 0x40000000, {MARK}0x80000000", "unexpected operand"),
        ("tlbi-missing-comma", f"tlbi  ipas2e1is {MARK}0x40000000", "expected ','"),
        ("dsb-no-option", f"{MARK}dsb", "needs one option"),
        ("dsb-bad-option", f"dsb   {MARK}ishh", "unknown DSB option"),
        ("dsb-two-options", f"{MARK}dsb   ish, ishst", "needs one option"),
        ("isb-option", f"isb   {MARK}ish", "takes no operand other than 'sy'"),
        ("free-no-table", f"{MARK}free", "'free' needs one table name"),
        ("free-two", f"{MARK}free  T2, T1", "'free' needs one table name"),
        ("free-unknown", f"free  {MARK}T7", "free of unknown table 'T7'"),
        ("str-no-operands", f"{MARK}str", "needs two operands"),
        ("str-no-comma", f"str   T1[1] {MARK}invalid", "expected ','"),
        ("str-not-entry", f"str   {MARK}T1, invalid", "is not a table entry"),
        ("str-index-word", f"str   T1[{MARK}x], invalid", "is not a number"),
        ("str-index-range", f"str   T1[{MARK}512], invalid", "out of range"),
        ("str-unknown-table", f"str   {MARK}T9[1], invalid", "store to unknown table 'T9'"),
        ("str-unknown-name", f"str   T1[1], {MARK}new_blok", "unknown descriptor name 'new_blok'"),
        ("str-bad-inline", f"str   T1[1], block oa=0x80000000 perm={MARK}rwz", "permission 'rwz'"),
        ("str-page-at-1", f"str   T1[1], {MARK}page oa=0x80000000", "a page descriptor can only stand at level 3"),
        ("stlr-links-unknown", f"stlr  T1[1], table {MARK}T8", "unknown table 'T8'"),
        ("stlr-links-wrong-level", f"stlr  T2[1], table {MARK}T2", "expected level 3"),
]:
    m(f"instr-{tname}", instr(line), phrase)
# the program written in other string forms: positions follow escapes and continuations
m("program-one-line-basic", program_as(f'program = "dsb ish\\n{MARK}tlbii vmalls12e1is"'), "unknown instruction")
m("program-one-line-tab-escape", program_as(f'program = "dsb ish\\n\\t{MARK}tlbii vmalls12e1is"'),
  "unknown instruction")
m("program-one-line-unicode-escape", program_as(f'program = "\\u0064sb ish\\ntlbi {MARK}vmalle9is"'),
  "unknown or unmodelled TLBI")
m("program-one-line-literal", program_as(f"program = 'dsb {MARK}ishh'"), "unknown DSB option")
m("program-multiline-basic", program_as(f'program = """\ndsb ish\n{MARK}tlbii vmalls12e1is\n"""'),
  "unknown instruction")
m("program-multiline-basic-same-line", program_as(f'program = """dsb {MARK}ihs\n"""'), "unknown DSB option")
m("program-continuation", program_as(f'program = """\ndsb ish\ntlbi \\\n    {MARK}vmalle9is\n"""'),
  "unknown or unmodelled TLBI")
m("program-continuation-blank-lines", program_as(f'program = """\ndsb {MARK}ish \\\n\n\n  \nish\n"""'),
  "unknown DSB option 'ish ish'")
m("program-escape-in-operand", program_as(f'program = """\ndsb\\u0020{MARK}ihs\n"""'), "unknown DSB option")
m("program-multiline-literal-same-line", program_as(f"program = '''isb {MARK}osh\n'''"), "takes no operand")
m("program-empty", program_as(f"program = {MARK}'''\n// nothing\n'''"), "the program has no instructions")
m("program-crlf-escape", program_as(f'program = "dsb ish{MARK}\\r\\nisb"'), "instructions are written in ASCII")
# observers
for tname, value in [("zero", "0"), ("sixty-five", "65"), ("negative", "-1"), ("string", '"2"'), ("float", "2.0"),
                     ("bool", "true"), ("array", "[2]")]:
    m(f"vcpus-{tname}", model("vcpus = 2", f"vcpus = {MARK}{value}"), "vcpus must be a whole number 1..64")
for tname, value, phrase in [
        ("int", f"{MARK}4096", "addresses must be a non-empty list"),
        ("string", f'{MARK}"0x40000000"', "addresses must be a non-empty list"),
        ("empty", f"{MARK}[]", "addresses must be a non-empty list"),
        ("table", f"{MARK}{{ a = 1 }}", "addresses must be a non-empty list"),
        ("word", f'["{MARK}here"]', "is not a number"),
        ("arabic", f'["{MARK}\u0664\u0660\u0669\u0666"]', "is not a number"),
        ("spaced", f'["{MARK} 0x40000000"]', "is not a number"),
        ("bool", f"[{MARK}true]", "is not a number"), ("float", f"[{MARK}4096.0]", "is not a number"),
        ("nested", f"[{MARK}[4096]]", "is not a number"), ("table-item", f"[{MARK}{{ a = 1 }}]", "is not a number"),
        ("negative", f"[{MARK}-4096]", "must be a 4 KiB-aligned IPA"),
        ("unaligned", f'["0x40000000", "{MARK}0x4000010"]', "must be a 4 KiB-aligned IPA"),
        ("outside-root", f"[0x40000000, {MARK}0x8000000000]", "outside the"),
        ("escaped", f'["\\u0030x40000000", "{MARK}zz"]', "is not a number"),
]:
    m(f"addresses-{tname}", model("vcpus = 2", f"vcpus = 2\naddresses = {value}"), phrase)
m("observers-unknown-key", model("vcpus = 2", f"{MARK}vcpu = 2"), "unknown key 'vcpu'")
# claims
for tname, value in [("int", "1"), ("bool", "true"), ("word", '"maybe"'), ("array", '["violated"]'),
                     ("table", "{ a = 1 }"), ("case", '"Violated"')]:
    m(f"claim-{tname}", model('invalid-window = "violated"', f"invalid-window = {MARK}{value}"), "must be one of")
m("claim-unknown-property", model('invalid-window = "violated"', f'{MARK}invalid-windows = "violated"'),
  "unknown property")
m("claim-top-key-inside", model('invalid-window = "violated"', f'{MARK}expect = "claims-hold"'),
  "unknown property 'expect'")
# the tree
m("two-roots", model("[tables.T2]\nlevel = 2", f"[tables.T2]\nlevel = 2\n{MARK}root = true"), "exactly one table")
m("no-root", model("root = true\n", "") .replace('name = "corpus"', f'{MARK}name = "corpus"', 1),
  "exactly one table must have root = true (found 0)")
m("never-linked", model("[observers]", f"{MARK}[tables.T9]\nlevel = 2\n\n[observers]"), "never linked")
m("linked-twice-same-parent", model('entries = { 1 = "table T2" }',
                                    f'entries = {{ 1 = "table T2", 2 = "table {MARK}T2" }}'),
  "table 'T2' is linked at IPA 0x80000000 here but at 0x40000000 elsewhere")
m("linked-twice-hex-index", model('entries = { 1 = "table T2" }',
                                  f'entries = {{ 1 = "table T2", "0x3" = "table {MARK}T2" }}'),
  "linked at IPA 0xc0000000 here")
m("linked-twice-subtable", model('entries = { 1 = "table T2" }',
                                 f'\n[tables.T1.entries]\n1 = "table T2"\n5 = "table {MARK}T2"'),
  "linked at IPA 0x140000000 here")
m("linked-twice-escaped", model('entries = { 1 = "table T2" }',
                                f'entries = {{ 1 = "table T2", 2 = "\\u0074able {MARK}T2" }}'),
  "linked at IPA 0x80000000 here")
m("linked-by-store-elsewhere", instr(f"stlr  T1[2], table {MARK}T2"), "linked at IPA 0x80000000 here")
m("linked-by-named-store-elsewhere",
  sub(instr(f"stlr  T1[3], {MARK}t2_link"), DESC, DESC + '\nt2_link = "table T2"'),
  "linked at IPA 0xc0000000 here")
m("linked-by-two-stores", sub(MODEL.replace("[tables.T2]\nlevel = 2\n" + T2, "[tables.T2]\nlevel = 2"),
                              'entries = { 1 = "table T2" }', "entries = {}").replace(
    "tlbi  vmalls12e1is\n", f"stlr  T1[1], table T2\nstlr  T1[4], table {MARK}T2\n"),
  "linked at IPA 0x100000000 here")
# TOML itself
m("toml-bare-word", model("vcpus = 2", f"vcpus = {MARK}two"), "invalid TOML")
m("toml-unterminated", model('title = "break, invalidate, make"', f'title = {MARK}"break'), "unterminated string")
m("toml-duplicate-key", model("vcpus = 2", f"vcpus = 2\n{MARK}vcpus = 3"), "invalid TOML")
m("toml-bad-escape", model('title = "break, invalidate, make"', f'title = "break {MARK}\\q"'), "invalid TOML")
m("toml-deep-array", model("vcpus = 2", "vcpus = " + "[" * 32 + MARK + "[" * 3000 + "]" * 3032),
  "nested more than 32 deep")
m("toml-deep-inline-table", model("vcpus = 2", "vcpus = " + "{ a = " * 32 + MARK + "{ a = " * 500 + "1"
                                  + " }" * 532), "nested more than 32 deep")
m("toml-deep-array-in-claims", model('invalid-window = "violated"', "invalid-window = " + "[" * 32 + MARK
                                     + "[" * 100 + "]" * 132), "nested more than 32 deep")
m("toml-deep-dotted-key", model("[observers]", MARK + "x" + ".a" * 3000 + " = 1\n[observers]"),
  "tables nested more than 32 deep")
m("toml-deep-header", model("[observers]", "[" + MARK + "t" + ".a" * 3000 + "]\n[observers]"),
  "tables nested more than 32 deep")
m("toml-huge-integer", model("vcpus = 2", f"vcpus = {MARK}" + "9" * 5000), "a number of 5000 digits")
m("toml-control-char", model('title = "break, invalidate, make"', f'title = "break{MARK}\x01"'), "invalid TOML")
m("bom-then-error", "\ufeff" + model("vcpus = 2", f"vcpus = {MARK}0"), "vcpus must be a whole number")
m("unknown-top-key", model('title = "break', f'{MARK}titel = "break'), "unknown key 'titel'")
m("unknown-table-key", model("[tables.T2]\nlevel = 2", f"[tables.T2]\nlevel = 2\n{MARK}levle = 2"),
  "unknown key 'levle'")
m("missing-program", program_as("").replace('name = "corpus"', f'{MARK}name = "corpus"', 1),
  "missing required key 'program'")
m("missing-level", model('level = "L0"\n', "").replace('name = "corpus"', f'{MARK}name = "corpus"', 1),
  "missing required key 'level'")
m("unknown-bbm-level", model('level = "L0"', f'level = {MARK}"L5"'), "unknown FEAT_BBM level 'L5'")
m("bad-expect", model('expect = "claims-hold"', f'expect = {MARK}"ok"'), "expect must be one of")


def locate(text: str) -> tuple[str, int, int]:
    assert text.count(MARK) == 1, "exactly one marker"
    pos = text.index(MARK)
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    if text.startswith("\ufeff") and line == 1:
        col -= 1  # the byte-order mark is not a column an editor shows
    return text.replace(MARK, "", 1), line, col


def one_error(code: int, out: str, err: str, file: str, line: int, col: int, phrase: str) -> None:
    assert "Traceback" not in out + err and "internal error" not in err, err
    assert code == 2, (code, err)
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line:\n{err}"
    head = f"{file}:{line}:{col}: error: "
    assert err.startswith(head), f"expected {head!r}, got {err!r}"
    assert phrase in err, f"{phrase!r} not in {err!r}"


@pytest.fixture
def run(capsys):
    def go(argv: list[str]) -> tuple[int, str, str]:
        code = main(argv)
        got = capsys.readouterr()
        return code, got.out, got.err

    return go


def test_the_base_model_is_valid(tmp_path, run):
    path = tmp_path / "m.toml"
    path.write_text(MODEL, encoding="utf-8")
    code, out, err = run(["verify", str(path), "--no-traces"])
    assert code == 0, out + err


@pytest.mark.parametrize(("text", "phrase"), [c[1:] for c in MODEL_CASES], ids=[c[0] for c in MODEL_CASES])
def test_model_file(tmp_path, run, text, phrase):
    clean, line, col = locate(text)
    path = tmp_path / "m.toml"
    path.write_bytes(clean.encode("utf-8"))
    code, out, err = run(["verify", str(path), "--no-traces"])
    one_error(code, out, err, str(path), line, col, phrase)
    assert path.read_bytes() == clean.encode("utf-8")


RAW_CASES = [  # (id, bytes, line, col, phrase): files that are not UTF-8
    ("latin1-title", MODEL.encode().replace(b"break, inv", b"br\xe9ak, inv"), 2, 12, "not UTF-8"),
    ("bad-byte-program", MODEL.encode().replace(b"dsb   ish\n", b"dsb   ish\xff\n"), 9, 10, "not UTF-8"),
    ("utf16", MODEL.encode("utf-16"), 1, 1, "not UTF-8"),
    ("truncated-utf8", MODEL.encode().replace(b'"corpus"', b'"corpus\xe2\x82"'), 1, 15, "not UTF-8"),
]


@pytest.mark.parametrize(("raw", "line", "col", "phrase"), [c[1:] for c in RAW_CASES], ids=[c[0] for c in RAW_CASES])
def test_model_file_bytes(tmp_path, run, raw, line, col, phrase):
    path = tmp_path / "m.toml"
    path.write_bytes(raw)
    code, out, err = run(["verify", str(path)])
    one_error(code, out, err, str(path), line, col, phrase)


def test_a_byte_order_mark_is_accepted(tmp_path, run):
    path = tmp_path / "m.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MODEL.encode())
    code, out, err = run(["verify", str(path), "--no-traces"])
    assert code == 0, err


# ---------------------------------------------------------------------------------------------------
# the command line

CLI_CASES: list[tuple[str, list[str], str]] = []  # the offending argument starts with the marker


def c(case_id: str, argv: str, phrase: str) -> None:
    CLI_CASES.append((case_id, argv.split(), phrase))


for option in ("--level", "--vcpus", "--max-states", "--timeout", "--engine", "--bound", "--nt-fault", "--nt-cache",
               "--l2-nt", "--rmrrpw", "--claims", "--format", "--trace-out", "--from-code", "--function",
               "--scenario", "--primitives"):
    c(f"{option}-without-value", f"verify ttrem1 §§{option}", "requires an argument")
for value in ("L3", "l9", "0", "L2-abort", "\u0661"):
    c(f"level-{value}", f"verify ttrem1 §§--level {value}", "invalid FEAT_BBM level")
    c(f"level-{value}-first", f"verify §§--level={value} ttrem1", "invalid FEAT_BBM level")
for value in ("0", "-1", "-100"):
    c(f"vcpus-{value}", f"verify ttrem1 §§--vcpus {value}", "--vcpus must be a whole number from 1")
c("vcpus-65-without-cutoff", "verify ttrem1 §§--vcpus 65 --no-cutoff", "answered only by the vCPU cutoff")
for value in ("two", "1.5", "\u0662"):
    c(f"vcpus-not-int-{value}", f"verify ttrem1 §§--vcpus {value}", "'--vcpus'")
for value in ("0", "-5"):
    c(f"max-states-{value}", f"verify ttrem1 §§--max-states {value}", "--max-states must be positive")
c("max-states-word", "verify ttrem1 §§--max-states many", "'--max-states'")
for value in ("0", "-1", "nan", "inf", "-inf", "1e300"):
    c(f"timeout-{value}", f"verify ttrem1 §§--timeout {value}", "--timeout must be a positive number")
c("timeout-word", "verify ttrem1 §§--timeout soon", "'--timeout'")
for value in ("0", "201", "-3"):
    c(f"bound-{value}", f"verify ttrem1 §§--bound {value}", "--bound must be 1..200")
c("bound-word", "verify ttrem1 §§--bound deep", "'--bound'")
for option, value in (("--engine", "smt"), ("--engine", "BMC2"), ("--nt-fault", "sometimes"), ("--nt-cache", "all2"),
                      ("--l2-nt", "maybe"), ("--rmrrpw", "both"), ("--rmrrpw", "strict"), ("--claims", "all"),
                      ("--claims", "")):
    if value:
        c(f"{option}-{value}", f"verify ttrem1 §§{option} {value}", f"for {option}")
c("evictions-with-bmc", "verify ttrem1 --engine bmc §§--evictions", "explored by the explicit engine only")
c("format-pdf", "verify ttrem1 §§--format pdf --trace-out x", "unknown trace format 'pdf'")
c("format-empty-list", "verify ttrem1 §§--format , --trace-out x", "at least one format")
c("unknown-option", "verify ttrem1 §§--frobnicate", "No such option")
c("unknown-short-option", "verify ttrem1 §§-z", "No such option")
c("extra-argument", "verify ttrem1 §§ttrem2", "unexpected extra argument")
c("unknown-model", "verify §§ttrem9", "no bundled model named 'ttrem9'")
c("unknown-model-after-options", "verify --vcpus 1 §§nosuch", "no bundled model named 'nosuch'")
c("missing-model-file", "verify §§/nonexistent/m.toml", "no such model file")
c("no-model", "§§verify --vcpus 2", "verify needs a model name or file")
c("model-and-from-code", "verify ttrem1 §§--from-code x.c", "give a model or --from-code, not both")
c("from-code-no-function", f"verify --from-code {FIXTURES}/kvm_replace_leaf.c --scenario x", "--function NAME")
c("unknown-command", "§§verfiy ttrem1", "No such command")
c("show-no-argument", "§§show", "Missing argument")
c("extract-no-function", f"extract {FIXTURES}/kvm_replace_leaf.c --scenario x", "--function NAME is needed")
c("extract-unknown-primitives",
  f"extract {FIXTURES}/kvm_replace_leaf.c --function stage2_split_leaf --scenario "
  f"{FIXTURES}/kvm_replace_leaf.scenario.toml --primitives linux-kvm", "no primitive map 'linux-kvm'")
c("prove-bad-jobs", "prove ttrem1 §§--jobs 0", "--jobs must be at least 1")
c("prove-bad-timeout", "prove ttrem1 §§--timeout -1", "--timeout must be a positive number")


def argv_and_col(argv: list[str]) -> tuple[list[str], int]:
    marked = [k for k, a in enumerate(argv) if a.startswith(MARK)]
    if not marked:  # the message names the problem; the command line as a whole
        return argv, 1
    k = marked[0]
    clean = [a.removeprefix(MARK) for a in argv]
    return clean, len(" ".join(clean[:k])) + (2 if k else 1)


@pytest.mark.parametrize(("argv", "phrase"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_command_line(run, argv, phrase):
    clean, col = argv_and_col(argv)
    code, out, err = run(clean)
    one_error(code, out, err, "<command-line>", 1, col, phrase)


def test_extract_out_naming_a_file(tmp_path, run):
    target = tmp_path / "notes.txt"
    target.write_text("mine\n")
    for out in (str(target), str(target / "sub")):
        argv = ["extract", str(FIXTURES / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf", "--scenario",
                str(FIXTURES / "kvm_replace_leaf.scenario.toml"), "-o", out]
        code, o, err = run(argv)
        one_error(code, o, err, "<command-line>", 1, len(" ".join(argv[:-2])) + 2, "-o:")
    assert target.read_text() == "mine\n"


def test_extract_out_where_a_folder_stands_at_a_model_name(tmp_path, run):
    (tmp_path / "kvm-split-leaf.toml").mkdir()
    argv = ["extract", str(FIXTURES / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf", "--scenario",
            str(FIXTURES / "kvm_replace_leaf.scenario.toml"), "-o", str(tmp_path)]
    code, out, err = run(argv)
    one_error(code, out, err, str(tmp_path / "kvm-split-leaf.toml"), 1, 1, "not overwriting it")


# ---------------------------------------------------------------------------------------------------
# scenario files, primitive maps, C, assembly and diffs

SCENARIO = """\
base = "split-bbm"
prologue = ["dsb ishst"]
epilogue = ["dsb ishst"]

[entries]
ptep = "T1[1]"

[values]
new = "table T2"

[bits]
NT = "nT"

[addresses]
addr = "0x40000000"

[tables]
page = "T2"

[paths]
"" = { level = "L0", name = "kvm-split-leaf" }
"""

C_CODE = (FIXTURES / "kvm_replace_leaf.c").read_text()
ASM_CODE = (FIXTURES / "s2_bbm_block.S").read_text()
ASM_SCENARIO = (FIXTURES / "s2_bbm_block.scenario.toml").read_text()
PRIMS = """\
[primitives]
kvm_clear_pte = ["str {entry:0}, invalid"]
smp_store_release = ["stlr {entry:0}, {desc:1}"]
dsb = ["dsb {raw:0}"]
"kvm_call_hyp:__kvm_tlb_flush_vmid_ipa" = ["dsb ishst", "tlbi ipas2e1is, {ipa:2}", "dsb ish", "isb"]

[dispatch]
kvm_call_hyp = 0

[pure]
names = ["BIT"]
"""


@dataclass(frozen=True)
class Code:
    """An extraction case: the files (one carries the marker), which kind of code, and options."""

    id: str
    phrase: str
    scenario: str = SCENARIO
    code: str = C_CODE
    kind: str = "c"  # "c", "asm" or "diff"
    prims: str | None = None
    function: str = "stage2_split_leaf"
    args: tuple[str, ...] = ()
    verify: bool = False  # through 'verify --from-code' instead of 'extract'
    files: dict[str, str] = field(default_factory=dict)


CODE_CASES: list[Code] = []


def scen(case_id: str, old: str, new: str, phrase: str, **kw: object) -> None:
    CODE_CASES.append(Code(f"scenario-{case_id}", phrase, scenario=sub(SCENARIO, old, new), **kw))  # type: ignore[arg-type]


def scen_section(case_id: str, section: str, replacement: str, phrase: str) -> None:
    """Replace a whole [section] with a top-level key (written before the first header)."""
    start = SCENARIO.index(f"[{section}]")
    end = SCENARIO.find("\n[", start + 1)
    text = SCENARIO[:start] + (SCENARIO[end + 1:] if end > 0 else "")
    CODE_CASES.append(Code(f"scenario-{case_id}", phrase, scenario=sub(text, 'base = "split-bbm"\n',
                                                                      f'base = "split-bbm"\n{replacement}\n')))


for section, what in [("entries", "must be a table"), ("values", "must be a table"), ("bits", "must be a table"),
                      ("addresses", "must be a table"), ("tables", "must be a table"), ("paths", "must be a table")]:
    for tname, value in [("int", "3"), ("string", '"x"'), ("array", '["x"]'), ("bool", "true")]:
        scen_section(f"{section}-is-{tname}", section, f"{section} = {MARK}{value}", f"'{section}' {what}")
for section, key in [("entries", "ptep"), ("values", "new"), ("bits", "NT"), ("addresses", "addr"), ("tables", "page")]:
    line = next(x for x in SCENARIO.split("\n") if x.startswith(f"{key} = "))
    for tname, value in [("int", "3"), ("table", "{ a = 1 }"), ("array", '["x"]'), ("bool", "false")]:
        scen(f"{section}-{key}-{tname}", line, f"{key} = {MARK}{value}", f"[{section}] '{key}' must be a string")
for key in ("prologue", "epilogue"):
    line = f'{key} = ["dsb ishst"]'
    for tname, value, phrase in [
            ("int", f"{MARK}3", f"'{key}' must be a list of instruction lines"),
            ("string", f'{MARK}"dsb ishst"', f"'{key}' must be a list"),
            ("table", f"{MARK}{{ a = 1 }}", f"'{key}' must be a list"),
            ("item-int", f'["dsb ishst", {MARK}3]', f"each line of '{key}' must be a string"),
            ("item-array", f'[{MARK}["dsb ishst"]]', f"each line of '{key}' must be a string"),
            ("unknown-instruction", f'["dsb ishst", "{MARK}tlbii vmalls12e1is"]', "unknown instruction"),
            ("bad-dsb", f'["dsb {MARK}ishh"]', "unknown DSB option"),
            ("escape-shift", f'["\\u0064sb {MARK}ishh"]', "unknown DSB option"),
            ("literal", f"['isb {MARK}ish']", "takes no operand"),
            ("two-ttl", f'["tlbi ipas2e1is, 0x40000000, ttl=2, {MARK}ttl=3"]', "a second TTL hint"),
            ("unknown-table", f'["str {MARK}T9[1], invalid"]', "store to unknown table 'T9'"),
            ("free-unknown", f'["free {MARK}T8"]', "free of unknown table 'T8'"),
            ("ipa-outside-root", f'["tlbi ipas2e1is, {MARK}0x10000000000"]', "outside the"),
            ("links-twice", f'["stlr T1[3], table {MARK}T2"]', "linked at IPA"),
            ("non-ascii", f'["dsb ish{MARK}\u00e9"]', "written in ASCII"),
    ]:
        if tname == "links-twice" and key == "prologue":
            continue  # before the function's own link, the epilogue's is the later one
        scen(f"{key}-{tname}", line, f"{key} = {value}", phrase)
scen("entry-not-an-entry", 'ptep = "T1[1]"', f'ptep = "{MARK}T1"', "is not a table entry")
scen("entry-unknown-table", 'ptep = "T1[1]"', 'ptep = "T7[1]"', "store to unknown table 'T7'",
     code=C_CODE.replace("kvm_clear_pte(ptep);", f"{MARK}kvm_clear_pte(ptep);"))
scen("value-bad", 'new = "table T2"', f'new = "{MARK}tabel T2"', "unknown descriptor kind")
scen("value-escape-shift", 'new = "table T2"', f'new = "\\u0074able T2 {MARK}x=1"', "table")
scen("value-non-ascii", 'new = "table T2"', f'new = "table T2{MARK}\u00a0"', "written in ASCII")
scen("bit-unknown", 'NT = "nT"', f'NT = {MARK}"dirty"', "bit 'dirty' is not modelled")
scen("address-word", 'addr = "0x40000000"', f'addr = {MARK}"here"', "is not an address")
scen("address-arabic", 'addr = "0x40000000"', f'addr = "{MARK}\u0664\u0660\u0669\u0666"', "written in ASCII")
scen("address-negative", 'addr = "0x40000000"', f'addr = {MARK}"-0x1000"', "is not in 0..2^48-1")
scen("address-outside-root", 'addr = "0x40000000"', 'addr = "0x10000000000"', "outside the",
     code=C_CODE.replace("kvm_call_hyp(", f"{MARK}kvm_call_hyp("))
scen("base-int", 'base = "split-bbm"', f"base = {MARK}3", "base names a model")
# without a base the default scenario names the entries: a scenario's [entries] then needs one
CODE_CASES.append(Code("scenario-base-missing", "'entries' needs a base model",
                       scenario=sub(sub(SCENARIO, 'base = "split-bbm"\n', ""), "[entries]", f"[{MARK}entries]")))
scen("base-unknown", 'base = "split-bbm"', f'base = "{MARK}split-bmm"', "no bundled model named 'split-bmm'")
scen("base-missing-file", 'base = "split-bbm"', f'base = "{MARK}nothere/m.toml"', "no such model file")
scen("base-never-linked", 'base = "split-bbm"', f'base = {MARK}"split-bbm"', "never linked",
     code=C_CODE.replace("smp_store_release(ptep, new);", ""))
scen("unknown-key", "[bits]", f"[{MARK}bitz]", "unknown key 'bitz'")
scen("unknown-top-key", "prologue =", f"{MARK}prolog =", "unknown key 'prolog'")
for tname, value, phrase in [
        ("int", f"{MARK}3", "a path is { level"), ("empty", f"{MARK}{{}}", "a path is { level"),
        ("level-int", f"{{ level = {MARK}0 }}", "a path's level must be a string"),
        ("level-unknown", f'{{ level = {MARK}"L9" }}', "unknown FEAT_BBM level 'L9'"),
        ("name-int", f'{{ level = "L0", name = {MARK}1 }}', "a path's name must be a string"),
        ("skip-array", f"{{ skip = {MARK}[1] }}", "a path's skip must be a string"),
        ("unknown-field", f'{{ level = "L0", {MARK}lvl = "L1" }}', "unknown key 'lvl' in a path"),
]:
    scen(f"path-{tname}", '"" = { level = "L0", name = "kvm-split-leaf" }', f'"" = {value}', phrase)
for tname, text in [
        ("deep-array", 'base = "split-bbm"\nprologue = ' + "[" * 32 + MARK + "[" * 2000 + "]" * 2032 + "\n"),
        ("deep-inline", 'base = "split-bbm"\nentries = ' + "{ a = " * 32 + MARK + "{ a = " * 2000 + "1" + " }" * 2032),
        ("deep-dotted", 'base = "split-bbm"\n' + MARK + "entries" + ".a" * 3000 + ' = "T1[1]"\n'),
        ("huge-integer", 'base = "split-bbm"\n[paths]\n"" = { level = ' + MARK + "9" * 5000 + " }\n"),
        ("toml-syntax", f'base = "split-bbm"\nprologue = [{MARK}dsb]\n'),
        ("toml-unterminated", f'base = "split-bbm"\n[values]\nnew = {MARK}"table T2\n'),
        ("bom-then-error", f'\ufeffbase = {MARK}3\n'),
]:
    CODE_CASES.append(Code(f"scenario-{tname}", "nested" if "deep" in tname else
                           "digits" if "huge" in tname else "base" if "bom" in tname else "invalid TOML",
                           scenario=text))

# primitive maps
def prim(case_id: str, old: str, new: str, phrase: str) -> None:
    CODE_CASES.append(Code(f"primitives-{case_id}", phrase, prims=sub(PRIMS, old, new)))


prim("unknown-section", "[pure]", f"[{MARK}puree]", "unknown section 'puree'")
prim("primitive-int", 'dsb = ["dsb {raw:0}"]', f"dsb = {MARK}3", "a primitive is a list of instruction lines")
prim("primitive-string", 'dsb = ["dsb {raw:0}"]', f'dsb = {MARK}"dsb {{raw:0}}"', "a primitive is a list")
prim("primitive-item-int", 'dsb = ["dsb {raw:0}"]', f"dsb = {MARK}[1]", "a primitive is a list")
prim("primitive-table", 'dsb = ["dsb {raw:0}"]', f"dsb = {MARK}{{ a = 1 }}", "a primitive is a list")
prim("placeholder-unknown", 'dsb = ["dsb {raw:0}"]', f'dsb = ["dsb {MARK}{{rwa:0}}"]', "unknown placeholder")
prim("placeholder-second-line", '"dsb ish", "isb"]', f'"dsb ish", "isb {MARK}{{entry}}"]', "unknown placeholder")
prim("placeholder-escape-shift", 'dsb = ["dsb {raw:0}"]', f'dsb = ["\\u0064sb {MARK}{{raw}}"]', "unknown placeholder")
prim("dispatch-string", "kvm_call_hyp = 0", f'kvm_call_hyp = {MARK}"0"', "[dispatch] 'kvm_call_hyp' must be")
prim("dispatch-negative", "kvm_call_hyp = 0", f"kvm_call_hyp = {MARK}-1", "[dispatch] 'kvm_call_hyp' must be")
prim("dispatch-bool", "kvm_call_hyp = 0", f"kvm_call_hyp = {MARK}true", "[dispatch] 'kvm_call_hyp' must be")
prim("dispatch-huge", "kvm_call_hyp = 0", f"kvm_call_hyp = {MARK}100000", "[dispatch] 'kvm_call_hyp' must be")
prim("pure-names-string", 'names = ["BIT"]', f'names = {MARK}"BIT"', "[pure] names must be a list")
prim("pure-names-int-item", 'names = ["BIT"]', f"names = {MARK}[1]", "[pure] names must be a list")
prim("pure-unknown-key", 'names = ["BIT"]', f'{MARK}name = ["BIT"]', "unknown key 'name' in [pure]")
for section in ("primitives", "dispatch", "pure"):
    for tname, value in [("int", "3"), ("array", "[1]")]:
        start = PRIMS.index(f"[{section}]")
        end = PRIMS.find("\n[", start + 1)
        text = f"{MARK}{section} = {value}\n" + PRIMS[:start] + (PRIMS[end + 1:] if end > 0 else "")
        CODE_CASES.append(Code(f"primitives-{section}-is-{tname}", f"'{section}' must be a table",
                               prims=text.replace(f"{MARK}{section} = ", f"{section} = {MARK}")))
CODE_CASES.append(Code("primitives-deep", "nested",
                       prims="[primitives]\nx = " + "[" * 32 + MARK + "[" * 900 + "]" * 932))
CODE_CASES.append(Code("primitives-syntax", "invalid TOML", prims=f"[primitives]\nx = {MARK}?\n"))


# C sources
def cfun(case_id: str, body: str, phrase: str, **kw: object) -> None:
    code = ("static void stage2_split_leaf(kvm_pte_t *ptep, kvm_pte_t new, u64 addr, struct kvm_s2_mmu *mmu)\n{\n"
            + body + "\n}\n")
    CODE_CASES.append(Code(f"c-{case_id}", phrase, code=code, **kw))  # type: ignore[arg-type]


cfun("syntax", f"    kvm_clear_pte(ptep{MARK};", "cannot parse")
cfun("for-loop", f"    {MARK}for (;;) {{ isb(); }}", "no path leaves this for loop within 2 iterations")
cfun("while-loop", f"    {MARK}while (1) isb();", "no path leaves this while loop")
cfun("do-loop", f"    {MARK}do {{ isb(); }} while (1);", "no path leaves this do loop")
cfun("goto", f"    isb();\nback:\n    {MARK}goto back;", "goto back: the label is not later in a block around the goto")
cfun("unknown-call-strict", f"    kvm_clear_pte(ptep);\n    {MARK}my_flush(mmu);", "unknown call 'my_flush'",
     args=("--strict",))
cfun("unknown-call-strict-verify", f"    {MARK}my_flush(mmu);\n    kvm_clear_pte(ptep);", "unknown call 'my_flush'",
     args=("--strict",), verify=True)
cfun("no-meaning-entry", f"    kvm_clear_pte({MARK}other);", "'other' has no meaning in scenario")
cfun("no-meaning-value", f"    smp_store_release(ptep, {MARK}old);", "'old' has no meaning in scenario")
cfun("no-meaning-ipa", f"    kvm_call_hyp(__kvm_tlb_flush_vmid_ipa, mmu, {MARK}where, 2);", "'where' has no meaning")
cfun("missing-argument", f"    {MARK}kvm_clear_pte();", "needs argument 1")
cfun("deep-braces", "    " + "{" * 198 + MARK + "{" * 19802 + "isb();" + "}" * 20000, "nested more than 200")
cfun("deep-parens", "    isb" + "(" * 196 + MARK + "(" * 4954 + "0" + ")" * 5150 + ";", "nested more than 200")
cfun("deep-ifs", "    " + "if (a) " * 197 + "if " + MARK + "(a) " + "if (a) " * 1802 + "isb();", "nested more than 200")
CODE_CASES.append(Code("c-no-function", "no function 'stage2_split_leaf'", code=MARK + "static void g(void) { }\n"))
CODE_CASES.append(Code("c-not-utf8", "not UTF-8 text", code="", files={"bad.c": MARK}))


# assembly
def asm(case_id: str, line: str, phrase: str, **kw: object) -> None:
    CODE_CASES.append(Code(f"asm-{case_id}", phrase, scenario=ASM_SCENARIO, kind="asm", function="s2_bbm_block",
                           code=sub(ASM_CODE, "\tdsb\tishst\n\ttlbi", "\tdsb\tishst\n" + line + "\n\ttlbi"),
                           **kw))  # type: ignore[arg-type]


for form in ("stp\tx1, x2, [x0]", "swp\tx1, x2, [x0]", "swpal\tx1, x2, [x0]", "swpl\tx1, x2, [x0]",
             "cas\tx2, x1, [x0]", "casal\tx2, x1, [x0]", "casl\tx2, x1, [x0]", "casp\tx2, x3, x4, x5, [x0]",
             "stxr\tw3, x1, [x0]", "stlxr\tw3, x1, [x0]", "strb\tw1, [x0]", "strh\tw1, [x0]", "stlrb\tw1, [x0]",
             "stnp\tx1, x2, [x0]", "ldadd\tx1, x2, [x0]", "ldsetal\tx1, x2, [x0]", "stset\tx1, [x0]",
             "stadd\tx1, [x0]", "stllr\tx1, [x0]", "stg\tx1, [x0]"):
    asm(f"refused-{form.split()[0]}", f"\t{MARK}{form}", "is table entry T1[1]")
asm("str-w-register", f"\t{MARK}str\tw1, [x0]", "does not store one 64-bit register")
asm("str-writeback", f"\t{MARK}str\tx1, [x0, #0]!", "writeback addressing")
asm("str-post-index", f"\t{MARK}str\tx1, [x0], #8", "writeback addressing")
asm("stur-writeback", f"\t{MARK}stur\tx1, [x0]!", "writeback addressing")
asm("str-offset-unmapped", f"\t{MARK}str\tx1, [x0, #8]", "has no meaning in scenario")
asm("stur-unmapped", f"\t{MARK}stur\tx1, [x5]", "has no meaning in scenario")
asm("stlr-unmapped", f"\t{MARK}stlr\tx1, [x9]", "has no meaning in scenario")
asm("str-unknown-value", f"\t{MARK}str\tx7, [x0]", "'x7' has no meaning in scenario")
asm("str-no-address", f"\t{MARK}str\tx1, x0", "expected str Xt, [Xn]")
asm("stp-unmapped-strict", f"\t{MARK}stp\tx1, x2, [x5]", "does not map", args=("--strict",))
asm("unknown-mnemonic-strict", f"\t{MARK}frob\tx1, x2", "unknown instruction 'frob'", args=("--strict",))
asm("msr-strict", f"\t{MARK}msr\tvttbr_el2, x1", "unknown instruction 'msr'", args=("--strict",))
asm("unknown-mnemonic-strict-verify", f"\t{MARK}frob\tx1", "unknown instruction 'frob'", args=("--strict",),
    verify=True)
asm("branch", f"\t{MARK}b\t1f", "branch 'b' is not supported")
asm("cond-branch", f"\t{MARK}b.ne\t1f", "branch 'b.ne' is not supported")
asm("cbz", f"\t{MARK}cbz\tx0, 1f", "branch 'cbz' is not supported")
asm("tlbi-unmapped-register", f"\t{MARK}tlbi\tipas2e1is, x4", "'x4' has no meaning in scenario")
asm("dsb-bad", f"\tdsb\t{MARK}ishh", "unknown DSB option")
asm("tlbi-bad", f"\ttlbi\t{MARK}vmalle9is", "unknown or unmodelled TLBI operation")
CODE_CASES.append(Code("asm-no-label", "no label 'nosuch:'", scenario=ASM_SCENARIO, kind="asm", function="nosuch",
                       code=MARK + ASM_CODE))

# diffs: the post-image's lines are reported at the patch file's lines
DIFF_HEAD = "diff --git a/k.c b/k.c\n--- a/k.c\n+++ b/k.c\n@@ -1,6 +1,7 @@\n"


def diff(case_id: str, lines: str, phrase: str, **kw: object) -> None:
    CODE_CASES.append(Code(f"diff-{case_id}", phrase, kind="diff", code=DIFF_HEAD + lines, **kw))  # type: ignore[arg-type]


FN = " static void stage2_split_leaf(kvm_pte_t *ptep, kvm_pte_t new, u64 addr, struct kvm_s2_mmu *mmu)\n {\n"
diff("unknown-call-added", FN + f"+    {MARK}my_flush(mmu);\n     kvm_clear_pte(ptep);\n }}\n",
     "unknown call 'my_flush'", args=("--strict",))
diff("syntax-added", FN + f"+    kvm_clear_pte(ptep{MARK};\n }}\n", "cannot parse")
diff("loop-added", FN + f"+    {MARK}while (1) isb();\n }}\n", "no path leaves this while loop")
diff("no-meaning", FN + f"-    kvm_clear_pte(ptep);\n+    kvm_clear_pte({MARK}q);\n }}\n", "'q' has no meaning")
diff("context-line-error", FN + f"     kvm_clear_pte({MARK}zz);\n+    isb();\n }}\n", "'zz' has no meaning")
CODE_CASES.append(Code("diff-no-function", "no function 'nosuch'", kind="diff", function="nosuch",
                       code=DIFF_HEAD.replace("@@ -1", MARK + "@@ -1")
                       + " static void other(void)\n {\n+    isb();\n }\n"))
CODE_CASES.append(Code("diff-without-hunks-is-c", "no function 'stage2_split_leaf'", kind="diff",
                       code=MARK + "diff --git a/k.c b/k.c\n--- a/k.c\n+++ b/k.c\n"))


@pytest.mark.parametrize("case", CODE_CASES, ids=[k.id for k in CODE_CASES])
def test_code_and_maps(tmp_path, run, case):
    files = {"scenario.toml": case.scenario,
             {"c": "k.c", "asm": "k.S", "diff": "k.patch"}[case.kind]: case.code}
    if case.prims is not None:
        files["prims.toml"] = case.prims
    files.update(case.files)
    where = None
    for name, text in files.items():
        if MARK in text:
            assert where is None, "one marker"
            clean, line, col = locate(text)
            where = (str(tmp_path / name), line, col)
            text = clean
        data = text.encode("utf-8")
        if name == "bad.c":
            data = b"static void stage2_split_leaf(void)\n{\n    isb(); // caf\xe9\n}\n"
            where = (str(tmp_path / name), 3, 1)
        (tmp_path / name).write_bytes(data)
    assert where is not None, case.id
    code_file = "bad.c" if "bad.c" in files else {"c": "k.c", "asm": "k.S", "diff": "k.patch"}[case.kind]
    argv = (["verify", "--from-code", str(tmp_path / code_file), "--no-traces"] if case.verify
            else ["extract", str(tmp_path / code_file)])
    argv += ["--function", case.function, "--scenario", str(tmp_path / "scenario.toml"), *case.args]
    if case.prims is not None:
        argv += ["--primitives", str(tmp_path / "prims.toml")]
    code, out, err = run(argv)
    one_error(code, out, err, *where, case.phrase)


def test_the_code_bases_are_valid(tmp_path, run):
    (tmp_path / "s.toml").write_text(SCENARIO)
    (tmp_path / "p.toml").write_text(PRIMS)
    (tmp_path / "k.S").write_text(ASM_CODE)
    (tmp_path / "a.toml").write_text(ASM_SCENARIO)
    for argv in (["extract", str(FIXTURES / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf", "--scenario",
                  str(tmp_path / "s.toml"), "--strict"],
                 ["extract", str(FIXTURES / "kvm_replace_leaf.c"), "--function", "stage2_split_leaf", "--scenario",
                  str(tmp_path / "s.toml"), "--primitives", str(tmp_path / "p.toml"), "--strict"],
                 ["extract", str(tmp_path / "k.S"), "--function", "s2_bbm_block", "--scenario",
                  str(tmp_path / "a.toml"), "--strict"]):
        code, out, err = run(argv)
        # without --primitives the map chosen is said, and nothing else
        said = [line for line in err.splitlines() if not line.startswith("bbmcheck: primitive map linux-kvm-arm64 "
                                                                          "chosen: ")]
        assert code == 0 and said == [], err


@pytest.mark.parametrize(("line", "phrase"), [
    ("\tfrob\tx1, x2", "unknown instruction 'frob'"),
    ("\tdmb\tish", "'dmb ish' is not modelled and is dropped"),
    ("\tmsr\tvttbr_el2, x1", "unknown instruction 'msr'"),
    ("\tstp\tx1, x2, [x5]", "does not map"),
])
def test_assembly_warns_where_it_ignores(tmp_path, run, line, phrase):
    text = sub(ASM_CODE, "\tdsb\tishst\n\ttlbi", "\tdsb\tishst\n" + line + "\n\ttlbi")
    (tmp_path / "k.S").write_text(text)
    (tmp_path / "a.toml").write_text(ASM_SCENARIO)
    code, out, err = run(["extract", str(tmp_path / "k.S"), "--function", "s2_bbm_block", "--scenario",
                          str(tmp_path / "a.toml")])
    row = text.split("\n").index(line) + 1
    assert code == 0 and re.match(rf"^{re.escape(str(tmp_path / 'k.S'))}:{row}:2: warning: ", err), err
    assert phrase in err and err.count("\n") == 1


def test_assembly_stores_to_the_stack_and_stur_are_modelled(tmp_path, run):
    text = sub(ASM_CODE, "\tstr\txzr, [x0]", "\tstp\tx29, x30, [sp, #-16]!\n\tstur\txzr, [x0, #0]")
    (tmp_path / "k.S").write_text(text)
    (tmp_path / "a.toml").write_text(ASM_SCENARIO)
    code, out, err = run(["extract", str(tmp_path / "k.S"), "--function", "s2_bbm_block", "--scenario",
                          str(tmp_path / "a.toml"), "--strict"])
    assert code == 0 and err == "", err
    assert "str T1[1], invalid" in out


def test_the_corpus_is_large_and_distinct():
    ids = [c[0] for c in MODEL_CASES] + [c[0] for c in RAW_CASES] + [c[0] for c in CLI_CASES]
    ids += [k.id for k in CODE_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 300, len(ids)
