"""Find where a TOML key or value was written, for ``file:line:col`` errors.

``tomllib`` returns plain values without positions; this scans the raw text by section headers
and keys. It is only used to point at an error, never to read values.
"""

from __future__ import annotations

import re


class Locator:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, str]] = []  # (0-based line, dotted section name)
        for i, line in enumerate(self.lines):
            m = re.match(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$", line)
            if m:
                name = ".".join(part.strip().strip('"').strip("'") for part in m.group(1).split("."))
                self.headers.append((i, name))

    def _span(self, section: str) -> tuple[int, int]:
        if not section:
            end = self.headers[0][0] if self.headers else len(self.lines)
            return 0, end
        for n, (i, name) in enumerate(self.headers):
            if name == section:
                end = self.headers[n + 1][0] if n + 1 < len(self.headers) else len(self.lines)
                return i, end
        return 0, len(self.lines)

    def section(self, section: str) -> tuple[int, int]:
        start, _ = self._span(section)
        return start + 1, 1

    def key(self, section: str, key: str) -> tuple[int, int]:
        """1-based (line, col) of ``key =`` inside ``section`` (top level for '')."""
        start, end = self._span(section)
        pat = re.compile(r'(^|[{,\s])("?' + re.escape(key) + r'"?)\s*=')
        for i in range(start, end):
            m = pat.search(self.lines[i])
            if m:
                return i + 1, m.start(2) + 1
        # a section of its own: [key] or [key.sub] (or [section.key] below ``section``)
        full = f"{section}.{key}" if section else key
        for i, name in self.headers:
            if name == full or name.startswith(full + "."):
                return i + 1, self.lines[i].find(key) + 1
        return self.section(section)

    def value(self, section: str, key: str) -> tuple[int, int]:
        """1-based (line, col) of the value after ``key =``."""
        line, col = self.key(section, key)
        text = self.lines[line - 1]
        eq = text.find("=", col - 1)
        if eq < 0:
            return line, col
        after = eq + 1
        while after < len(text) and text[after] == " ":
            after += 1
        return line, after + 1

    def text(self, section: str, needle: str) -> tuple[int, int] | None:
        """1-based position of the first occurrence of ``needle`` inside ``section``."""
        start, end = self._span(section)
        for i in range(start, end):
            col = self.lines[i].find(needle)
            if col >= 0:
                return i + 1, col + 1
        return None

    def multiline_string_start(self, section: str, key: str) -> tuple[int, int]:
        """Where the content of ``key = '''...'''`` begins (1-based line, col of first char)."""
        line, col = self.value(section, key)
        text = self.lines[line - 1]
        rest = text[col - 1:]
        for delim in ("'''", '"""'):
            if rest.startswith(delim):
                after = rest[len(delim):]
                if after.strip() == "":
                    return line + 1, 1
                return line, col + len(delim)
        for delim in ("'", '"'):
            if rest.startswith(delim):
                return line, col + 1
        return line, col
