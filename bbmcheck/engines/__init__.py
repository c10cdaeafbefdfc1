"""Search engines over the transition system."""
