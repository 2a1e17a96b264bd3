"""Shrinks a transformer feature cache to fit the device tool's 64 MiB carry, and restores it.

    python scripts/carry_features.py pack   --features .cache/features2 --frame-encoder weights/frame_encoder --out .carry/features.xz
    python scripts/carry_features.py unpack --pack .carry/features.xz --out /tmp/features   # on the GPU machine

The cache (`v2a train features`) is 178 MB of float16 npz; the pack is about a fifth of that:
- mels: 8 bits over their global range (steps of 0.05 in natural-log units, well under the
  autoencoder's own error), stored as differences along time (xz packs those 10 % smaller);
- frame features (ReLU6-pooled, 0..6) and motion features (mostly near zero, a few large):
  8 bits after a square-root / mu-law companding, so small values keep fine steps;
- frame labels: not stored; each frame's 5 likeliest ImageNet classes and their probabilities
  are, and the labels are rebuilt from the frame encoder's label embeddings exactly as
  `FrameEncoder.forward` mixes them;
- caption embeddings: stored once per caption text instead of once per clip;
- optionally only the first ``--max-val`` validation examples, and a share of the training
  examples (``--train-share``, picked by a hash of the id, so the same share always picks the same);
- ``--mel-only`` keeps the mels alone (a vocoder learns from them with its teacher's renders);
- ``--bits 6`` stores mels, motion and frame features in 6 bits instead of 8 (the pack about 35 %
  smaller). The mel then gets subtractive dither (a seeded uniform draw added before rounding and
  subtracted after), so its error is white noise of a fixed size (0.06 natural-log units) and not
  contour steps a generator would learn.
Then the whole thing is xz-compressed. `unpack` writes an ordinary feature cache (float16).
"""

from __future__ import annotations

import argparse
import io
import json
import lzma
from pathlib import Path

import numpy as np
import torch

MU = 255.0
DITHER_SEED = 20261129


def _dither(shape) -> np.ndarray:
    return np.random.default_rng(DITHER_SEED).random(shape, dtype=np.float32) - 0.5


def _linear(x, lo, hi, top=255, dither=0.0):
    return np.clip(np.round((np.clip(x, lo, hi) - lo) / (hi - lo) * top + dither), 0, top).astype(np.uint8)


def _unlinear(q, lo, hi, top=255, dither=0.0):
    return (q.astype(np.float32) - dither) / top * (hi - lo) + lo


def _sqrt(x, hi, top=255):
    return np.round(np.sqrt(np.clip(x, 0, hi) / hi) * top).astype(np.uint8)


def _unsqrt(q, hi, top=255):
    return (q.astype(np.float32) / top) ** 2 * hi


def _mulaw(x, peak, top=255):
    y = np.sign(x) * np.log1p(MU * np.abs(np.clip(x, -peak, peak)) / peak) / np.log1p(MU)
    return np.round((y + 1) / 2 * top).astype(np.uint8)


def _unmulaw(q, peak, top=255):
    y = q.astype(np.float32) / top * 2 - 1
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(MU)) / MU * peak


