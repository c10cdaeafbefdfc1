"""The two inputs that give code a meaning: the primitive map (what each helper does) and the
scenario (which table entry a pointer names, which descriptor an expression computes, which
FEAT_BBM level each path targets, and the caller's context before and after the function)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..arch.config import FeatBBM
from ..arch.descriptors import Descriptor, DescriptorSyntaxError, parse_descriptor
from ..arch.rules import PROPERTIES
from ..errors import InputError, did_you_mean
from ..sequences.load import parse_toml
from ..sequences.locate import Locator
from ..sequences.parse_asm import ENTRY_RE, parse_line, parse_number
from ..sequences.schema import CLAIM_VALUES, EXPECT_VALUES

PLACEHOLDER = re.compile(r"\{(entry|desc|raw|ipa|table|span|ttl):(\d+)\}")
BUNDLED_MAPS = ("linux-kvm-arm64", "xen-arm", "gunyah", "linux-arm64-mm", "hafnium")
# a map line that holds only where a condition does: "when valid {desc:1}: dsb ishst" (see expand_lines)
WHEN = re.compile(r"when (.+?): (.+)\Z")
_CONDITION = re.compile(r"(valid|invalid|table|leaf) (\S.*)|(\S+) (==|!=) (\S+)")


def _read_toml(path: str) -> tuple[dict[str, Any], Locator]:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise InputError(path, 1, 1, f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        col = len(raw[line_start:e.start].decode("utf-8", errors="replace")) + 1
        raise InputError(path, raw.count(b"\n", 0, e.start) + 1, col, "not UTF-8 text") from None
    return parse_toml(text, path)


class _Fields:
    """Type checks for one file's TOML data, each failure located where the value was written."""

    def __init__(self, path: str, data: dict[str, Any], loc: Locator) -> None:
        self.path, self.data, self.loc = path, data, loc

    def err(self, where: tuple[int, int], message: str) -> InputError:
        return InputError(self.path, where[0], where[1], message)

    def section(self, key: str, what: str) -> dict[str, Any]:
        """Top-level ``key``: a table (or absent: empty)."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise self.err(self.loc.value("", key) if self.loc.has_key("", key) else self.loc.key("", key),
                           f"'{key}' must be a table of {what}, not {_kind(value)}")
        return value

    def strings(self, key: str, what: str) -> dict[str, str]:
        """[key]: a table whose every value is a string of printable ASCII."""
        table = self.section(key, what)
        for k, v in table.items():
            if not isinstance(v, str):
                raise self.err(self.loc.value(key, k), f"[{key}] {k!r} must be a string ({what}), not {_kind(v)}")
            odd = next((n for n, ch in enumerate(v) if not (ch.isascii() and (ch.isprintable() or ch == " "))), None)
            if odd is not None:
                chars = self.loc.string_chars(*self.loc.value(key, k))
                raise self.err(chars[min(odd, len(chars) - 1)],
                               f"character {v[odd]!r} in [{key}] {k!r}: the model's words are written in ASCII")
        return table

    def lines(self, key: str) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
        """Top-level ``key``: a list of instruction strings; with where each string's opening quote is."""
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise self.err(self.loc.value("", key), f"'{key}' must be a list of instruction lines, "
                           f"e.g. {key} = [\"dsb ishst\"], not {_kind(value)}")
        places = self.loc.array_items("", key) if value else []
        out = []
        for k, item in enumerate(value):
            where = places[k] if k < len(places) else self.loc.value("", key)
            if not isinstance(item, str):
                raise self.err(where, f"each line of '{key}' must be a string, not {_kind(item)}")
            out.append(where)
        return tuple(value), out


def _kind(value: Any) -> str:
    for types, name in ((bool, "a boolean"), (int, "an integer"), (float, "a number"), (str, "a string"),
                        (list, "an array"), (dict, "a table")):
        if isinstance(value, types):
            return name
    return "a date or time"


