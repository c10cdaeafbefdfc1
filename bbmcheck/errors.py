"""User-input errors, located like a compiler's: ``file:line:col: error: message``.

Every bad input (model file, instruction, descriptor, command-line option) raises
:class:`InputError`; the CLI prints its one line and exits with status 2.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class InputError(Exception):
    """A located error in something the user wrote."""

    def __init__(self, file: str, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.file = file
        self.line = max(1, line)
        self.col = max(1, col)
        self.message = message

    def render(self, kind: str = "error") -> str:
        """The one-line form; ``kind`` "warning" for a located warning (same place, no exit code)."""
        return f"{self.file}:{self.line}:{self.col}: {kind}: {self.message}"

    def __str__(self) -> str:
        return self.render()


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean 'x'?)' suffix, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
