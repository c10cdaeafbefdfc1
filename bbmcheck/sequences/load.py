"""Read a model file (TOML) into a :class:`Sequence`, with every error located ``file:line:col``.

Bundled models are found by name (``ttrem1``) in the installed package or the source tree.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..arch.config import FeatBBM
from ..arch.descriptors import (
    ENTRIES_PER_TABLE,
    Descriptor,
    DescriptorSyntaxError,
    check_at_level,
    field_offset,
    parse_descriptor,
    size_at,
)
from ..arch.rules import PROPERTIES
from ..errors import InputError, did_you_mean
from .locate import MAX_NESTING, Locator, key_depth, too_deep
from .parse_asm import parse_line, parse_number
from .schema import CLAIM_VALUES, EXPECT_VALUES, Instr, Sequence, TableDecl

TOP_KEYS = ("name", "title", "source", "level", "description", "expect", "program", "descriptors", "tables",
            "observers", "claims")
TABLE_KEYS = ("level", "root", "entries")
OBSERVER_KEYS = ("vcpus", "addresses")
MAX_VCPUS = 64  # the most vCPUs a model file or trace names, and the most a search is given
LEVEL_NAMES = tuple(level.value for level in FeatBBM)


def models_dir() -> Path:
    """The bundled models: package data when installed, ``models/`` in a source checkout."""
    here = Path(__file__).resolve().parent.parent
    if (here / "_bundled_models").is_dir():  # an installed package, unpacked (what pip installs)
        return here / "_bundled_models"
    from importlib import resources  # only here: importing it costs a tenth of a second's start-up budget

    packaged = resources.files("bbmcheck") / "_bundled_models"
    if packaged.is_dir():
        return Path(str(packaged))
    return here.parent / "models"


def bundled_models() -> dict[str, Path]:
    root = models_dir()
    found = {p.stem: p for p in sorted(root.rglob("*.toml"))} if root.is_dir() else {}
    return dict(sorted(found.items()))


def resolve(name_or_path: str) -> Path:
    """A bundled model name or a path to a model file."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or "/" in name_or_path or path.exists():
        if path.is_dir():
            raise InputError(name_or_path, 1, 1, f"'{name_or_path}' is a folder, not a model file")
        if not path.is_file():
            raise InputError(name_or_path, 1, 1, f"no such model file '{name_or_path}'")
        return path
    models = bundled_models()
    if name_or_path in models:
        return models[name_or_path]
    raise InputError(
        "<command-line>", 1, 1,
        f"no bundled model named '{name_or_path}'" + did_you_mean(name_or_path, models)
        + " (run 'bbmcheck list')",
    )


def load_model(name_or_path: str) -> Sequence:
    path = resolve(name_or_path)
    shown = str(path) if not str(path).startswith(str(models_dir())) else f"models/{path.relative_to(models_dir())}"
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # e.start is a byte offset into the whole file: point at the line and character it falls on
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        col = len(raw[line_start:e.start].decode("utf-8")) + 1
        raise InputError(shown, raw.count(b"\n", 0, e.start) + 1, col, "model file is not UTF-8 text") from None
    except OSError as e:
        raise InputError(shown, 1, 1, f"cannot read model file: {e.strerror}") from None
    return load_text(text, shown, sha256=hashlib.sha256(raw).hexdigest(), default_name=path.stem)


BOM = "\ufeff"


