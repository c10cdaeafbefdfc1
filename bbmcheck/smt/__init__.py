"""The SMT engines: the only package that imports z3 (and, for re-checking, cvc5).

``encode`` states the transition system of ``system/step.py`` as SMT terms; ``bmc`` unrolls it;
``prove`` looks for inductive invariants with Spacer; ``cover`` checks that the representative
addresses stand for every address in the region; ``certificate`` writes and re-checks proofs.
"""
