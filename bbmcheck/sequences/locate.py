"""Find where a TOML key or value was written, for ``file:line:col`` errors.

``tomllib`` returns plain values without positions; this scans the raw text by section headers
and keys. It is only used to point at an error, never to read values. Comments are blanked
before any search, so a comment that mentions a key or a table name is never pointed at.
"""

from __future__ import annotations

import re


def _split_lines(text: str) -> list[str]:
    # tomllib counts lines by '\n' only; str.splitlines() would also split at \f, \v, U+2028, ...
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _blank_comments(lines: list[str]) -> tuple[list[str], list[bool]]:
    """The lines with every '#' comment replaced by spaces (a '#' inside a string is kept), and for
    each line whether it continues a statement begun above (in a multi-line string or an open [ or {)."""
    out = []
    continued = []
    quote = ""  # the delimiter of the string open at this point, or ""
    depth = 0  # brackets open outside strings
    for line in lines:
        continued.append(bool(quote) or depth > 0)
        chars = list(line)
        i = 0
        while i < len(line):
            if quote:
                if quote[0] == '"' and line[i] == "\\":
                    i += 2
                elif line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                else:
                    i += 1
            elif line[i] == "#":
                chars[i:] = " " * (len(line) - i)
                break
            elif line[i] in "'\"":
                quote = line[i] * 3 if line.startswith(line[i] * 3, i) else line[i]
                i += len(quote)
            else:
                depth = max(0, depth + (line[i] in "[{") - (line[i] in "]}"))
                i += 1
        if len(quote) == 1:
            quote = ""  # only triple-quoted strings span lines
        out.append("".join(chars))
    return out, continued


