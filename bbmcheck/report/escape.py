"""One escaping function per output language.

Every string a user controls (a model's name and title, its source path, table and descriptor
names, instruction text, a trace file's name) reaches an output through exactly one of these, at the
one place each view writes its text:

- :func:`terminal`: stdout, stderr and ``.txt`` files. Control characters (ESC and CR included),
  line and paragraph separators and bidirectional overrides are shown as ``\\xNN``/``\\uNNNN``.
- :func:`dot_string`, :func:`dot_comment`: Graphviz DOT (a quoted string; a ``//`` comment).
- :func:`mermaid_text`: Mermaid message and note text, and its ``%%`` comment.
- :func:`html_text`, :func:`html_json`: HTML text content, and JSON inside a ``<script>`` element.
- :func:`json_text`: JSON written with ``ensure_ascii=False`` (ITF): the characters JSON leaves raw
  but a terminal would act on are written as ``\\uNNNN`` escapes.
"""

from __future__ import annotations

import html
import re

# C0 and C1 controls, DEL, line/paragraph separators, bidi marks, embeddings, overrides and isolates, BOM
_UNSAFE = "\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
_UNSAFE_RE = re.compile(f"[{_UNSAFE}]")
_JSON_RAW_RE = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(m: re.Match[str]) -> str:
    o = ord(m.group(0))
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def terminal(text: str) -> str:
    """One line of terminal or ``.txt`` text: every control character made visible, newline included."""
    return _UNSAFE_RE.sub(_visible, text)


def terminal_lines(lines: list[str]) -> str:
    """Lines of terminal text, each escaped, joined by newlines, with a final newline."""
    return "".join(terminal(line) + "\n" for line in lines)


def dot_string(text: str | list[str]) -> str:
    """A DOT quoted string; a list is several label lines. Backslashes and quotes are escaped, so a
    user string cannot end the string, and control characters are shown, so none ends a line."""
    parts = [text] if isinstance(text, str) else text
    body = "\\n".join(terminal(p).replace("\\", "\\\\").replace('"', '\\"') for p in parts)
    return f'"{body}"'


def dot_comment(text: str) -> str:
    """Text after ``//``: no character in it can end the comment."""
    return terminal(text)


_MERMAID = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}
_MERMAID_RE = re.compile("[#;<>]")


def mermaid_text(text: str) -> str:
    """Mermaid text: no line break (``\\r`` and ``\\u2028`` included) survives, and Mermaid's entity,
    statement and HTML characters are written as its ``#...;`` entity codes."""
    return _MERMAID_RE.sub(lambda m: _MERMAID[m.group(0)], terminal(text))  # one pass: '#' in '#59;' stays


def html_text(text: str) -> str:
    """HTML text content (element or attribute): markup characters escaped, controls shown."""
    return html.escape(terminal(text), quote=True)


def html_json(text: str) -> str:
    """JSON text for a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` become
    JSON escapes, so no ``</script>``, ``<!--`` or ``<script`` can change how HTML reads the element."""
    return json_text(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_text(text: str) -> str:
    """JSON from ``json.dumps(..., ensure_ascii=False)`` with the characters it leaves raw that a
    terminal or an editor would act on written as ``\\uNNNN`` (they occur only inside strings)."""
    return _JSON_RAW_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
