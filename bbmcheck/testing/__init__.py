"""Helpers for testing update sequences and bbmcheck itself: mutants and Hypothesis strategies."""