class Locator:
    def __init__(self, text: str) -> None:
        self.lines, self.continued = _blank_comments(_split_lines(text))
        self.headers: list[tuple[int, str]] = []  # (0-based line, dotted section name)
        for i, line in enumerate(self.lines):
            m = re.match(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*$", line)
            if m:
                name = ".".join(part.strip().strip('"').strip("'") for part in m.group(1).split("."))
                self.headers.append((i, name))

    def _span(self, section: str) -> tuple[int, int]:
        """0-based [start, end) lines of ``section``, its sub-sections ([tables.T2.entries]) included."""
        if not section:
            end = self.headers[0][0] if self.headers else len(self.lines)
            return 0, end
        for n, (i, name) in enumerate(self.headers):
            if name == section:
                later = (j for j, other in self.headers[n + 1:] if not other.startswith(section + "."))
                return i, next(later, len(self.lines))
        return 0, len(self.lines)

    def section(self, section: str) -> tuple[int, int]:
        start, _ = self._span(section)
        return start + 1, 1

    def key(self, section: str, key: str) -> tuple[int, int]:
        """1-based (line, col) of ``key =`` inside ``section`` (top level for '')."""
        start, end = self._span(section)
        # a key starts a line, follows '{' or ',' in an inline table, or '.' in a dotted key
        quote = r"[\"']" if not key else r"[\"']?"  # an empty key is written "" or ''
        pat = re.compile(r"(^|[{,.\s])(" + quote + re.escape(key) + quote + r")\s*=")
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

    def section_of(self, line: int) -> str:
        """The dotted name of the [section] that 1-based ``line`` is in ('' for the top level)."""
        return next((name for i, name in reversed(self.headers) if i < line - 1), "")

    def has_key(self, section: str, key: str) -> bool:
        """Whether ``key =`` is written directly in ``section`` (not in a sub-section)."""
        start, end = self._span(section)
        if section:  # stop at the first header below, sub-sections included
            end = next((i for i, _ in self.headers if i > start), len(self.lines))
        pat = re.compile(r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*=")
        return any(pat.match(self.lines[i]) and not self.continued[i] for i in range(start, end))

    def value(self, section: str, key: str) -> tuple[int, int]:
        """1-based (line, col) of the value after ``key =``."""
        line, col = self.key(section, key)
        text = self.lines[line - 1]
        eq = text.find("=", col - 1)
        if eq < 0:
            return line, col
        after = eq + 1
        while after < len(text) and text[after] in " \t":
            after += 1
        return line, after + 1

    def string_start(self, section: str, key: str) -> tuple[int, int]:
        """1-based (line, col) of the first character inside the string value of ``key``."""
        line, col = self.value(section, key)
        rest = self.lines[line - 1][col - 1:]
        for delim in ("'''", '"""', "'", '"'):
            if rest.startswith(delim):
                return line, col + len(delim)
        return line, col

    def array_items(self, section: str, key: str) -> list[tuple[int, int]]:
        """1-based (line, col) of each element of the array value of ``key`` (which may span lines)."""
        return self.array_items_at(*self.value(section, key))

    def inline_fields(self, line: int, col: int) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
        """For the inline table whose ``{`` is at 1-based (line, col): each key's position and its value's."""
        out: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {}
        depth, quote, want_key = 0, "", False
        i, j = line - 1, col - 1
        while i < len(self.lines):
            text = self.lines[i]
            while j < len(text):
                c = text[j]
                if quote:
                    if quote[0] == '"' and c == "\\":
                        j += 2
                        continue
                    if text.startswith(quote, j):
                        j += len(quote)
                        quote = ""
                        continue
                elif want_key and depth == 1 and not c.isspace() and c not in ",}":
                    m = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)').match(text, j)
                    eq = text.find("=", m.end()) if m else -1
                    if m is None or eq < 0 or text[m.end():eq].strip():
                        return out
                    name = next(g for g in m.groups() if g is not None)
                    v = eq + 1
                    while v < len(text) and text[v] in " \t":
                        v += 1
                    out.setdefault(name, ((i + 1, j + 1), (i + 1, v + 1)))
                    want_key, j = False, v
                    continue
                elif c in "'\"":
                    quote = c * 3 if text.startswith(c * 3, j) else c
                    j += len(quote)
                    continue
                elif c in "[{":
                    depth += 1
                    want_key = depth == 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return out
                elif c == "," and depth == 1:
                    want_key = True
                j += 1
            if len(quote) == 1:
                quote = ""
            i, j = i + 1, 0
        return out

    def array_items_at(self, line: int, col: int) -> list[tuple[int, int]]:
        """1-based (line, col) of each element of the array whose ``[`` is at 1-based (line, col)."""
        out: list[tuple[int, int]] = []
        depth, quote, expect = 0, "", False
        for i in range(line - 1, len(self.lines)):
            text = self.lines[i]
            j = col - 1 if i == line - 1 else 0
            while j < len(text):
                c = text[j]
                if quote:
                    if c == "\\" and quote == '"':
                        j += 1
                    elif c == quote:
                        quote = ""
                elif c.isspace():
                    pass
                elif c == ",":
                    expect = depth == 1
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return out
                else:
                    if depth == 1 and expect:
                        out.append((i + 1, j + 1))
                        expect = False
                    if c in "[{":
                        depth += 1
                        expect = depth == 1
                    elif c in "'\"":
                        quote = c
                j += 1
        return out

    def statement_start(self, line: int) -> tuple[int, int]:
        """1-based (line, col) where the statement that ``line`` belongs to begins."""
        while line > 1 and self.continued[line - 1]:
            line -= 1
        text = self.lines[line - 1]
        return line, len(text) - len(text.lstrip()) + 1

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

    def string_chars(self, line: int, col: int) -> list[tuple[int, int]]:
        """For the TOML string whose opening delimiter is at 1-based (line, col): the file position of
        each character of its decoded value, and one more for the end. An escape (``\\t``, ``\\u00e9``)
        is one character written where its backslash is; a line-ending backslash in a ``\"\"\"`` string
        and the newline right after an opening ``'''`` or ``\"\"\"`` give no character; so a position
        inside the value maps to where it was written, however the string was spelled."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        rest = text[col - 1:]
        delim = next((d for d in ("'''", '"""', "'", '"') if rest.startswith(d)), "")
        if not delim:
            return [(line, col)]
        basic, multi = delim[0] == '"', len(delim) == 3
        i, j = line - 1, col - 1 + len(delim)
        out: list[tuple[int, int]] = []
        if multi and not self.lines[i][j:].strip() and i + 1 < len(self.lines):
            i, j = i + 1, 0  # a newline right after the opening delimiter is trimmed
        while i < len(self.lines):
            s = self.lines[i]
            if j >= len(s):
                if not multi or i + 1 >= len(self.lines):
                    break
                out.append((i + 1, j + 1))  # the newline
                i, j = i + 1, 0
                continue
            if s.startswith(delim, j) and not (multi and s.startswith(delim[0], j + 3)):
                break
            c = s[j]
            if basic and c == "\\":
                nxt = s[j + 1:j + 2]
                if multi and not s[j + 1:].strip():  # line-ending backslash: skip whitespace and newlines
                    i, j = i + 1, 0
                    while i < len(self.lines):
                        stripped = self.lines[i].lstrip()
                        if stripped:
                            j = len(self.lines[i]) - len(stripped)
                            break
                        i += 1
                    continue
                out.append((i + 1, j + 1))
                j += {"u": 6, "U": 10}.get(nxt, 2)
                continue
            out.append((i + 1, j + 1))
            j += 1
        out.append((i + 1, j + 1) if i < len(self.lines) else (len(self.lines), 1))
        return out


MAX_NESTING = 32


def too_deep(text: str, limit: int = MAX_NESTING) -> tuple[int, int] | None:
    """1-based (line, col) of the first '[' or '{' (outside strings and comments) that opens a value
    nested more than ``limit`` deep, or None. Checked before TOML parsing, whose parser recurses."""
    lines, _ = _blank_comments(_split_lines(text))
    depth, quote = 0, ""
    for n, line in enumerate(lines):
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if quote[0] == '"' and c == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
            elif c in "'\"":
                quote = c * 3 if line.startswith(c * 3, i) else c
                i += len(quote)
                continue
            elif c in "[{":
                depth += 1
                if depth > limit:
                    return n + 1, i + 1
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
        if len(quote) == 1:
            quote = ""
    return None


def key_depth(data: object, limit: int = MAX_NESTING) -> list[str] | None:
    """The dotted path (keys) to the first table or array nested more than ``limit`` deep in parsed
    TOML data, or None; iterative, so it never recurses."""
    stack: list[tuple[object, list[str]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if len(path) > limit:
            return path
        if isinstance(value, dict):
            stack += [(v, [*path, str(k)]) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, [*path, str(k)]) for k, v in enumerate(value)]
    return None
