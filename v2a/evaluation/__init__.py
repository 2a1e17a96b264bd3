"""Evaluation: metrics (``metrics``, pure functions), the aiSFX sound-effect embedding
(``embedding``), the judge classifier (``judge``), the held-out set (``heldout``), the whole
benchmark (``run``, ``v2a eval``) and spectrogram pictures (``pictures``).

Nothing is imported here, so ``v2a --help`` stays instant.
"""
