"""The feature cache: training examples in compact shards that can be carried to a GPU machine.

Training re-reads the same clips many times; decoding audio, computing mels and running the
encoders each time would dominate a CPU run, so ``v2a train features``
(:func:`v2a.training.features.build_transformer_features`, the one producer) computes them once
into a folder outside git::

    cache/
        index.jsonl           # one line per example: id, shard, array names, captions, category, split, ...
        shard-00000.npz       # compressed arrays of up to `shard_size` examples
        ...

Per example a shard holds ``{id}/{name}`` for each of the example's arrays (their names are in
its index line): ``mel`` (frames, 80) float16 log-mel, and what the transformer is trained on
(``motion``, ``frame_features``, ``frame_labels``, ``frame_times``, ``text``, ``text_lengths``,
``events``; see :func:`v2a.training.features.encode_example`). This module only writes and reads
the format (:class:`FeatureCacheWriter`, :func:`iter_feature_cache`).

Size and carrying (the device tool carries at most 64 MiB per call): float16 halves the
arrays, and ``np.savez_compressed`` (zip/deflate) shrinks them further, mostly the silent
lead-ins and the sparse motion features. Shards are capped by ``max_shard_mib`` (default 48 MiB)
so any one shard fits a carry; ``scripts/carry_features.py`` packs a whole cache smaller still.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

INDEX = "index.jsonl"


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
