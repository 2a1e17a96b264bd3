"""Sampler defaults shared by the pipeline, the Python API, the CLI and the evaluation.

A module without imports, so ``v2a --help`` stays instant. The guidance scale is chosen per
shipped model on the library's validation split (see weights/README.md).
"""

DEFAULT_STEPS = 16
DEFAULT_GUIDANCE = 6.0
DEFAULT_TEXT_GUIDANCE = None  # None: the prompt is weighed like the video (two-branch guidance)
