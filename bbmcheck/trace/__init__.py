"""Counterexample traces as documents: the ITF document made from a replay (``counterexample``,
``itf``), its step rows, and replaying a trace file against its model. Nothing here renders or
writes a view; ``report/`` does, from these documents."""
