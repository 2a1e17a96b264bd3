"""Sampler defaults shared by the pipeline, the Python API, the CLI and the evaluation.

A module without imports, so ``v2a --help`` stays instant. The guidance scales are chosen per
shipped model on the library's validation split (see weights/README.md).
"""

DEFAULT_STEPS = 16
DEFAULT_GUIDANCE = 6.0
# the prompt's own scale (None: weighed like the video, two-branch guidance); a separate scale
# applies only when a prompt is given and costs one more transformer pass per step
DEFAULT_TEXT_GUIDANCE = None
# clips longer than this are sampled in half-overlapping windows this long: the transformer's
# training crop length (`v2a train transformer`, 4 s), the span its positions were learned on;
# on the validation split this lands onsets better than sampling 4-8 s clips whole (weights/README.md)
DEFAULT_WINDOW_SECONDS = 4.0
