"""Turns a training checkpoint's EMA weights into a complete pipeline folder, to evaluate a run
while it is still training.

    python scripts/export_checkpoint.py --checkpoint runs/v6/dit/checkpoints/step-3000 \
        --like runs/v6-shape --out runs/v6/at-3000

``--like`` is a pipeline folder with the run's shape (its transformer config is used, its other
components are copied); only the transformer weights come from the checkpoint. A run's own
``model`` folder is written at its end; this is for the steps before it.

accelerate stores the EMA (registered for checkpointing) with ``torch.save``; this script reads it
with ``weights_only=True`` (tensors and numbers only). v2a itself never unpickles.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import torch

from v2a.models.transformer import SoundTransformer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="RUN/checkpoints/step-N")
    parser.add_argument("--like", type=Path, required=True, help="pipeline folder with the run's shape")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    state = torch.load(args.checkpoint / "custom_checkpoint_0.pkl", map_location="cpu", weights_only=True)
    model = SoundTransformer.from_config(SoundTransformer.load_config(str(args.like / "transformer")))
    model.load_state_dict(state["shadow"])  # strict: a checkpoint of another shape fails here
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(args.like, tmp, ignore=shutil.ignore_patterns("transformer", "*.png"))
    model.save_pretrained(str(tmp / "transformer"))
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"{args.out}: transformer from {args.checkpoint}")


if __name__ == "__main__":
    main()