def parse_toml(text: str, file: str) -> tuple[dict[str, Any], Locator]:
    """TOML text (a leading UTF-8 byte-order mark ignored, as editors do) -> (data, locator); every
    failure located, including nesting deep enough to exhaust the parser's recursion."""
    text = text.removeprefix(BOM)
    deep = too_deep(text)
    if deep is not None:
        raise InputError(file, *deep, f"arrays or inline tables nested more than {MAX_NESTING} deep; "
                         "nothing in this file needs more than a few levels")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line, col, msg = _toml_error_position(text, e)
        raise InputError(file, line, col, "invalid TOML: " + msg.replace("\n", "\\n")) from None
    except (RecursionError, ValueError, MemoryError) as e:  # e.g. an integer of more than 4300 digits
        long = re.search(r"[0-9_]{4000,}", text)
        if long:
            line = text.count("\n", 0, long.start()) + 1
            digits = long.end() - long.start()
            raise InputError(file, line, long.start() - text.rfind("\n", 0, long.start()),
                             f"a number of {digits} digits; no value here needs more than 20") from None
        raise InputError(file, 1, 1, f"invalid TOML: {type(e).__name__}: {str(e)[:200]}") from None
    loc = Locator(text)
    path = key_depth(data)
    if path is not None:
        part = r"\s*(?:[A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*"
        dotted = re.compile(part + r"(?:\." + part + "){" + str(MAX_NESTING // 2) + ",}")
        hit = next(((n, m.start()) for n, line in enumerate(loc.lines) for m in [dotted.search(line)] if m), None)
        where = loc.key("", path[0])
        if hit is not None:  # the dotted key or [header] itself, after its indentation and '['
            rest = loc.lines[hit[0]][hit[1]:]
            where = (hit[0] + 1, hit[1] + 1 + len(rest) - len(rest.lstrip(" \t[")))
        raise InputError(file, *where, f"tables nested more than {MAX_NESTING} deep under '{path[0]}'; "
                         "nothing in this file needs more than a few levels")
    return data, loc


def load_text(text: str, file: str, *, sha256: str = "", default_name: str = "model") -> Sequence:
    data, loc = parse_toml(text, file)
    return _Loader(loc, file, data, sha256 or hashlib.sha256(text.encode()).hexdigest(), default_name).load()


def _toml_error_position(text: str, e: tomllib.TOMLDecodeError) -> tuple[int, int, str]:
    """(line, col, message) for a tomllib error, pointing where the mistake was written.

    Python < 3.14 puts the position only in the message: "... (at line 3, column 7)" or "... (at end
    of document)". tomllib notices an unclosed string or a repeated key only further on; these
    are moved back to the opening quote and to the repeated key.
    """
    msg = str(e)
    lines = text.split("\n")
    m = re.search(r"\(at line (\d+), column (\d+)\)$", msg)
    if m:
        line, col, msg = int(m.group(1)), int(m.group(2)), msg[: m.start()].strip()
        if msg.startswith("Unescaped '\\'"):  # tomllib stands after the string: point at the backslash
            back = lines[line - 1].rfind("\\", 0, col - 1)
            if back >= 0:
                return line, back + 1, msg
        if msg == "Illegal character '\\n'":
            opened = max(lines[line - 1].rfind(q, 0, col - 1) for q in "\"'")
            if opened >= 0:
                return line, opened + 1, "unterminated string (a one-line string must end on its line)"
        if msg in ("Cannot overwrite a value", "Unclosed array", "Unclosed inline table") or re.match(
                r"Cannot declare .* twice$", msg):
            # tomllib stands after the repeated or unclosed value (or header), maybe lines below: point at its key
            loc = Locator(text)
            line, col = loc.statement_start(line)
            if msg.startswith("Cannot overwrite"):
                msg += _misplaced_repeat(loc, line) or " (the key is already set above)"
        return line, col, msg
    if not msg.endswith("(at end of document)"):
        return getattr(e, "lineno", 1), getattr(e, "colno", 1), msg
    msg = msg[: -len("(at end of document)")].strip()
    quote = {"Expected \"'''\"": "'", "Expected \"'\"": "'", "Unterminated string": '"'}.get(msg)
    if quote:
        # nothing after an unclosed string closes it, so the last such quote in the file opened it
        at = text.rfind(quote)
        opener = quote * 3 if text[max(0, at - 2):at + 1] == quote * 3 else quote
        at -= len(opener) - 1
        line = text.count("\n", 0, at) + 1
        return line, at - (text.rfind("\n", 0, at) + 1) + 1, f"unterminated string (no closing {opener})"
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return len(lines), len(lines[-1]) + 1, msg + " (reached the end of the file)"


class _Loader:
    def __init__(self, loc: Locator, file: str, data: dict[str, Any], sha256: str, default_name: str) -> None:
        self.file = file
        self.data = data
        self.loc = loc
        self.sha256 = sha256
        self.default_name = default_name
        self.link_where: dict[tuple[str, int], tuple[int, int]] = {}  # (table, index) -> linked name's position
        self.warnings: list[str] = []
        self.prog_pos: list[tuple[list[tuple[int, int]], int]] = []  # per instruction: (char positions, start)

    def in_string(self, section: str, key: str, offset: int) -> tuple[int, int]:
        """Where character ``offset`` of the string value of ``key`` was written (escapes and line
        continuations accounted for)."""
        chars = self.loc.string_chars(*self.loc.value(section, key))
        return chars[min(max(offset, 0), len(chars) - 1)]

    def at_instr(self, pc: int, offset: int) -> tuple[int, int]:
        """Where character ``offset`` of instruction ``pc``'s text was written."""
        chars, start = self.prog_pos[pc]
        return chars[min(start + max(offset, 0), len(chars) - 1)]

    def err(self, where: tuple[int, int], message: str) -> InputError:
        return InputError(self.file, where[0], where[1], message)

    def _check_keys(self, section: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                hint = _misplaced_hint(section) if section and key in TOP_KEYS else did_you_mean(key, allowed)
                raise self.err(self.loc.key(section, key), f"unknown key '{key}'{hint}")

    def _check_misplaced(self) -> None:
        """A required top-level key written below a [section] header is in that section (TOML rule):
        say so where it was written, before that section's own checks give a puzzling error."""
        for key in ("level", "program"):
            if key in self.data:
                continue
            for section, table in _sections(self.data):
                if key in table and not (section.startswith("tables.") and key in TABLE_KEYS):
                    raise self.err(self.loc.key(section, key),
                                   f"top-level key '{key}' is inside [{section}]" + _misplaced_hint(section))

    def _str(self, section: str, table: dict[str, Any], key: str, default: str | None = None) -> str:
        if key not in table:
            if default is None:
                raise self.err(self.loc.section(section) if section else (1, 1), f"missing required key '{key}'")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.err(self.loc.value(section, key), f"'{key}' must be a string")
        return value

    def load(self) -> Sequence:
        d = self.data
        self._check_keys("", d, TOP_KEYS)
        self._check_misplaced()
        name = self._str("", d, "name", self.default_name)
        level_text = self._str("", d, "level")
        try:
            level = FeatBBM.parse(level_text)
        except ValueError:
            raise self.err(
                self.loc.value("", "level"),
                f"unknown FEAT_BBM level '{level_text}' (expected one of {', '.join(LEVEL_NAMES)})",
            ) from None
        descriptors = self._descriptors()
        tables = self._tables()
        program = self._program(descriptors)
        root_level = next(t.level for t in tables if t.root)
        vcpus, addresses = self._observers(ENTRIES_PER_TABLE * size_at(root_level))
        claims = self._claims()
        self._str("", d, "description", "")  # not used by the checker, but a string when given
        expect = self._str("", d, "expect", "claims-hold")
        if expect not in EXPECT_VALUES:
            raise self.err(self.loc.value("", "expect"),
                           f"expect must be one of {', '.join(EXPECT_VALUES)}, got {expect!r}")
        seq = Sequence(
            name=name,
            title=self._str("", d, "title", name),
            source=self._str("", d, "source", ""),
            path=self.file,
            level=level,
            tables=tables,
            program=program,
            vcpus=vcpus,
            addresses=addresses,
            claims=claims,
            claimed="claims" in d,
            sha256=self.sha256,
            expect=expect,
            warnings=tuple(self.warnings),
        )
        self._check_tree(seq)
        return seq

    def _descriptors(self) -> dict[str, Descriptor]:
        section = self.data.get("descriptors", {})
        if not isinstance(section, dict):
            raise self.err(self.loc.key("", "descriptors"), "'descriptors' must be a table")
        out = {}
        for key, value in section.items():
            out[key] = self._descriptor("descriptors", key, value)
        return out

    def _descriptor(self, section: str, key: str, value: Any) -> Descriptor:
        if not isinstance(value, str):
            raise self.err(self.loc.value(section, key), "a descriptor must be a string, e.g. \"block oa=0x80000000\"")
        odd = next((k for k, c in enumerate(value) if not (c.isascii() and (c.isprintable() or c == " "))), None)
        if odd is not None:
            raise self.err(self.in_string(section, key, odd),
                           f"character {value[odd]!r} in a descriptor: descriptors are written in ASCII")
        try:
            return parse_descriptor(value)
        except DescriptorSyntaxError as e:
            hint = f" (top-level key '{key}' is inside [{section}]{_misplaced_hint(section)})"
            raise self.err(self.in_string(section, key, e.offset),
                           e.message + (hint if key in TOP_KEYS else "")) from None

    def _tables(self) -> tuple[TableDecl, ...]:
        section = self.data.get("tables")
        if "tables" in self.data and not isinstance(section, dict):
            raise self.err(self.loc.value("", "tables") if self.loc.has_key("", "tables") else
                           self.loc.key("", "tables"), "'tables' must be [tables.<name>] sections, not a value")
        if not isinstance(section, dict) or not section:
            where = self.loc.key("", "tables") if "tables" in self.data else (1, 1)
            raise self.err(where, "missing [tables.<name>] sections: the translation tables before the update")
        out = []
        for name, body in section.items():
            sec = f"tables.{name}"
            if not isinstance(body, dict):
                raise self.err(self.loc.key("tables", name), f"table '{name}' must be a table")
            self._check_keys(sec, body, TABLE_KEYS)
            lvl = body.get("level")
            if not isinstance(lvl, int) or isinstance(lvl, bool) or not 0 <= lvl <= 3:
                where = self.loc.value(sec, "level") if "level" in body else self.loc.section(sec)
                raise self.err(where, f"table '{name}' needs level = 0..3")
            root = body.get("root", False)
            if not isinstance(root, bool):
                raise self.err(self.loc.value(sec, "root"), "'root' must be true or false")
            entries_raw = body.get("entries", {})
            if not isinstance(entries_raw, dict):
                raise self.err(self.loc.value(sec, "entries"), "'entries' must be a table of index = descriptor")
            entries = []
            written: dict[int, str] = {}
            for key, value in entries_raw.items():
                try:
                    index = parse_number(key) if key[:1] not in ("+", "-") else -1
                except ValueError:
                    index = -1
                if not 0 <= index < 512:
                    raise self.err(self.loc.key(sec, key), f"entry index {key!r} is not a number in 0..511"
                                   + (" (write indices in ASCII digits)" if not key.isascii() else ""))
                if index in written:
                    raise self.err(self.loc.key(sec, key), f"entry {index} of table '{name}' is given twice "
                                   f"(as {written[index]!r} and {key!r})")
                written[index] = key
                desc = self._descriptor(sec, key, value)
                bad = check_at_level(desc, lvl)
                if bad:
                    raise self.err(self.in_string(sec, key, field_offset(value, bad[0])), bad[1])
                if desc.kind == "table":  # where the linked table's name is written, for _check_tree
                    self.link_where[(name, index)] = self.in_string(sec, key, value.rindex(desc.next_table))
                entries.append((index, desc))
            links = tuple((i, *self.link_where[(name, i)]) for i, _ in sorted(entries, key=lambda e: e[0])
                          if (name, i) in self.link_where)
            out.append(TableDecl(name, lvl, root, tuple(sorted(entries, key=lambda e: e[0])),
                                 self.loc.section(sec)[0], links))
        roots = [t for t in out if t.root]
        if len(roots) != 1:
            where = self.loc.key(f"tables.{roots[1].name}", "root") if len(roots) > 1 else (1, 1)
            raise self.err(where, f"exactly one table must have root = true (found {len(roots)})")
        return tuple(out)

    def _program(self, descriptors: dict[str, Descriptor]) -> tuple[Instr, ...]:
        text = self._str("", self.data, "program")
        chars = self.loc.string_chars(*self.loc.value("", "program"))
        if len(chars) != len(text) + 1:  # not expected: fall back to one column per character
            ln, cl = self.loc.multiline_string_start("", "program")
            chars = []
            for c in text + "\n":
                chars.append((ln, cl))
                ln, cl = (ln + 1, 1) if c == "\n" else (ln, cl + 1)
        out = []
        start = 0
        for row in text.split("\n"):
            pos = chars[start:start + len(row) + 1]
            start += len(row) + 1

            def moved(e: InputError, pos: list[tuple[int, int]] = pos) -> InputError:
                # parse_line counts columns from 1 on the decoded line; point into the file instead
                return InputError(e.file, *pos[min(e.col - 1, len(pos) - 1)], e.message)

            def warn(w: InputError, moved: Callable[[InputError], InputError] = moved) -> None:
                self.warnings.append(moved(w).render("warning"))

            try:
                instr = parse_line(row, file=self.file, line=1, col=1, descriptors=descriptors,  # type: ignore[arg-type]
                                   warn=warn)
            except InputError as e:
                raise moved(e) from None
            if instr is not None:
                self.prog_pos.append((pos, instr.col - 1))
                out.append(replace(instr, line=pos[instr.col - 1][0], col=pos[instr.col - 1][1]))
        if not out:
            raise self.err(self.loc.value("", "program"), "the program has no instructions")
        return tuple(out)

    def _observers(self, span: int) -> tuple[int, tuple[int, ...] | None]:
        section = self.data.get("observers", {})
        if not isinstance(section, dict):
            raise self.err(self.loc.key("", "observers"), "'observers' must be a table")
        self._check_keys("observers", section, OBSERVER_KEYS)
        vcpus = section.get("vcpus", 2)
        if not isinstance(vcpus, int) or isinstance(vcpus, bool) or not 1 <= vcpus <= MAX_VCPUS:
            raise self.err(self.loc.value("observers", "vcpus"), f"vcpus must be a whole number 1..{MAX_VCPUS}")
        if "addresses" not in section:
            return vcpus, None
        raw = section["addresses"]
        if not isinstance(raw, list) or not raw:
            raise self.err(self.loc.value("observers", "addresses"), "addresses must be a non-empty list")
        addrs = []
        places = self.loc.array_items("observers", "addresses")
        for k, item in enumerate(raw):
            # by position in the array: searching for the text would find "0x1000" inside "0x10000"
            where = places[k] if k < len(places) else self.loc.value("observers", "addresses")
            if isinstance(item, str):
                where = self.loc.string_chars(*where)[0]  # inside the quotes, like a descriptor's fields
            try:
                value = parse_number(item) if isinstance(item, str) else item
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError
            except ValueError:
                raise self.err(where, f"address {_show(item)} is not a number") from None
            if value < 0 or value >= 1 << 48 or value % 4096:
                raise self.err(where, f"address {value:#x} must be a 4 KiB-aligned IPA below 2^48")
            if value >= span:
                raise self.err(where, f"address {value:#x} is outside the {span:#x} bytes the root table maps")
            addrs.append(value)
        return vcpus, tuple(sorted(set(addrs)))

    def _claims(self) -> dict[str, str]:
        section = self.data.get("claims", {})
        if not isinstance(section, dict):
            raise self.err(self.loc.key("", "claims"), "'claims' must be a table of property = holds|violated|any")
        claims = {p: "holds" for p in PROPERTIES}
        for key, value in section.items():
            if key not in PROPERTIES:
                hint = _misplaced_hint("claims") if key in TOP_KEYS else did_you_mean(key, PROPERTIES)
                raise self.err(self.loc.key("claims", key), f"unknown property '{key}'{hint}")
            if value not in CLAIM_VALUES:
                raise self.err(
                    self.loc.value("claims", key),
                    f"claim for '{key}' must be one of {', '.join(CLAIM_VALUES)}, got {_show(value)}",
                )
            claims[key] = value
        return claims

    def _check_tree(self, seq: Sequence) -> None:
        """Table links name declared tables one level down; stores and frees name declared tables."""
        levels = {t.name: t.level for t in seq.tables}

        def check_link(desc: Descriptor, parent_level: int, where: tuple[int, int]) -> None:
            if desc.kind != "table":
                return
            if desc.next_table not in levels:
                raise self.err(where, f"unknown table '{desc.next_table}'" + did_you_mean(desc.next_table, levels))
            if levels[desc.next_table] != parent_level + 1:
                raise self.err(
                    where,
                    f"table '{desc.next_table}' is level {levels[desc.next_table]} but is linked from a "
                    f"level-{parent_level} entry (expected level {parent_level + 1})",
                )

        for t in seq.tables:
            for index, desc in t.entries:
                check_link(desc, t.level, self.link_where.get((t.name, index), (t.line, 1)))
        root_level = next(t.level for t in seq.tables if t.root)
        span = ENTRIES_PER_TABLE * size_at(root_level)
        for pc, ins in enumerate(seq.program):
            if ins.op == "tlbi" and ins.ipa is not None and ins.ipa >= span:
                ipos = len(ins.text) - len(ins.text[ins.text.index(",") + 1:].lstrip())
                raise self.err(self.at_instr(pc, ipos), f"IPA {ins.ipa:#x} is outside the {span:#x} bytes the "
                               f"root table (level {root_level}) maps, so no walk reaches it")
            if ins.is_store:
                assert ins.loc is not None and ins.desc is not None
                if ins.loc.table not in levels:
                    raise self.err(self._operand(pc, ins, ins.loc.table), f"store to unknown table '{ins.loc.table}'"
                                   + did_you_mean(ins.loc.table, levels))
                # the descriptor operand follows the entry's ', '
                dpos = len(ins.text) - len(ins.text[ins.text.index(",") + 1:].lstrip())
                bad = check_at_level(ins.desc, levels[ins.loc.table])
                if bad:
                    at = dpos + field_offset(ins.text[dpos:], bad[0])
                    raise self.err(self.at_instr(pc, at), bad[1])
                if ins.desc.kind == "table":
                    check_link(ins.desc, levels[ins.loc.table], self._operand(pc, ins, ins.desc.next_table, dpos))
            if ins.op == "free" and ins.table not in levels:
                raise self.err(self._operand(pc, ins, ins.table),
                               f"free of unknown table '{ins.table}'" + did_you_mean(ins.table, levels))

    def _operand(self, pc: int, ins: Instr, word: str, start: int = 0) -> tuple[int, int]:
        """Where ``word`` is written among the operands of instruction ``pc``."""
        at = ins.text.find(word, max(start, len(ins.text.split(None, 1)[0])))
        return self.at_instr(pc, at if at >= 0 else start)


def _show(value: Any) -> str:
    """A TOML value in a message: short, whatever was written."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _misplaced_repeat(loc: Locator, line: int) -> str:
    """For a key set twice: when it is a top-level key that the top level lacks, written below a
    [section] header that already has it (``level = "L1"`` after [tables.T1]), the misplaced-key hint."""
    m = re.match(r"\s*[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", loc.lines[line - 1])
    key, section = (m.group(1) if m else ""), loc.section_of(line)
    if key not in TOP_KEYS or not section or loc.has_key("", key):
        return ""
    return f" (top-level key '{key}' is inside [{section}]{_misplaced_hint(section)})"


def _misplaced_hint(section: str) -> str:
    return (f": in TOML a key after the [{section}] header belongs to that section; a top-level key "
            "must come first, so put it before the first header")


def _sections(data: dict[str, Any], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every [section] below the top level, dotted names first to last, sub-sections included."""
    def below(pre: str, table: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{pre}.{key}" if pre else key, value) for key, value in table.items() if isinstance(value, dict)]

    out = []
    stack = below(prefix, data)[::-1]
    while stack:  # iterative pre-order: deep dotted keys do not recurse
        name, table = stack.pop()
        out.append((name, table))
        stack += below(name, table)[::-1]
    return out
