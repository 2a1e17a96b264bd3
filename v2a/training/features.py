"""Transformer training examples: rendered video + real recording, encoded once.

For every library clip and render seed, the renderer makes a video whose visible events land
on the recording's onsets; then the *pipeline's own* encoders turn it into exactly what the
transformer sees at inference (``V2APipeline.encode_video``: frame features, frame label
embeddings, motion features; ``encode_prompts``: caption token embeddings). Stored with the
log-mel in the feature-cache shards of ``v2a.data.cache``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from ..signal.audio import log_mel
from ..data.cache import FeatureCacheWriter
from ..media.decode import VideoClip

logger = logging.getLogger(__name__)

# The pulse style is never rendered for training: the evaluation holds it out to show that
# sync carries over to a kind of visible event the model has not seen.
HELD_OUT_STYLES = ("pulse",)


@torch.no_grad()
def encode_example(pipe, audio: np.ndarray, frames: np.ndarray, times: np.ndarray, captions: list[str]) -> dict:
    """The arrays one training example needs (float16)."""
    settings = pipe.audio_settings
    duration = len(audio) / settings.sample_rate
    clip = VideoClip(frames=frames, times=times, duration=duration)
    latent_frames = settings.latent_frames(duration)
    features, labels, sample_times, motion = pipe.encode_video(clip, latent_frames)
    prompts = pipe.encode_prompts(list(captions))
    tokens, mask = prompts.tokens, prompts.mask
    samples = latent_frames * settings.samples_per_latent
    audio = np.pad(audio, (0, max(0, samples - len(audio))))[:samples]
    f16 = lambda t: t.float().cpu().numpy().astype(np.float16)  # noqa: E731
    return {
        "mel": log_mel(torch.from_numpy(audio.astype(np.float32))).numpy().astype(np.float16),  # (4K, 80)
        "motion": f16(motion),  # (K, F)
        "frame_features": f16(features),
        "frame_labels": f16(labels),
        "frame_times": sample_times.cpu().numpy().astype(np.float32),
        "text": f16(tokens),  # (captions, L, D)
        "text_lengths": mask.sum(1).cpu().numpy().astype(np.int16),
    }


def build_transformer_features(library: Path, out: Path, pipe, splits=("train", "val"), renders_per_clip: int = 1,
                               seed: int = 0, styles: tuple[str, ...] | None = None, max_seconds: float = 10.0,
                               limit: int | None = None, progress: bool = True) -> Path:
    """Renders and encodes library clips into a feature cache (resumable: done ids are skipped)."""
    from tqdm.auto import tqdm

    from ..data.library import read_manifest
    from ..data.render import ALL_STYLES, render_record
    from ..data.splits import stable_hash

    training_styles = tuple(s for s in ALL_STYLES if s not in HELD_OUT_STYLES)

    records = [r for r in read_manifest(library) if r.get("split") in splits][:limit]
    pipe.set_progress_bar_config(disable=True)
    with FeatureCacheWriter(out, shard_size=64) as writer:  # small shards: an interruption loses little
        done = writer.existing_ids
        jobs = [(r, k) for r in records for k in range(renders_per_clip) if f"{r['id']}@{seed + k}" not in done]
        for record, k in tqdm(jobs, desc="encoding", disable=not progress):
            pair = render_record(library, record, stable_hash(f"{seed + k}:{record['id']}") % 2**31,
                                 max_seconds=max_seconds, styles=styles or training_styles)
            arrays = encode_example(pipe, pair.audio, pair.frames, pair.times, record["captions"])
            arrays["events"] = np.asarray(pair.event_times, dtype=np.float32)
            meta = {k2: record[k2] for k2 in ("category", "kind", "split", "source") if k2 in record}
            meta.update({"captions": record["captions"], "style": pair.style, "fps": pair.fps})
            writer.add(f"{record['id']}@{seed + k}", arrays, meta)
    return out
