"""A printed counterexample (:class:`~bbmcheck.results.Trace`) is made from a replay, here only.

The ITF document is built from the replay's rows and the step rows from that document, and
``Trace.replayed`` is what the replay confirmed: every action of the path re-executed and the last
step shows the finding. ``verify`` refuses (exit 4) an engine's path that does not confirm, so
every trace in a result says True, and one built from a corrupted path says False.
"""

from __future__ import annotations

from ..replay import Replay
from ..results import Trace
from ..system.state import Event
from .itf import build_document, derived_meta
from .steps import steps_from_itf


def counterexample(run: Replay, event: Event | None = None) -> Trace:
    """The trace of ``run`` showing ``event`` (default: the event the replay expected)."""
    shown = event if event is not None else run.expect
    if shown is None:
        raise ValueError("a counterexample shows an event: replay it with expect=, or give one")
    s = run.system
    # every #meta field follows from the replayed rows, so `bbmcheck replay` can recompute each one
    doc = build_document(s, run.rows, run.initial, derived_meta(s, run.choice, run.rows, shown))
    return Trace(choices=s.choices[run.choice].label(), steps=steps_from_itf(doc),
                 replayed=run.confirmed and shown in run.last_events, itf=doc)
