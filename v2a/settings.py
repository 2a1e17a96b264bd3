"""How a soundtrack is sampled: one frozen dataclass shared by the pipeline's defaults, the Python
API, the CLI, folder mode and the evaluation.

A module without heavy imports, so ``v2a --help`` stays instant. The guidance scales are chosen per
shipped model on the library's validation split (see weights/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GenerationSettings:
    """Sampler settings; change one with ``dataclasses.replace``."""

    steps: int = 16  # Euler steps of the flow-matching sampler; fewer is faster
    guidance: float = 6.0  # how hard to follow the video (and the prompt when text_guidance is None)
    # the prompt's own scale (None: weighed like the video, two-branch guidance); a separate scale
    # applies only when a prompt is given and costs one more transformer pass per step
    text_guidance: float | None = None
    seed: int = 0  # the same seed gives the same soundtrack
    # clips longer than this are sampled in half-overlapping windows this long: the transformer's
    # training crop length (`v2a train transformer`, 4 s), the span its positions were learned on;
    # on the validation split this lands onsets better than sampling 4-8 s clips whole (weights/README.md)
    window_seconds: float = 4.0
    # Whether a clip without a reference sound takes one from the shipped sound bank (the prompt,
    # or else the pictures, retrieve it). The one switch for the default: off until the evaluation
    # shows the bank helps (weights/README.md); a model without reference tokens never uses it.
    use_bank: bool = False
    # bank entries retrieved per clip, joined into one reference: each is up to 3 s of one recording
    # and the bank holds about two per category, so two keep the reference within the category
    bank_entries: int = 2

    def pipeline_kwargs(self) -> dict:
        """The keywords of ``V2APipeline.__call__`` these settings give (all but the seed)."""
        return dict(num_inference_steps=self.steps, guidance_scale=self.guidance,
                    text_guidance_scale=self.text_guidance, window_seconds=self.window_seconds,
                    bank_entries=self.bank_entries)


DEFAULTS = GenerationSettings()