@dataclass(frozen=True)
class PrimitiveMap:
    path: str
    primitives: dict[str, tuple[str, ...]]
    dispatch: dict[str, int]
    pure: frozenset[str]
    # what a helper does on a path where its result is false (0, NULL): one that may fail, such as
    # a compare-and-swap that loses a race, stores nothing there. Absent: the same as on success.
    fails: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # for the default scenario (extract/default_scenario.py): what a test of an entry's value says
    # of its kind (name -> (kinds when true, kinds when false)), the constants that are
    # descriptors (name -> descriptor text) and the bits that are flags (macro -> "nT" or "af")
    predicates: dict[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    bits: dict[str, str] = field(default_factory=dict)
    makes: dict[str, frozenset[str]] = field(default_factory=dict)  # constructor -> kinds it makes
    # [types] entries: the C types of a page-table entry; an assignment through a pointer to one
    # is a store, the call "=" with arguments (target, value)
    entry_types: frozenset[str] = frozenset()

    def knows(self, name: str) -> bool:
        """Whether the map gives the call ``name`` a meaning (then a same-file definition is not inlined)."""
        return name in self.primitives or name in self.dispatch or name in self.pure


MAX_EXTENDS = 4  # maps a map may extend through


def load_primitives(name_or_path: str | None, _chain: tuple[str, ...] = ()) -> PrimitiveMap:
    """A bundled map by name (default linux-kvm-arm64) or a TOML file. A file's top-level
    ``extends = "NAME"`` (a bundled map, or a file beside it) starts from that map: its own entries
    are added, and replace the other's of the same name."""
    name = name_or_path or "linux-kvm-arm64"
    if name in BUNDLED_MAPS:
        path = str(resources.files("bbmcheck.extract") / "primitives" / f"{name}.toml")
    else:
        path = name
        if not Path(path).is_file():
            raise InputError("<command-line>", 1, 1, f"no primitive map '{name}' (a file, or one of "
                             f"{', '.join(BUNDLED_MAPS)})" + did_you_mean(name, BUNDLED_MAPS))
    data, loc = _read_toml(path)
    f = _Fields(path, data, loc)
    sections = ("extends", "primitives", "fails", "dispatch", "pure", "types", "predicates", "values", "bits", "makes")
    for key in data:
        if key not in sections:
            raise InputError(path, *loc.key("", key), f"unknown section '{key}'" + did_you_mean(key, sections))
    base = None
    if "extends" in data:
        parent = data["extends"]
        where = loc.value("", "extends")
        if not isinstance(parent, str):
            raise InputError(path, *where, f"'extends' names one map (a bundled name or a file), not {_kind(parent)}")
        if parent not in BUNDLED_MAPS:
            parent = str(Path(path).parent / parent)
        if Path(parent).resolve() in {Path(p).resolve() for p in (*_chain, path)} or len(_chain) >= MAX_EXTENDS:
            raise InputError(path, *where, "'extends' goes round in a circle (or more than "
                             f"{MAX_EXTENDS} maps deep)")
        try:
            base = load_primitives(parent, (*_chain, path))
        except InputError as e:
            if e.file != "<command-line>":
                raise
            raise InputError(path, *where, f"extends: {e.message}") from None
    prims = _lines(path, f, loc, "primitives")
    fails = _lines(path, f, loc, "fails")
    if base is not None:
        prims, fails = {**base.primitives, **prims}, {**base.fails, **fails}
    for key in fails:
        if key not in prims:
            raise InputError(path, *loc.key("fails", key), f"[fails] {key!r} has no entry in [primitives]: "
                             "say what it does when it succeeds")
    dispatch = f.section("dispatch", "call = argument number")
    for key, n in dispatch.items():
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n < 32:
            raise InputError(path, *loc.value("dispatch", key),
                             f"[dispatch] {key!r} must be the 0-based number of the argument that names the "
                             f"operation (0..31), not {_kind(n) if not isinstance(n, int) else n}")
    pure_section = f.section("pure", "names = [calls that touch no page table]")
    for key in pure_section:
        if key != "names":
            raise InputError(path, *loc.key("pure", key), f"unknown key '{key}' in [pure] (expected names)"
                             + did_you_mean(key, ("names",)))
    pure = pure_section.get("names", [])
    if not isinstance(pure, list) or not all(isinstance(x, str) for x in pure):
        raise InputError(path, *loc.value("pure", "names"), "[pure] names must be a list of function names")
    predicates = _predicates(path, f, loc)
    values: dict[str, str] = {}
    for key, text in f.strings("values", "constant = descriptor").items():
        try:
            parse_descriptor(text)
        except DescriptorSyntaxError as e:
            chars = loc.string_chars(*loc.value("values", key))
            raise InputError(path, *chars[min(e.offset, len(chars) - 1)], e.message) from None
        values[_norm(key)] = text
    bits = {}
    for key, bit in f.strings("bits", "macro = \"nT\" or \"af\"").items():
        if bit not in ("nT", "af"):
            raise InputError(path, *loc.value("bits", key), f"bit '{bit}' is not modelled (nT or af)")
        bits[_norm(key)] = bit
    makes = {}
    for key, kind in f.section("makes", "constructor = kind").items():
        names = [kind] if isinstance(kind, str) else kind
        if not isinstance(names, list) or not names or any(n not in KIND_GROUPS for n in names):
            raise InputError(path, *loc.value("makes", key), f"[makes] {key!r}: a kind or a list of kinds ("
                             f"{', '.join(KIND_GROUPS)})")
        makes[_norm(key)] = frozenset(k for n in names for k in KIND_GROUPS[n])
    types = _entry_types(f, loc, prims, base)
    if base is not None:
        return PrimitiveMap(path, prims, {**base.dispatch, **dispatch}, base.pure | frozenset(pure), fails,
                            {**base.predicates, **predicates}, {**base.values, **values}, {**base.bits, **bits},
                            {**base.makes, **makes}, entry_types=types)
    return PrimitiveMap(path, prims, dict(dispatch), frozenset(pure), fails, predicates, values, bits, makes,
                        entry_types=types)


KINDS = ("invalid", "block", "page", "table")  # what an entry may hold, for the default scenario
KIND_GROUPS = {"valid": ("block", "page", "table"), "leaf": ("block", "page"), **{k: (k,) for k in KINDS}}


def _predicates(path: str, f: _Fields, loc: Locator) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """[predicates]: name = "valid" (true exactly for those kinds) or { true = [...], false = [...] }
    (what each answer allows; a kind in both is not decided by the test)."""
    out = {}
    for key, spec in f.section("predicates", "test = kind, or { true = [kinds], false = [kinds] }").items():
        where = loc.value("predicates", key)

        def kinds(names: Any, key: str = key, where: tuple[int, int] = where) -> frozenset[str]:
            names = [names] if isinstance(names, str) else names
            if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
                raise InputError(path, *where, f"[predicates] {key!r}: a kind or a list of kinds ("
                                 f"{', '.join(KIND_GROUPS)})")
            got: set[str] = set()
            for n in names:
                if n not in KIND_GROUPS:
                    raise InputError(path, *where, f"[predicates] {key!r}: unknown kind '{n}' (expected one of "
                                     f"{', '.join(KIND_GROUPS)})" + did_you_mean(n, KIND_GROUPS))
                got.update(KIND_GROUPS[n])
            return frozenset(got)

        if isinstance(spec, dict):
            unknown = [k for k in spec if k not in ("true", "false")]
            if unknown or "true" not in spec or "false" not in spec:
                raise InputError(path, *where, f"[predicates] {key!r}: {{ true = [kinds], false = [kinds] }}")
            yes, no = kinds(spec["true"]), kinds(spec["false"])
        else:
            yes = kinds(spec)
            no = frozenset(KINDS) - yes
        if yes | no != frozenset(KINDS):
            raise InputError(path, *where, f"[predicates] {key!r}: every kind must be allowed by one answer; "
                             f"{', '.join(sorted(frozenset(KINDS) - yes - no))} is by neither")
        out[_norm(key)] = (yes, no)
    return out


def _entry_types(f: _Fields, loc: Locator, prims: dict[str, tuple[str, ...]],
                 base: PrimitiveMap | None) -> frozenset[str]:
    """[types] entries = ["pte_t", ...]: the entry types, with the base map's; they need "=" in
    [primitives], what a store of one does."""
    section = f.section("types", "entries = [C type names of page-table entries]")
    for key in section:
        if key != "entries":
            raise f.err(loc.key("types", key), f"unknown key '{key}' in [types] (expected entries)"
                        + did_you_mean(key, ("entries",)))
    names = section.get("entries", [])
    if not isinstance(names, list) or not all(isinstance(x, str) and re.fullmatch(r"[A-Za-z_]\w*", x)
                                              for x in names):
        raise f.err(loc.value("types", "entries"), "[types] entries must be a list of C type names, "
                    "e.g. entries = [\"pte_t\"]")
    if names and "=" not in prims:
        raise f.err(loc.value("types", "entries"), "[types] entries needs \"=\" in [primitives]: what a "
                    "store to an entry does, e.g. \"=\" = [\"str {entry:0}, {desc:1}\"]")
    return frozenset(names) | (base.entry_types if base is not None else frozenset())


def expand_lines(templates: tuple[str, ...], fill: Callable[[str], str]) -> list[str]:
    """A primitive's lines with their placeholders filled (``fill``); a line ``when COND: LINE``
    only where COND holds, its parts joined by `` and ``: ``valid D``, ``invalid D``, ``table D``,
    ``leaf D`` (D a descriptor, such as {desc:1}) or ``A == B`` / ``A != B`` (words, such as
    {raw:6} == true). The condition is filled first, so LINE's placeholders are needed only
    where it holds."""
    out = []
    for template in templates:
        m = WHEN.match(template)
        if m is None:
            out.append(fill(template))
        elif all(_holds(part, fill) for part in m.group(1).split(" and ")):
            out.append(fill(m.group(2)))
    return out


def _holds(condition: str, fill: Callable[[str], str]) -> bool:
    m = _CONDITION.fullmatch(condition)
    assert m is not None  # checked when the map was loaded
    if m.group(1):
        desc = parse_descriptor(fill(m.group(2)))
        return {"valid": desc.valid, "invalid": not desc.valid, "table": desc.kind == "table",
                "leaf": desc.is_leaf}[m.group(1)]
    same = " ".join(fill(m.group(3)).split()) == " ".join(fill(m.group(5)).split())
    return same == (m.group(4) == "==")


def _lines(path: str, f: _Fields, loc: Locator, section: str) -> dict[str, tuple[str, ...]]:
    """[section]: name = [instruction lines], each placeholder checked."""
    out: dict[str, tuple[str, ...]] = {}
    for key, lines in f.section(section, "name = [instruction lines]").items():
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            what = "a primitive" if section == "primitives" else f"[{section}] {key!r}"
            raise InputError(path, *loc.value(section, key), f"{what} is a list of instruction lines")
        places = loc.array_items(section, key)
        for k, line in enumerate(lines):
            for m in re.finditer(r"\{[^}]*\}", line):
                if not PLACEHOLDER.fullmatch(m.group(0)):
                    chars = loc.string_chars(*places[k]) if k < len(places) else [loc.value(section, key)]
                    raise InputError(path, *chars[min(m.start(), len(chars) - 1)] if k < len(places) else chars[0],
                                     f"unknown placeholder {m.group(0)} (entry, desc, raw, ipa, span, ttl or "
                                     "table, ':N')")
            when = WHEN.match(line)
            bad = next((c for c in when.group(1).split(" and ") if not _CONDITION.fullmatch(c)), None) if when else (
                line if line.startswith("when ") else None)
            if bad is not None:
                where = loc.string_chars(*places[k])[0] if k < len(places) else loc.value(section, key)
                raise InputError(path, *where, f"'{bad}' is not a condition: write when valid {{desc:N}}: LINE "
                                 "(or invalid, table, leaf), or when {raw:N} == WORD: LINE")
        out[key] = tuple(lines)
    return out


@dataclass(frozen=True)
class PathSpec:
    name: str
    level: str
    skip: str = ""  # why the path is infeasible in this scenario
    where: tuple[int, int] = (1, 1)  # where the path's level (or the path) is written
    claims: dict[str, str] | None = None  # this path's [claims] (None: the scenario's, else the base model's)
    expect: str = ""  # claims-hold or claims-refuted ("": claims-hold, or the base model's with its claims)
    # this path's caller context, instead of the scenario's (None: the scenario's); where each line's quote is
    prologue: tuple[str, ...] | None = None
    epilogue: tuple[str, ...] | None = None
    prologue_at: tuple[tuple[int, int], ...] = ()
    epilogue_at: tuple[tuple[int, int], ...] = ()
    situations: tuple[str, ...] | None = None  # without a base: the default situations kept (None: all)


@dataclass
class Scenario:
    path: str
    base: str  # a bundled model name or a model file: tables, observers, claims
    prologue: tuple[str, ...]
    epilogue: tuple[str, ...]
    entries: dict[str, str]
    values: dict[str, Descriptor]
    bits: dict[str, str]
    addresses: dict[str, int]
    tables: dict[str, str]
    paths: dict[str, PathSpec] = field(default_factory=dict)
    loc: Locator | None = None
    prologue_at: tuple[tuple[int, int], ...] = ()  # where each prologue line's opening quote is
    epilogue_at: tuple[tuple[int, int], ...] = ()
    claims: dict[str, str] | None = None  # [claims] for every path (None: the base model's are kept)
    # without a base, the default scenario's tables and situations (extract/default_scenario.py),
    # of which these are kept (None: every one)
    situations: tuple[str, ...] | None = None
    used: set[str] = field(default_factory=set)  # the [paths] keys some path was found under

    def entry(self, expr: str) -> str | None:
        key = _norm(expr)
        return self.entries.get(key) or self.entries.get(key.lstrip("*&").strip("() "))

    def value(self, expr: str) -> Descriptor | None:
        return self.values.get(_norm(expr))

    def flag(self, name: str) -> str | None:
        return self.bits.get(_norm(name))


def _norm(expr: str) -> str:
    return " ".join(expr.split())


def set_bit(desc: Descriptor, bit: str, on: bool) -> Descriptor:
    if bit == "nT":
        return replace(desc, nt=on)
    return replace(desc, af=1 if on else 0)


PATH_KEYS = ("level", "name", "skip", "claims", "expect", "prologue", "epilogue", "situations")
# a default-scenario context line may name the target entry and its input address
CONTEXT_PLACEHOLDERS = {"{entry}": "T2[1]", "{ipa}": "0x200000"}
PATH_FORM = ('a path is { level = "L0", name = "..." } or { skip = "why it cannot happen" } (it may also have '
             'claims, expect, prologue and epilogue)')


def load_scenario(path: str) -> Scenario:
    """A scenario file. ``[claims]`` is every path's claims table (as a model's: an unnamed property
    holds); without it the base model's claims and expect are kept. A ``[paths]`` entry, keyed by
    the path's short name (``p2``) or its conditions, may give the path's level, name, skip, its own
    claims and expect, and its own prologue and epilogue (instead of the scenario's); it is an inline
    table or a ``[paths.p2]`` section. Every mistake is located where it is written."""
    data, loc = _read_toml(path)
    f = _Fields(path, data, loc)
    allowed = ("base", "prologue", "epilogue", "entries", "values", "bits", "addresses", "tables", "paths", "claims",
               "situations")
    for key in data:
        if key not in allowed:
            raise InputError(path, *loc.key("", key), f"unknown key '{key}'" + did_you_mean(key, allowed))
    if "base" in data and not isinstance(data["base"], str):
        raise InputError(path, *loc.value("", "base"), "base names a model (bundled or a file): the tables and vCPUs "
                         "the code runs on; without base, the default scenario's")
    base = data.get("base", "")
    for key in ("entries", "tables", "addresses") if not base else ("situations",):
        if key in data:
            raise InputError(path, *loc.key("", key), f"'{key}' needs " + ("a base model: without one the default "
                             "scenario names the entries, tables and addresses" if not base else
                             "no base: it chooses among the default scenario's situations"))
    situations = _situations(path, loc, data["situations"], loc.value("", "situations")) \
        if "situations" in data else None
    if base.endswith(".toml"):
        base = str((Path(path).parent / base).resolve()) if not Path(base).is_absolute() else base
    prologue, prologue_at = f.lines("prologue")
    epilogue, epilogue_at = f.lines("epilogue")
    for lines, places in ((prologue, prologue_at), (epilogue, epilogue_at)):
        for text, where in zip(lines, places, strict=True):
            _check_line(path, loc, text, where)
    entries = f.strings("entries", "pointer expression = \"T1[1]\"")
    for key, text in entries.items():
        if not ENTRY_RE.fullmatch(text.strip()):
            raise InputError(path, *loc.string_chars(*loc.value("entries", key))[0],
                             f"'{text}' is not a table entry; write <table>[<index>], e.g. T1[1]")
    values = {}
    for key, text in f.strings("values", "expression = descriptor").items():
        try:
            values[_norm(key)] = parse_descriptor(text)
        except DescriptorSyntaxError as e:
            chars = loc.string_chars(*loc.value("values", key))
            raise InputError(path, *chars[min(e.offset, len(chars) - 1)], e.message) from None
    bits = {}
    for key, bit in f.strings("bits", "macro = \"nT\" or \"af\"").items():
        if bit not in ("nT", "af"):
            raise InputError(path, *loc.value("bits", key), f"bit '{bit}' is not modelled (nT or af)")
        bits[key] = bit
    addresses = {}
    for key, text in f.strings("addresses", "expression = \"0x40000000\"").items():
        try:
            addresses[_norm(key)] = parse_number(text)
        except ValueError:
            raise InputError(path, *loc.value("addresses", key), f"'{text}' is not an address") from None
        if not 0 <= addresses[_norm(key)] < 1 << 48:
            raise InputError(path, *loc.value("addresses", key), f"address '{text}' is not in 0..2^48-1")
    tables = f.strings("tables", "expression = table name")
    top = _Place(loc, (1, 1), section="")
    claims = _claims(path, top, "claims", data["claims"], "[claims]") if "claims" in data else None
    paths = {}
    section = top.table("paths")
    for key, spec in f.section("paths", "path conditions (or short name) = { level = ..., name = ... }").items():
        place = section.table(key)
        if not isinstance(spec, dict) or not spec:
            raise InputError(path, *section.value(key), PATH_FORM)
        paths[key] = _path_spec(path, loc, key, spec, place)
    return Scenario(
        path=path,
        base=base,
        prologue=prologue,
        epilogue=epilogue,
        entries={_norm(k): v for k, v in entries.items()},
        values=values,
        bits=bits,
        addresses=addresses,
        tables={_norm(k): v for k, v in tables.items()},
        paths=paths,
        loc=loc,
        prologue_at=tuple(prologue_at),
        epilogue_at=tuple(epilogue_at),
        claims=claims,
        situations=situations,
    )


SITUATION_NAMES = (
    "invalid", "block", "table", "empty-table", "page",
    "invalid-to-block", "invalid-to-table", "block-to-invalid", "block-to-block-perm", "block-to-block-oa",
    "block-to-table", "table-to-invalid", "table-to-block", "table-to-table", "empty-table-to-invalid",
    "empty-table-to-block", "empty-table-to-table", "page-to-invalid", "page-to-page-perm", "page-to-page-oa")


def _situations(path: str, loc: Locator, value: Any, where: tuple[int, int]) -> tuple[str, ...]:
    """situations = ["block", "table-to-block"]: old kinds or situation names of the default scenario."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InputError(path, *where, "situations is a list of the default scenario's situations or old kinds, "
                         "e.g. situations = [\"block\", \"page\"]")
    for v in value:
        if v not in SITUATION_NAMES:
            raise InputError(path, *where, f"unknown situation '{v}' (one of {', '.join(SITUATION_NAMES)})"
                             + did_you_mean(v, SITUATION_NAMES))
    return tuple(value)


def _path_spec(path: str, loc: Locator, key: str, spec: dict[str, Any], place: _Place) -> PathSpec:
    """One [paths] entry, each field checked where it is written."""
    levels = tuple(level.value for level in FeatBBM)
    what = "a path"
    for field_name, value in spec.items():
        where = place.value(field_name)
        if field_name not in PATH_KEYS:
            raise InputError(path, *place.key(field_name), f"unknown key '{field_name}' in {what}"
                             + did_you_mean(field_name, PATH_KEYS))
        if field_name in ("claims", "prologue", "epilogue", "situations"):
            continue
        if not isinstance(value, str):
            raise InputError(path, *where, f"a path's {field_name} must be a string, not {_kind(value)}")
        if field_name == "level" and not _is_level(value):
            raise InputError(path, *where, f"unknown FEAT_BBM level '{value}' (expected one of "
                             f"{', '.join(levels)})" + did_you_mean(value, levels))
        if field_name == "expect" and value not in EXPECT_VALUES:
            raise InputError(path, *where, f"a path's expect must be one of {', '.join(EXPECT_VALUES)}, "
                             f"not {value!r}" + did_you_mean(value, EXPECT_VALUES))
    claims = _claims(path, place, "claims", spec["claims"], "a path's claims") if "claims" in spec else None
    context: dict[str, tuple[tuple[str, ...] | None, tuple[tuple[int, int], ...]]] = {}
    for part in ("prologue", "epilogue"):
        lines = spec.get(part)
        if lines is None:
            context[part] = (None, ())
            continue
        where = place.value(part)
        if not isinstance(lines, list):
            raise InputError(path, *where, f"a path's {part} is a list of instruction lines, e.g. "
                             f"{part} = [\"dsb ishst\"], not {_kind(lines)}")
        items = loc.array_items_at(*where) if place.found(part) else []
        places = [items[k] if k < len(items) else where for k in range(len(lines))]
        for text, at in zip(lines, places, strict=True):
            if not isinstance(text, str):
                raise InputError(path, *at, f"each line of a path's {part} must be a string, not {_kind(text)}")
            _check_line(path, loc, text, at)
        context[part] = (tuple(lines), tuple(places))
    situations = _situations(path, loc, spec["situations"], place.value("situations")) if "situations" in spec \
        else None
    return PathSpec(str(spec.get("name", "")), str(spec.get("level", "")), str(spec.get("skip", "")),
                    place.value("level") if "level" in spec else place.where, claims, str(spec.get("expect", "")),
                    context["prologue"][0], context["epilogue"][0], context["prologue"][1], context["epilogue"][1],
                    situations)


def _claims(path: str, place: _Place, key: str, value: Any, what: str) -> dict[str, str]:
    """A [claims] table (the scenario's or a path's): property = holds, violated or any."""
    if not isinstance(value, dict):
        raise InputError(path, *place.value(key), f"{what} must be a table of property = \"holds\" or "
                         f"\"violated\", not {_kind(value)}")
    table = place.table(key)
    for prop, claim in value.items():
        if prop not in PROPERTIES:
            raise InputError(path, *table.key(prop), f"unknown property '{prop}' in {what}"
                             + did_you_mean(prop, PROPERTIES))
        if not isinstance(claim, str) or claim not in CLAIM_VALUES:
            shown = repr(claim) if isinstance(claim, str) else _kind(claim)
            raise InputError(path, *table.value(prop), f"{what}: '{prop}' must be one of "
                             f"{', '.join(CLAIM_VALUES)}, not {shown}"
                             + (did_you_mean(claim, CLAIM_VALUES) if isinstance(claim, str) else ""))
    return dict(value)


class _Place:
    """Where the keys and values of one TOML table are written: a [section] (``section``), or an
    inline table ``{ ... }`` scanned from its opening brace; ``where`` stands for anything not found."""

    def __init__(self, loc: Locator, where: tuple[int, int], section: str | None = None,
                 brace: tuple[int, int] | None = None) -> None:
        self.loc, self.where, self.section = loc, where, section
        self.fields = loc.inline_fields(*brace) if brace is not None else None

    def found(self, name: str) -> bool:
        if self.fields is not None:
            return name in self.fields
        return self.section is not None and (self.loc.has_key(self.section, name)
                                             or self._header(name) is not None)

    def _header(self, name: str) -> tuple[int, int] | None:
        full = f"{self.section}.{name}" if self.section else name  # [full], or [full.sub] below it
        return next(((i + 1, 1) for i, header in self.loc.headers if header == full or header.startswith(full + ".")),
                    None)

    def key(self, name: str) -> tuple[int, int]:
        if self.fields is not None:
            return self.fields[name][0] if name in self.fields else self.where
        if self.section is not None and self.found(name):
            return self.loc.key(self.section, name)
        return self.where

    def value(self, name: str) -> tuple[int, int]:
        if self.fields is not None:
            return self.fields[name][1] if name in self.fields else self.where
        if self.section is not None and self.found(name):
            return self.loc.value(self.section, name)
        return self.where

    def table(self, name: str) -> _Place:
        """The place of the table that is the value of ``name``."""
        if self.section is not None and self.fields is None and self._header(name) is not None:
            return _Place(self.loc, self.loc.key(self.section, name),
                          section=f"{self.section}.{name}" if self.section else name)
        line, col = self.value(name)
        text = self.loc.lines[line - 1] if 0 < line <= len(self.loc.lines) else ""
        if self.found(name) and text[col - 1:col] == "{":
            return _Place(self.loc, (line, col), brace=(line, col))
        return _Place(self.loc, (line, col))


def _is_level(text: str) -> bool:
    try:
        FeatBBM.parse(text)
    except ValueError:
        return False
    return True


def _check_line(path: str, loc: Locator, text: str, where: tuple[int, int]) -> None:
    """A prologue or epilogue line is an instruction: checked now, where the scenario wrote it."""
    chars = loc.string_chars(*where)
    for name, example in CONTEXT_PLACEHOLDERS.items():
        text = text.replace(name, example)  # checked as the default scenario fills it
    try:
        parse_line(text, file=path, line=1, col=1, descriptors={})
    except InputError as e:
        raise InputError(path, *chars[min(e.col - 1, len(chars) - 1)], e.message) from None
