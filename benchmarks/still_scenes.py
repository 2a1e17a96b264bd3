"""Do still shots stay quiet for an event's prompt, and sound for an ambience's, whatever the noise?

    python benchmarks/still_scenes.py --heldout .cache/eval-v6/heldout-val --model runs/v6t/at-3000

``v2a eval`` scores each still scene with one noise draw, and a split holds only a few of them
(3 silent scenes in 24 test clips), so its "static" column moves by a third when one draw
changes. A model can also be torn between silence and sound for the same clip: version 6 left
a still "hammering" shot silent for one seed and filled it for the next five. This samples every
``silent`` and ``ambience`` scene of a held-out folder with ``--seeds`` seeds, prompted as the
evaluation prompts (``item_prompt``), and prints per clip the audible fraction of each draw
(20 ms frames above -50 dBFS, the evaluation's threshold) and, per scene kind, the mean over
all draws: silent scenes should be near 0, ambience scenes near 1.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from v2a.evaluation.heldout import item_prompt, load_heldout
from v2a.evaluation.metrics import sound_rate_in_silence
from v2a.evaluation.run import SILENCE_THRESHOLD_DB
from v2a.media.decode import decode_video
from v2a.presets import load_pipeline
from v2a.settings import DEFAULTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heldout", required=True, help="a held-out folder written by v2a eval")
    parser.add_argument("--model", default=None, help="pipeline folder (default: the shipped model)")
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()

    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    sr = pipe.audio_settings.sample_rate
    means: dict[str, list[float]] = {"silent": [], "ambience": []}
    for item in load_heldout(args.heldout):
        if item["scene"] not in means:
            continue
        clip, prompt = decode_video(item["path"]), item_prompt(item)
        rates = [sound_rate_in_silence(pipe(clip, prompt=prompt, generator=torch.Generator().manual_seed(seed),
                                            **DEFAULTS.pipeline_kwargs()).waveforms[0],
                                       sr, threshold_db=SILENCE_THRESHOLD_DB)
                 for seed in range(args.seeds)]
        means[item["scene"]].extend(rates)
        print(json.dumps({"scene": item["scene"], "clip": item["id"], "prompt": prompt,
                          "audible": [round(r, 2) for r in rates]}), flush=True)
    print(json.dumps({"model": args.model or "weights", "seeds": args.seeds,
                      **{f"{scene}_audible": round(float(np.mean(r)), 3) if r else None for scene, r in means.items()},
                      **{f"{scene}_draws": len(r) for scene, r in means.items()}}))


if __name__ == "__main__":
    main()
