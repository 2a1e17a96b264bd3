"""Precomputed training features in compact shards that can be carried to a GPU machine.

Training re-reads the same clips many times; decoding audio, computing mels and running the
frame encoder each time would dominate a CPU run. This module computes them once into a
cache folder outside git (default ``~/.cache/v2a/features``)::

    cache/
        index.jsonl           # one line per example: id, shard, caption list, category, split, ...
        shard-00000.npz       # compressed arrays of up to `shard_size` examples
        ...

Per example ``i`` a shard holds ``{id}/mel`` (frames, 80) float16 log-mel (via
:func:`v2a.signal.audio.log_mel`), and when present ``{id}/timing`` (latent frames, F) float16 motion
features of the rendered video (via :func:`v2a.signal.motion.timing_features`, the same code real
video goes through), ``{id}/frames`` (frame features from any ``frames -> array`` callable,
e.g. the pipeline's frame encoder) and ``{id}/text`` (caption embeddings from any
``list[str] -> array`` callable), ``{id}/events`` (float32 ground-truth event times).

Size and carrying (the device tool carries at most 64 MiB per call): float16 halves the
arrays, and ``np.savez_compressed`` (zip/deflate) shrinks them further, mostly the silent
lead-ins and the sparse timing features. Measured on the library's validation split rendered
once (197 examples, 7.0 min of audio incl. lead-ins, mel + timing + events): 6.4 MiB of float16
arrays became a 2.6 MiB shard, about 0.37 MiB per minute, so the whole 69-minute library with
one rendering each is ~25 MiB. Shards are capped by ``max_shard_mib`` (default 48 MiB) so any
one shard fits a carry.
Frame features are the big item (1280-d per frame): store pooled or projected ones (e.g. the
384-d text-space vector) to stay small. The library itself (16-bit FLAC) is another option
to carry and recompute mels on the GPU machine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..signal.audio import DEFAULT_AUDIO, AudioSettings, log_mel
from ..signal.motion import timing_features

logger = logging.getLogger(__name__)

INDEX = "index.jsonl"
FrameFeatureFn = Callable[[np.ndarray], np.ndarray]  # (T, H, W, 3) uint8 -> (T', D)
TextFeatureFn = Callable[[list[str]], np.ndarray]  # captions -> (N, D)


@dataclass
class CacheExample:
    """What goes into the cache for one training example."""

    id: str
    audio: np.ndarray  # mono float32 at the library rate
    meta: dict = field(default_factory=dict)  # captions, category, split, source, ... (goes to the index)
    frames: np.ndarray | None = None  # (T, H, W, 3) uint8 rendered or real video
    times: np.ndarray | None = None  # (T,) frame times in seconds
    captions: list[str] | None = None
    event_times: np.ndarray | None = None


def compute_features(example: CacheExample, frame_fn: FrameFeatureFn | None = None, text_fn: TextFeatureFn | None = None,
                     settings: AudioSettings = DEFAULT_AUDIO) -> dict[str, np.ndarray]:
    """The arrays stored for one example (float16 where precision allows)."""
    wav = torch.from_numpy(np.ascontiguousarray(example.audio, dtype=np.float32))
    out = {"mel": log_mel(wav, settings).numpy().astype(np.float16)}
    if example.frames is not None and example.times is not None:
        n_latent = settings.latent_frames(len(example.audio) / settings.sample_rate)
        out["timing"] = timing_features(example.frames, example.times, n_latent, settings.latent_rate).astype(np.float16)
        if frame_fn is not None:
            out["frames"] = np.asarray(frame_fn(example.frames), dtype=np.float16)
    if text_fn is not None and example.captions:
        out["text"] = np.asarray(text_fn(list(example.captions)), dtype=np.float16)
    if example.event_times is not None:
        out["events"] = np.asarray(example.event_times, dtype=np.float32)
    return out


class FeatureCacheWriter:
    """Appends examples to shards of at most ``shard_size`` examples and ``max_shard_mib``.

    Use as a context manager; the index is rewritten when a shard is closed, so an
    interrupted run keeps every finished shard and ``existing_ids`` lets it resume.
    """

    def __init__(self, folder: str | Path, shard_size: int = 512, max_shard_mib: float = 48.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.shard_size = shard_size
        self.max_bytes = max_shard_mib * 2**20
        self.index: list[dict] = read_index(self.folder) if (self.folder / INDEX).exists() else []
        self._pending: dict[str, np.ndarray] = {}
        self._pending_meta: list[dict] = []
        self._pending_bytes = 0
        self._next_shard = 1 + max((int(r["shard"].split("-")[1].split(".")[0]) for r in self.index), default=-1)

    @property
    def existing_ids(self) -> set[str]:
        return {r["id"] for r in self.index}

    def add(self, example_id: str, arrays: dict[str, np.ndarray], meta: dict) -> None:
        size = sum(a.nbytes for a in arrays.values())
        if self._pending_meta and (len(self._pending_meta) >= self.shard_size or self._pending_bytes + size > self.max_bytes):
            self.flush()
        for key, value in arrays.items():
            self._pending[f"{example_id}/{key}"] = value
        self._pending_meta.append({"id": example_id, "arrays": sorted(arrays), **meta})
        self._pending_bytes += size

    def flush(self) -> None:
        if not self._pending_meta:
            return
        name = f"shard-{self._next_shard:05d}.npz"
        tmp = self.folder / (name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **self._pending)
        tmp.replace(self.folder / name)
        for m in self._pending_meta:
            m["shard"] = name
        self.index.extend(self._pending_meta)
        (self.folder / INDEX).write_text("".join(json.dumps(r) + "\n" for r in self.index))
        logger.info("wrote %s (%d examples, %.1f MiB)", name, len(self._pending_meta), (self.folder / name).stat().st_size / 2**20)
        self._next_shard += 1
        self._pending, self._pending_meta, self._pending_bytes = {}, [], 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.flush()


def build_feature_cache(examples: Iterable[CacheExample], folder: str | Path, frame_fn: FrameFeatureFn | None = None,
                        text_fn: TextFeatureFn | None = None, shard_size: int = 512, max_shard_mib: float = 48.0) -> Path:
    """Computes and stores features for ``examples`` (skipping ids already in the cache)."""
    folder = Path(folder)
    with FeatureCacheWriter(folder, shard_size, max_shard_mib) as writer:
        done = writer.existing_ids
        for ex in examples:
            if ex.id in done:
                continue
            meta = dict(ex.meta)
            if ex.captions is not None:
                meta.setdefault("captions", list(ex.captions))
            writer.add(ex.id, compute_features(ex, frame_fn, text_fn), meta)
    return folder


def read_index(folder: str | Path) -> list[dict]:
    path = Path(folder) / INDEX
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def iter_feature_cache(folder: str | Path, split: str | None = None) -> Iterator[tuple[dict, dict[str, np.ndarray]]]:
    """Yields ``(index entry, {name: array})`` shard by shard (each shard is opened once)."""
    folder = Path(folder)
    entries = [r for r in read_index(folder) if split is None or r.get("split") == split]
    by_shard: dict[str, list[dict]] = {}
    for r in entries:
        by_shard.setdefault(r["shard"], []).append(r)
    for shard, rows in by_shard.items():
        with np.load(folder / shard) as data:
            for r in rows:
                yield r, {name: data[f"{r['id']}/{name}"] for name in r["arrays"]}


def library_examples(library: str | Path, records: Iterable[dict], render: bool = False, seed: int = 0,
                     styles: tuple[str, ...] | None = None) -> Iterator[CacheExample]:
    """Cache examples from library manifest records, optionally with a rendered video each.

    The render seed is derived from ``seed`` and the clip id, so each clip gets its own,
    reproducible video.
    """
    from .library import load_clip
    from .render import ALL_STYLES, render_pair
    from .splits import stable_hash

    library = Path(library)
    for r in records:
        wav = load_clip(library, r)
        meta = {k: r[k] for k in ("category", "kind", "split", "source", "license", "path") if k in r}
        if not render:
            yield CacheExample(id=r["id"], audio=wav, meta=meta, captions=r.get("captions"))
            continue
        pic = library / r["picture"] if r.get("picture") else None
        pair = render_pair(wav, seed=stable_hash(f"{seed}:{r['id']}") % 2**31, kind=r.get("kind", "impact"),
                           picture=pic, styles=styles or ALL_STYLES)
        meta.update({"style": pair.style, "fps": pair.fps, "render_seed": pair.meta["seed"]})
        yield CacheExample(id=f"{r['id']}@{seed}", audio=pair.audio, meta=meta, frames=pair.frames, times=pair.times,
                           captions=r.get("captions"), event_times=pair.event_times)
