"""Validation during transformer training: a few generated samples with their sync scores.

Generates from cached validation examples with the EMA weights through the pipeline's own
``denoise``/``decode``, writes the audio and a spectrogram picture with the ground-truth
events marked, and logs onset F1 (±100 ms) against those events.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from ..signal.audio import log_mel
from ..data.cache import iter_feature_cache
from ..settings import DEFAULTS
from ..pipeline import guidance_branches

SAMPLES = 4


def transformer_validator(features: Path, pipe):
    cached = [item for item, _ in zip(iter_feature_cache(features, split="val"), range(SAMPLES))]

    @torch.no_grad()
    def validate(model, step: int, folder: Path) -> dict:
        from ..evaluation.metrics import aggregate_onset_scores, onset_f1
        from ..signal.onsets import detect_onsets
        from ..evaluation.pictures import spectrogram_grid

        if not cached:
            return {}
        original = pipe.transformer
        pipe.transformer = model
        pipe.set_progress_bar_config(disable=True)
        rows, events, scores = [], [], []
        try:
            for i, (meta, arrays) in enumerate(cached):
                k = len(arrays["motion"])
                length = int(arrays["text_lengths"][0])
                as_tensor = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32))[None].to(pipe.device)  # noqa: E731
                video = (as_tensor(arrays["frame_features"]), as_tensor(arrays["frame_labels"]),
                         as_tensor(arrays["frame_times"]), as_tensor(arrays["motion"]))
                prompt = as_tensor(arrays["text"][0, :length]), torch.ones(1, length, dtype=torch.bool, device=pipe.device)
                branches, weights = guidance_branches(
                    {"conditional": lambda: model.prepare_conditions(*prompt, *video, k, 1),
                     "video_only": lambda: model.prepare_conditions(None, None, *video, k, 1),
                     "unconditional": lambda: model.prepare_conditions(None, None, None, None, None, None, k, 1)},
                    DEFAULTS.guidance, DEFAULTS.text_guidance)  # the sampler settings users get
                latents = pipe.denoise([branches], [k], torch.Generator().manual_seed(i), DEFAULTS.steps, weights,
                                       [[(0, 0, k)]])
                duration = k / pipe.audio_settings.latent_rate
                wave = pipe.decode(latents, [k], [duration]).waveforms[0]
                sf.write(folder / f"sample{i}_{meta.get('category', '')}.wav", wave, pipe.audio_settings.sample_rate)
                generated = log_mel(torch.from_numpy(wave)).numpy()
                rows.append([(f"generated: {meta['captions'][0]}", generated),
                             ("reference", arrays["mel"].astype(np.float32))])
                events.append(arrays["events"])
                if meta.get("style") != "static":
                    scores.append(onset_f1(detect_onsets(wave, pipe.audio_settings.sample_rate), arrays["events"], 0.1))
        finally:
            pipe.transformer = original
        spectrogram_grid(rows, folder / "spectrograms.png", pipe.audio_settings.mel_rate, events=events)
        total = aggregate_onset_scores(scores) if scores else {}
        return {"onset_f1": total.get("f1", float("nan"))}

    return validate
