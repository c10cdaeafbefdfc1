"""The Arm semantics as a transition system: build (compile a sequence), step, observe."""
