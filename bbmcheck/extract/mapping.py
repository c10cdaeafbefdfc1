"""The two inputs that give code a meaning: the primitive map (what each helper does) and the
scenario (which table entry a pointer names, which descriptor an expression computes, which
FEAT_BBM level each path targets, and the caller's context before and after the function)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..arch.descriptors import Descriptor, DescriptorSyntaxError, parse_descriptor, parse_int
from ..errors import InputError, did_you_mean
from ..sequences.locate import Locator

PLACEHOLDER = re.compile(r"\{(entry|desc|raw|ipa|table):(\d+)\}")
BUNDLED_MAPS = ("linux-kvm-arm64", "xen-arm", "gunyah")


def _read_toml(path: str) -> tuple[dict[str, Any], Locator]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, 1, 1, f"cannot read: {e}") from None
    try:
        return tomllib.loads(text), Locator(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column (\d+)\)$", str(e))
        line, col = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        raise InputError(path, line, col, f"invalid TOML: {str(e)[: m.start()].strip() if m else e}") from None


@dataclass(frozen=True)
class PrimitiveMap:
    path: str
    primitives: dict[str, tuple[str, ...]]
    dispatch: dict[str, int]
    pure: frozenset[str]


def load_primitives(name_or_path: str | None) -> PrimitiveMap:
    """A bundled map by name (default linux-kvm-arm64) or a TOML file."""
    name = name_or_path or "linux-kvm-arm64"
    if name in BUNDLED_MAPS:
        path = str(resources.files("bbmcheck.extract") / "primitives" / f"{name}.toml")
    else:
        path = name
        if not Path(path).is_file():
            raise InputError("<command-line>", 1, 1, f"no primitive map '{name}' (a file, or one of "
                             f"{', '.join(BUNDLED_MAPS)})" + did_you_mean(name, BUNDLED_MAPS))
    data, loc = _read_toml(path)
    for key in data:
        if key not in ("primitives", "dispatch", "pure"):
            raise InputError(path, *loc.key("", key), f"unknown section '{key}'"
                             + did_you_mean(key, ("primitives", "dispatch", "pure")))
    prims: dict[str, tuple[str, ...]] = {}
    for key, lines in data.get("primitives", {}).items():
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise InputError(path, *loc.value("primitives", key), "a primitive is a list of instruction lines")
        for line in lines:
            for m in re.finditer(r"\{[^}]*\}", line):
                if not PLACEHOLDER.fullmatch(m.group(0)):
                    raise InputError(path, *loc.value("primitives", key),
                                     f"unknown placeholder {m.group(0)} (entry, desc, raw, ipa or table, ':N')")
        prims[key] = tuple(lines)
    pure = data.get("pure", {}).get("names", [])
    return PrimitiveMap(path, prims, dict(data.get("dispatch", {})), frozenset(pure))


@dataclass(frozen=True)
class PathSpec:
    name: str
    level: str
    skip: str = ""  # why the path is infeasible in this scenario


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

    def entry(self, expr: str) -> str | None:
        key = _norm(expr)
        return self.entries.get(key) or self.entries.get(key.lstrip("*").strip("() "))

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


def load_scenario(path: str) -> Scenario:
    data, loc = _read_toml(path)
    allowed = ("base", "prologue", "epilogue", "entries", "values", "bits", "addresses", "tables", "paths")
    for key in data:
        if key not in allowed:
            raise InputError(path, *loc.key("", key), f"unknown key '{key}'" + did_you_mean(key, allowed))
    if not isinstance(data.get("base"), str):
        raise InputError(path, 1, 1, "a scenario needs base = \"<model>\": the tables and vCPUs the code runs on")
    base = data["base"]
    if base.endswith(".toml"):
        base = str((Path(path).parent / base).resolve()) if not Path(base).is_absolute() else base
    values = {}
    for key, text in data.get("values", {}).items():
        try:
            values[_norm(key)] = parse_descriptor(str(text))
        except DescriptorSyntaxError as e:
            line, col = loc.value("values", key)
            raise InputError(path, line, col + 1 + e.offset, e.message) from None
    bits = {}
    for key, bit in data.get("bits", {}).items():
        if bit not in ("nT", "af"):
            raise InputError(path, *loc.value("bits", key), f"bit '{bit}' is not modelled (nT or af)")
        bits[key] = bit
    addresses = {}
    for key, text in data.get("addresses", {}).items():
        try:
            addresses[_norm(key)] = parse_int(str(text))
        except ValueError:
            raise InputError(path, *loc.value("addresses", key), f"'{text}' is not an address") from None
    paths = {}
    for key, spec in data.get("paths", {}).items():
        if not isinstance(spec, dict) or ("level" not in spec and "skip" not in spec):
            raise InputError(path, *loc.value("paths", key),
                             "a path is { level = \"L0\", name = \"...\" } or { skip = \"why it cannot happen\" }")
        paths[key] = PathSpec(str(spec.get("name", "")), str(spec.get("level", "")), str(spec.get("skip", "")))
    return Scenario(
        path=path,
        base=base,
        prologue=tuple(data.get("prologue", ())),
        epilogue=tuple(data.get("epilogue", ())),
        entries={_norm(k): str(v) for k, v in data.get("entries", {}).items()},
        values=values,
        bits=bits,
        addresses=addresses,
        tables={_norm(k): str(v) for k, v in data.get("tables", {}).items()},
        paths=paths,
        loc=loc,
    )
