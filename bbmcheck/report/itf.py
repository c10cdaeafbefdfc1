"""The ITF view: a trace document (``trace/itf.py``) as deterministic JSON text."""

from __future__ import annotations

import json
from typing import Any

from .escape import json_text


def render(doc: dict[str, Any]) -> str:
    """The same trace always gives the same bytes; the characters JSON leaves raw that a terminal
    would act on are written as escapes (:func:`~bbmcheck.report.escape.json_text`)."""
    return json_text(json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False)) + "\n"
