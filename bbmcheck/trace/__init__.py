"""Counterexample traces as values: the ITF document, and replaying one against a model."""