def pack(features: Path, frame_encoder: Path | None, out: Path, max_val: int | None = None, train_share: float = 1.0,
         bits: int = 8, mel_only: bool = False) -> None:
    """Packs the cache's examples (``mel_only``: their mels alone, for the vocoder; no frame encoder needed)."""
    from v2a.data.cache import iter_feature_cache
    from v2a.data.splits import stable_hash

    if not mel_only:
        from v2a.models.frame_encoder import FrameEncoder

        encoder = FrameEncoder.from_pretrained(str(frame_encoder), dtype=torch.float32).eval()
        top_k = encoder.config.label_top_k
    entries, mel, motion, frames, classes, probs, rest = [], [], [], [], [], [], {}
    captions: dict[str, np.ndarray] = {}
    label_error, n_val = 0.0, 0
    for meta, arrays in iter_feature_cache(features):
        if meta.get("split") == "val":
            n_val += 1
            if max_val is not None and n_val > max_val:
                continue
        elif meta.get("split") == "train" and stable_hash(meta["id"]) % 10_000 >= train_share * 10_000:
            continue
        entries.append({**meta, "n_mel": len(arrays["mel"])})
        mel.append(arrays["mel"])
        if mel_only:
            continue
        with torch.no_grad():
            logits = encoder.classifier(torch.from_numpy(arrays["frame_features"].astype(np.float32)))
            p, c = logits.softmax(-1).topk(top_k, dim=-1)
            p = p / p.sum(-1, keepdim=True)
            rebuilt = (p[..., None] * encoder.label_embeddings.float()[c]).sum(1).numpy()
        label_error = max(label_error, float(np.abs(rebuilt - arrays["frame_labels"].astype(np.float32)).max()))
        for i, caption in enumerate(meta["captions"][: len(arrays["text_lengths"])]):
            captions.setdefault(caption, arrays["text"][i, : arrays["text_lengths"][i]].astype(np.float16))
        entries[-1].update(n_motion=len(arrays["motion"]), n_frames=len(arrays["frame_features"]))
        motion.append(arrays["motion"])
        frames.append(arrays["frame_features"])
        classes.append(c.numpy().astype(np.uint16))
        probs.append(p.numpy().astype(np.float16))
        for name in ("frame_times", "events", "text_lengths"):
            rest.setdefault(name, []).append(arrays[name])
    mel = np.concatenate(mel).astype(np.float32)
    top = 2**bits - 1
    dither = _dither(mel.shape) if bits < 8 else 0.0
    scales = {"mel": [float(mel.min()), float(mel.max())], "bits": bits}
    quantised_mel = _linear(mel, *scales["mel"], top, dither)
    arrays = {"mel_steps": np.diff(quantised_mel, axis=0, prepend=np.uint8(0))}  # uint8 wraps; cumsum undoes it
    errors = f"mel max error {np.abs(_unlinear(quantised_mel, *scales['mel'], top, dither) - mel).max():.3f}"
    if not mel_only:
        motion, frames = (np.concatenate(a).astype(np.float32) for a in (motion, frames))
        scales.update(motion=float(np.abs(motion).max()), frames=float(frames.max()))
        arrays.update(motion=_mulaw(motion, scales["motion"], top),
                      frames_t=np.ascontiguousarray(_sqrt(frames, scales["frames"], top).T),  # xz packs it 16 % smaller
                      classes=np.concatenate(classes), probs=np.concatenate(probs),
                      label_embeddings=encoder.label_embeddings.numpy().astype(np.float16))
        for name, parts in rest.items():
            arrays[name] = np.concatenate(parts)
            for entry, part in zip(entries, parts):
                entry[f"n_{name}"] = len(part)
        errors += (f", motion mean error {np.abs(_unmulaw(arrays['motion'], scales['motion'], top) - motion).mean():.4f}"
                   f" (mean |x| {np.abs(motion).mean():.4f}), frame-feature mean error "
                   f"{np.abs(_unsqrt(arrays['frames_t'].T, scales['frames'], top) - frames).mean():.4f} "
                   f"(mean {frames.mean():.3f}), rebuilt labels max error {label_error:.4f}")
    names = sorted(captions)
    for i, name in enumerate(names):
        arrays[f"caption{i}"] = captions[name]
    header = {"entries": entries, "scales": scales, "captions": names, "mel_only": mel_only}
    buffer = io.BytesIO()
    np.savez(buffer, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), **arrays)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(lzma.compress(buffer.getvalue(), preset=6))
    print(f"{len(entries)} examples, {len(names)} captions -> {out} ({out.stat().st_size / 2**20:.1f} MiB); {errors}")


