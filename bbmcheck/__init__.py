"""bbmcheck: a model checker for Arm break-before-make safety of translation-table updates.

The public library API is :func:`bbmcheck.verify.verify` (check a loaded sequence) and
:func:`bbmcheck.sequences.load.load_model` (read a model file or a bundled model by name).
"""

__version__ = "0.1.0"
