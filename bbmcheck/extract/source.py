"""Source text to extract from: a C or assembly file, or the post-image of a unified diff.

A diff's post-image is its hunks' context and added lines; ``line_of`` maps a line of that text
back to the line of the patch file, so errors point into the file the user gave.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class Source:
    path: str
    text: str
    lines: tuple[int, ...]  # text line (0-based) -> file line (1-based)
    cols: tuple[int, ...]  # columns removed from the start of each line (a diff's '+' or ' ')
    kind: str  # "c" or "asm"

    def where(self, row: int, col: int) -> tuple[int, int]:
        """File (line, col), 1-based, of a 0-based (row, col) in ``text``."""
        if 0 <= row < len(self.lines):
            return self.lines[row], col + 1 + self.cols[row]
        return 1, 1

    def error(self, row: int, col: int, message: str) -> InputError:
        line, c = self.where(row, col)
        return InputError(self.path, line, c, message)


def read_source(path: str) -> Source:
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise InputError(path, 1, 1, f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(path, raw[: e.start].count(b"\n") + 1, 1, "not UTF-8 text") from None
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark: editors show nothing there
    kind = "asm" if path.endswith((".S", ".s", ".asm")) else "c"
    if any(HUNK.match(line) for line in text.splitlines()):
        return _post_image(path, text, kind)
    n = text.count("\n") + 1
    return Source(path, text, tuple(range(1, n + 1)), (0,) * n, kind)


def _post_image(path: str, text: str, kind: str) -> Source:
    out, lines, cols = [], [], []
    in_hunk = False
    for number, line in enumerate(text.splitlines(), start=1):
        if HUNK.match(line):
            in_hunk = True
            out.append("")  # keep hunks apart
            lines.append(number)
            cols.append(0)
            continue
        if line.startswith(("diff --git", "--- ", "+++ ", "index ")) or line == "--":
            in_hunk = False
            continue
        if not in_hunk:
            continue
        if line.startswith(("-", "\\")):
            continue  # '-' lines are the pre-image; '\\ No newline at end of file'
        # '+' and ' ' lines are the post-image; a context line that lost its leading space (as
        # mail archives render patches) is taken as it is
        strip = 1 if line.startswith(("+", " ")) else 0
        out.append(line[strip:])
        lines.append(number)
        cols.append(strip)
    if not out:
        raise InputError(path, 1, 1, "the diff has no hunks")
    return Source(path, "\n".join(out) + "\n", tuple(lines), tuple(cols), kind)
