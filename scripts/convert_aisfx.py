"""Convert the aiSFX sound-effect embedding (PyPI ``aisfx``, CC-BY-4.0) to safetensors, once.

    pip install --no-deps aisfx          # it pins old librosa/numpy: never let it install deps
    python scripts/convert_aisfx.py      # writes ~/.cache/v2a/eval/aisfx.safetensors + aisfx.json

The package stores ``(state_dict, ds_dict)`` pickled with ``torch.save`` in
``aisfx/models/checkpoint.pth``; ``ds_dict`` holds numpy integers, so it is read here with
``weights_only=True`` and only those numpy types allow-listed (no arbitrary unpickling).
Only the embedding network is kept (the nine classification heads are dropped); conv weights
are stored as float16 by default (``--dtype float32`` keeps them exact), batch-norm tensors
as float32.

Checks printed at the end:
  1. network: the package's own ``EmbeddingNet`` (fp32 checkpoint) vs ``v2a.evaluation.
     embedding.AisfxNet`` loaded from the safetensors file, on spectrogram blocks of test signals;
  2. front end + network, only when ``essentia`` is importable (e.g. ``pip install --no-deps
     --target /tmp/ess essentia`` and ``PYTHONPATH=/tmp/ess``): the package's Essentia
     spectrogram of a 44.1 kHz wav file vs ``embedding.aisfx_spectrogram``, and the embeddings of both.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from v2a.evaluation import embedding as E  # noqa: E402


def aisfx_dir() -> Path:
    spec = importlib.util.find_spec("aisfx")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("aisfx is not installed: pip install --no-deps aisfx")
    return Path(list(spec.submodule_search_locations)[0])


def load_checkpoint(path: Path):
    try:
        scalar = np._core.multiarray.scalar  # numpy >= 2 (the pickle names numpy.core.multiarray.scalar)
    except AttributeError:  # pragma: no cover
        scalar = np.core.multiarray.scalar
    safe = [np.dtype, np.dtypes.Int64DType, scalar, (scalar, "numpy.core.multiarray.scalar")]
    with torch.serialization.safe_globals(safe):
        weights, ds_dict = torch.load(path, map_location="cpu", weights_only=True)
    return weights, ds_dict


def test_signals(sr: int = E.SAMPLE_RATE) -> dict[str, np.ndarray]:
    rng = np.random.RandomState(1234)
    t = np.arange(int(sr * 4.3)) / sr
    clicks = np.zeros_like(t)
    for onset in (0.3, 1.1, 1.9, 2.6, 3.5):
        i = int(onset * sr)
        clicks[i:i + 2000] += np.exp(-np.arange(2000) / 300.0) * rng.randn(2000)
    chirp = 0.5 * np.sin(2 * np.pi * (200 * t + 800 * t ** 2))
    noise = 0.1 * rng.randn(len(t)) * (1 + np.sin(2 * np.pi * 0.7 * t))
    return {"clicks": (0.8 * clicks).astype(np.float32), "chirp": chirp.astype(np.float32),
            "noise": noise.astype(np.float32), "short": chirp[: sr // 2].astype(np.float32)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=E.default_weights_path())
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    args = ap.parse_args()
    torch.manual_seed(0)

    pkg = aisfx_dir()
    ckpt = pkg / "models" / "checkpoint.pth"
    weights, ds_dict = load_checkpoint(ckpt)
    prefix = "embedding_net."
    store_dtype = getattr(torch, args.dtype)
    state = {}
    for key, value in weights.items():
        if not key.startswith(prefix) or key.endswith("num_batches_tracked"):
            continue
        name = key[len(prefix):]
        is_conv = name.endswith(".weight") and value.ndim == 4
        state[name] = value.to(store_dtype if is_conv else torch.float32).contiguous()

    from safetensors.torch import save_file

    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out), metadata={"source": "aisfx 0.1.2 models/checkpoint.pth (X-Sequential-CE)",
                                              "license": "CC-BY-4.0"})
    config = {
        "name": "aisfx-x-sequential-ce",
        "source_package": "aisfx==0.1.2",
        "license": "CC-BY-4.0 (Copyright (c) 2022 A.B. Ma and A. Lerch)",
        "citation": "A. B. Ma and A. Lerch, Representation Learning for the Automatic Indexing of "
                    "Sound Effects Libraries, ISMIR 2022",
        "architecture": "Cnn_9layers (DCASE cross-task baseline), max pooling",
        "width": 64,
        "embedding_dim": E.EMBEDDING_DIM,
        "sample_rate": E.SAMPLE_RATE, "frame_size": E.FRAME_SIZE, "hop_size": E.HOP_SIZE,
        "n_mels": E.N_MELS, "f_min": E.F_MIN, "f_max": E.F_MAX, "spec_max": E.SPEC_MAX,
        "block_frames": E.BLOCK_FRAMES, "block_hop": E.BLOCK_HOP,
        "conv_dtype": args.dtype,
        "training_datasets": {k: int(v[1]) for k, v in ds_dict.items()},
    }
    args.out.with_suffix(".json").write_text(json.dumps(config, indent=2) + "\n")
    args.out.chmod(0o644)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {sum(v.numel() for v in state.values()):,} values) "
          f"and {args.out.with_suffix('.json').name}")

    # ---- check 1: network vs the package's EmbeddingNet ---------------------------------------
    sys.path.insert(0, str(pkg.parent))
    from aisfx.models.cnn2d import EmbeddingNet

    original = EmbeddingNet("max", 3, 1, 64)
    original.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    original.eval()
    ours = E.AisfxEmbedding(args.out)
    signals = test_signals()
    worst_net, worst_scale = 0.0, 0.0
    for name, x in signals.items():
        blocks = E.blocks_from_spectrogram(E.aisfx_spectrogram(x, E.SAMPLE_RATE))
        with torch.no_grad():
            ref = original(blocks.clone())
        got = ours.embed_blocks(blocks)
        diff = (ref - got).abs().max().item()
        worst_net, worst_scale = max(worst_net, diff), max(worst_scale, ref.abs().max().item())
        print(f"  network  {name:7s} blocks={blocks.shape[0]}  max|orig-ours|={diff:.3e}  "
              f"max|orig|={ref.abs().max().item():.3f}")
    print(f"CHECK network max abs difference: {worst_net:.3e} (outputs up to {worst_scale:.3f}, "
          f"conv weights {args.dtype})")

    # ---- check 2: Essentia front end (the paper's) + network, when essentia is available ------
    try:
        import essentia  # noqa: F401
        from aisfx.spectrogram import spectrogram_essentia
    except Exception as exc:  # noqa: BLE001
        print(f"CHECK front end skipped: essentia not importable ({type(exc).__name__})")
        return
    import soundfile as sf

    worst_spec, worst_emb = 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name, x in signals.items():
            wav = Path(tmp) / f"{name}.wav"
            sf.write(wav, x, E.SAMPLE_RATE, subtype="FLOAT")
            spec_ref = spectrogram_essentia.compute_spectrogram(
                str(wav), sr=float(E.SAMPLE_RATE), block_size=E.FRAME_SIZE, hop_size=E.HOP_SIZE,
                n_mels=E.N_MELS, f_min=E.F_MIN, f_max=E.F_MAX) / E.SPEC_MAX
            spec_ours = E.aisfx_spectrogram(x, E.SAMPLE_RATE).numpy()
            if spec_ref.shape != spec_ours.shape:
                print(f"  front end {name}: frame count differs {spec_ref.shape} vs {spec_ours.shape}")
                worst_spec = float("inf")
                continue
            ds = float(np.abs(spec_ref - spec_ours).max())
            with torch.no_grad():
                emb_ref = original(E.blocks_from_spectrogram(torch.from_numpy(spec_ref).float()))
            emb_ours = torch.from_numpy(ours.embed(x, E.SAMPLE_RATE))
            de = (emb_ref - emb_ours).abs().max().item()
            worst_spec, worst_emb = max(worst_spec, ds), max(worst_emb, de)
            print(f"  end2end  {name:7s} frames={spec_ref.shape[0]}  spec max diff={ds:.3e}  "
                  f"embedding max diff={de:.3e}")
    print(f"CHECK Essentia front end max abs difference: {worst_spec:.3e} (spectrogram in [0, ~1]); "
          f"end-to-end embedding max abs difference: {worst_emb:.3e}")


if __name__ == "__main__":
    main()
