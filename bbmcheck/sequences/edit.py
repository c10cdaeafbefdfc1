"""Build and edit sequences in code: the same objects (and the same checks) as the TOML loader.

    from bbmcheck.sequences.edit import sequence, edit
    from bbmcheck.sequences.load import load_model

    seed = load_model("ttrem1")
    no_dsb = edit(seed, drop=[1])                      # the seed minus its 'dsb ishst'
    moved = edit(seed, move_root=2, oa_shift=1 << 30, rename={"T2": "PMD"})
    fixed = edit(seed, insert={9: ["dsb ishst", "tlbi vmalls12e1is", "dsb ish"]})
    tiny = sequence("tiny", level="L0",
                    tables={"T1": {"level": 1, "root": True, "entries": {1: "block oa=0x40000000"}}},
                    program=["str T1[1], invalid", "dsb ish"])

Everything goes through TOML text and :func:`load_text`, so a sequence built in code is checked
exactly as a file is, and errors point at the generated text (``<code:NAME>``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..arch.config import FeatBBM
from ..arch.descriptors import size_at
from .load import load_text
from .schema import Instr, Sequence


def _q(text: str) -> str:
    return json.dumps(text)


def instr_text(ins: Instr, move: tuple[str, int, int] = ("", 0, 0), oa_shift: int = 0) -> str:
    """An instruction as a program line, descriptors written inline (no names needed).

    ``move`` = (root table, entries, bytes per entry) moves the region's IPA by whole root entries;
    ``oa_shift`` moves every output address."""
    root, entries, size = move
    if ins.is_store:
        assert ins.loc is not None and ins.desc is not None
        index = ins.loc.index + (entries if ins.loc.table == root else 0)
        desc = replace(ins.desc, oa=ins.desc.oa + oa_shift) if ins.desc.is_leaf else ins.desc
        return f"{ins.op} {ins.loc.table}[{index}], {desc.text()}"
    if ins.op == "tlbi" and ins.ipa is not None:
        ttl = f", ttl={ins.ttl}" if ins.ttl is not None else ""
        return f"tlbi {ins.option}, {ins.ipa + entries * size:#x}{ttl}"
    return " ".join(ins.text.split("//")[0].split())


def to_toml(seq: Sequence, program: Iterable[str] | None = None, **over: Any) -> str:
    lines = program if program is not None else [instr_text(i) for i in seq.program]
    level = over.get("level", seq.level)
    level = level.value if isinstance(level, FeatBBM) else str(level)
    out = [
        f"name = {_q(over.get('name', seq.name))}",
        f"title = {_q(over.get('title', seq.title))}",
        f"source = {_q(over.get('source', seq.source))}",
        f"level = {_q(level)}",
        f"expect = {_q(over.get('expect', seq.expect))}",
        "program = '''",
        *lines,
        "'''",
        "",
    ]
    renames: Mapping[str, str] = over.get("rename", {})
    move: int = over.get("move_root", 0)
    oa_shift: int = over.get("oa_shift", 0)
    for t in seq.tables:
        out.append(f"[tables.{renames.get(t.name, t.name)}]")
        out.append(f"level = {t.level}")
        out.append(f"root = {'true' if t.root else 'false'}")
        moved = [(i + (move if t.root else 0), replace(d, oa=d.oa + oa_shift) if d.is_leaf else d)
                 for i, d in t.entries]
        entries = ", ".join(f'{i} = {_q(_rename_desc(d.text(), renames))}' for i, d in moved)
        out.append(f"entries = {{ {entries} }}")
        out.append("")
    vcpus = over.get("vcpus", seq.vcpus)
    out.append("[observers]")
    out.append(f"vcpus = {vcpus}")
    addresses = over.get("addresses", seq.addresses)
    if addresses is not None and move:
        root_level = next(t.level for t in seq.tables if t.root)
        addresses = [a + move * size_at(root_level) for a in addresses]
    if addresses is not None:
        out.append("addresses = [" + ", ".join(_q(hex(a)) for a in addresses) + "]")
    out.append("")
    if "claims" in over or seq.claimed:  # a model without a [claims] table stays without one
        out.append("[claims]")
        out += [f"{k} = {_q(v)}" for k, v in sorted(over.get("claims", seq.claims).items())]
    return "\n".join(out) + "\n"


def _rename_desc(text: str, renames: Mapping[str, str]) -> str:
    if text.startswith("table ") and text[6:] in renames:
        return f"table {renames[text[6:]]}"
    return text


def _rename_line(line: str, renames: Mapping[str, str]) -> str:
    import re

    def sub(m: re.Match[str]) -> str:
        return renames.get(m.group(0), m.group(0))

    if not renames:
        return line
    pattern = r"\b(" + "|".join(re.escape(k) for k in sorted(renames, key=len, reverse=True)) + r")\b"
    return re.sub(pattern, sub, line)


def edit(
    seq: Sequence,
    *,
    drop: Iterable[int] = (),
    insert: Mapping[int, Iterable[str]] | None = None,
    replacing: Mapping[int, str] | None = None,
    rename: Mapping[str, str] | None = None,
    move_root: int = 0,
    oa_shift: int = 0,
    **over: Any,
) -> Sequence:
    """A new sequence: instructions dropped / replaced / inserted (before index; len() appends),
    tables renamed, the region moved in IPA by ``move_root`` root-table entries, output addresses
    moved by ``oa_shift`` (a multiple of the largest block size keeps alignment), plus any of name,
    level, vcpus, claims, addresses. Inserted and replacing lines are taken as written."""
    dropped = set(drop)
    insert = insert or {}
    replacing = replacing or {}
    renames = dict(rename or {})
    root = next(t for t in seq.tables if t.root)
    move = (root.name, move_root, size_at(root.level))
    lines: list[str] = []
    for i, ins in enumerate(seq.program):
        lines += list(insert.get(i, ()))
        if i in dropped:
            continue
        lines.append(replacing.get(i, instr_text(ins, move, oa_shift)))
    lines += list(insert.get(len(seq.program), ()))
    lines = [_rename_line(x, renames) for x in lines]
    text = to_toml(seq, lines, rename=renames, move_root=move_root, oa_shift=oa_shift, **over)
    name = over.get("name", seq.name)
    return load_text(text, f"<code:{name}>", default_name=name)


def sequence(
    name: str,
    *,
    level: str,
    tables: Mapping[str, Mapping[str, Any]],
    program: Iterable[str],
    vcpus: int = 2,
    addresses: Iterable[int] | None = None,
    claims: Mapping[str, str] | None = None,
    title: str = "",
    source: str = "",
) -> Sequence:
    """Build a sequence from Python values (tables: name -> {level, root, entries})."""
    out = [f"name = {_q(name)}", f"title = {_q(title or name)}", f"source = {_q(source)}", f"level = {_q(level)}",
           "program = '''", *program, "'''", ""]
    for tname, body in tables.items():
        out.append(f"[tables.{tname}]")
        out.append(f"level = {int(body['level'])}")
        out.append(f"root = {'true' if body.get('root') else 'false'}")
        entries = ", ".join(f"{int(i)} = {_q(str(d))}" for i, d in dict(body.get("entries", {})).items())
        out.append(f"entries = {{ {entries} }}")
        out.append("")
    out += ["[observers]", f"vcpus = {vcpus}"]
    if addresses is not None:
        out.append("addresses = [" + ", ".join(_q(hex(a)) for a in addresses) + "]")
    out += ["", "[claims]"]
    out += [f"{k} = {_q(v)}" for k, v in sorted(dict(claims or {}).items())]
    return load_text("\n".join(out) + "\n", f"<code:{name}>", default_name=name)
