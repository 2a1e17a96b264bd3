"""Turns a training checkpoint's EMA weights into a complete pipeline folder, to evaluate a run
while it is still training.

    python scripts/export_checkpoint.py --checkpoint runs/v6/dit/checkpoints/step-3000 \
        --like weights --autoencoder runs/v6/patches/model --reference-tokens 8 --out runs/v6/at-3000

``--like`` is the pipeline folder whose encoders and vocoder the run trained with (its transformer's
width, depth and heads are used too: ``v2a train transformer``'s defaults are the shipped ones);
``--autoencoder``, ``--reference-tokens`` and ``--sigma-shift`` are what the run was given. Only the transformer
weights come from the checkpoint, and loading them is strict, so a wrong shape fails. A run's own
``model`` folder is written at its end; this is for the steps before it.

accelerate stores the EMA (registered for checkpointing) with ``torch.save``; this script reads it
with ``weights_only=True`` (tensors and numbers only). v2a itself never unpickles.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from v2a.models.autoencoder import load_audio_latent
from v2a.models.transformer import SoundTransformer
from v2a.scheduler import FlowMatchEulerScheduler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="RUN/checkpoints/step-N")
    parser.add_argument("--like", type=Path, required=True, help="pipeline folder the run trained with")
    parser.add_argument("--autoencoder", type=Path, help="the run's audio latent folder (default: --like's)")
    parser.add_argument("--reference-tokens", type=int, default=0)
    parser.add_argument("--sigma-shift", type=float, default=1.0, help="the run's --sigma-shift: the scheduler's shift")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    state = torch.load(args.checkpoint / "custom_checkpoint_0.pkl", map_location="cpu", weights_only=True)
    autoencoder = args.autoencoder or args.like / "autoencoder"
    config = SoundTransformer.config_from_folder(args.like / "transformer")
    latent = load_audio_latent(autoencoder)
    config.update(latent_channels=latent.latent_channels, reference_tokens=args.reference_tokens)
    model = SoundTransformer.from_config(config)
    model.load_state_dict(state["shadow"])  # strict: a checkpoint of another shape fails here
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(args.like, tmp, ignore=shutil.ignore_patterns("transformer", "autoencoder", "*.png", "*.bank.*",
                                                                   "bank.*"))
    shutil.copytree(autoencoder, tmp / "autoencoder", ignore=shutil.ignore_patterns("training.json"))
    model.save_pretrained(str(tmp / "transformer"))
    FlowMatchEulerScheduler(shift=args.sigma_shift).save_pretrained(str(tmp / "scheduler"))
    index = json.loads((tmp / "model_index.json").read_text())
    index["autoencoder"] = [type(latent).__module__, type(latent).__name__]  # MelPatches or MelAutoencoder
    (tmp / "model_index.json").write_text(json.dumps(index, indent=2))
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"{args.out}: transformer from {args.checkpoint}")


if __name__ == "__main__":
    main()
