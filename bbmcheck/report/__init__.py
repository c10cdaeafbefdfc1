"""Views of a :class:`bbmcheck.results.Result`: text for people, JSON for programs."""
