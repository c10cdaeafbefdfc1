"""Extract update sequences from real code: C (parsed with tree-sitter), AArch64 assembly, and the
post-image of a unified diff, through a primitive map and a scenario file."""