def unpack(pack_file: Path, out: Path) -> None:
    from v2a.data.cache import INDEX

    data = np.load(io.BytesIO(lzma.decompress(pack_file.read_bytes())))
    header = json.loads(data["header"].tobytes())
    scales, entries, mel_only = header["scales"], header["entries"], header.get("mel_only", False)
    bits = scales.get("bits", 8)
    top = 2**bits - 1
    quantised_mel = np.cumsum(data["mel_steps"], axis=0, dtype=np.uint8)
    dither = _dither(quantised_mel.shape) if bits < 8 else 0.0
    mel = _unlinear(quantised_mel, *scales["mel"], top, dither).astype(np.float16)
    if not mel_only:
        captions = {name: data[f"caption{i}"] for i, name in enumerate(header["captions"])}
        motion = _unmulaw(data["motion"], scales["motion"], top).astype(np.float16)
        frames = _unsqrt(data["frames_t"].T, scales["frames"], top).astype(np.float16)
        table = data["label_embeddings"].astype(np.float32)
        labels = (data["probs"].astype(np.float32)[..., None] * table[data["classes"]]).sum(1).astype(np.float16)
        small = {name: data[name] for name in ("frame_times", "events", "text_lengths")}  # an npz decodes on every access
    offsets = {name: 0 for name in ("mel", "motion", "frames", "frame_times", "events", "text_lengths")}

    def take(name, array, count):
        start = offsets[name]
        offsets[name] += count
        return array[start : start + count]

    out.mkdir(parents=True, exist_ok=True)
    index, shard, shard_no = [], {}, 0
    for n, entry in enumerate(entries):
        arrays = {"mel": take("mel", mel, entry.pop("n_mel"))}
        if not mel_only:
            f0 = offsets["frames"]
            arrays.update(motion=take("motion", motion, entry.pop("n_motion")),
                          frame_features=take("frames", frames, entry.pop("n_frames")))
            arrays["frame_labels"] = labels[f0 : f0 + len(arrays["frame_features"])]
            for name in ("frame_times", "events", "text_lengths"):
                arrays[name] = take(name, small[name], entry.pop(f"n_{name}"))
            lengths = arrays["text_lengths"]
            text = np.zeros((len(lengths), max(lengths), table.shape[1]), dtype=np.float16)
            for i, caption in enumerate(entry["captions"][: len(lengths)]):
                text[i, : lengths[i]] = captions[caption]
            arrays["text"] = text
        entry["shard"] = f"shard-{shard_no:05d}.npz"
        entry["arrays"] = sorted(arrays)
        index.append(entry)
        shard.update({f"{entry['id']}/{k}": v for k, v in arrays.items()})
        if len(shard) >= 8 * 400 or n == len(entries) - 1:
            np.savez(out / entry["shard"], **shard)
            shard, shard_no = {}, shard_no + 1
    (out / INDEX).write_text("".join(json.dumps(r) + "\n" for r in index))
    print(f"unpacked {len(index)} examples into {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack")
    p.add_argument("--features", type=Path, required=True)
    p.add_argument("--frame-encoder", type=Path, help="The frame encoder that made the features (not with --mel-only).")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--max-val", type=int, default=None, help="Keep only the first N validation examples.")
    p.add_argument("--train-share", type=float, default=1.0, help="Keep this share of the training examples.")
    p.add_argument("--bits", type=int, default=8, choices=(6, 7, 8), help="Bits per mel, motion and frame value.")
    p.add_argument("--mel-only", action="store_true", help="The mels alone (for `v2a train vocoder --features`).")
    u = sub.add_parser("unpack")
    u.add_argument("--pack", type=Path, required=True)
    u.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "pack":
        if args.frame_encoder is None and not args.mel_only:
            parser.error("pack needs --frame-encoder (or --mel-only)")
        pack(args.features, args.frame_encoder, args.out, args.max_val, args.train_share, args.bits, args.mel_only)
    else:
        unpack(args.pack, args.out)


if __name__ == "__main__":
    main()
