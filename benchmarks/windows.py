"""Does sampling in windows keep onsets on the events in clips longer than the training crops?

    python benchmarks/windows.py --heldout .cache/eval/heldout-val --model runs/v5-weights

Two measurements on held-out event clips (``v2a eval`` renders them: ``--split val`` gives
``heldout-val`` beside the library), for each ``--windows`` setting (seconds; 1000 = whole):

1. the clips longer than 4 s (the transformer's training crop), each sampled with
   ``--seeds`` noise seeds: onset F1 at +-100 ms against their visible events;
2. the first ``--joined`` event clips played back to back as one long clip (frames resized to
   one size): onset F1 of each part inside the long clip, against each clip sampled alone,
   and the loudness of each part (a model that loses its place goes quiet). The joins are
   hard cuts, which a motion detector may take for events, so the long clip's F1 stays below
   the clips' alone even with perfect windows.

Prompts are left out in (2) since the parts show different sources.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from PIL import Image

from v2a.evaluation.heldout import item_prompt, load_heldout
from v2a.evaluation.metrics import aggregate_onset_scores, onset_f1
from v2a.signal.onsets import detect_onsets
from v2a.presets import load_pipeline
from v2a.media.decode import VideoClip, decode_video

SIZE = 224  # the joined clip's frame size


def f1(rows: list[dict]) -> float:
    return round(aggregate_onset_scores(rows)["f1"], 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heldout", required=True, help="a held-out folder written by v2a eval")
    parser.add_argument("--model", default=None, help="pipeline folder (default: the shipped model)")
    parser.add_argument("--windows", default="1000,8,4", help="window lengths in seconds, comma-separated")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--joined", type=int, default=16, help="event clips joined into the long clip")
    args = parser.parse_args()
    windows = [float(w) for w in args.windows.split(",")]

    pipe = load_pipeline(args.model)
    pipe.set_progress_bar_config(disable=True)
    sr = pipe.audio_settings.sample_rate
    events = [(i, it) for i, it in enumerate(load_heldout(args.heldout)) if it["scene"] == "events"]

    def generate(clip, seed, window, prompt=None):
        return pipe(clip, prompt=prompt, generator=torch.Generator().manual_seed(seed), window_seconds=window).waveforms[0]

    # 1. clips longer than the training crop
    longer = [(i, it) for i, it in events if it["duration"] > 4.0]
    print(f"{len(longer)} event clips longer than 4 s: {[round(it['duration'], 1) for _, it in longer]}")
    for window in windows:
        rows = []
        for i, it in longer:
            clip = decode_video(it["path"])
            prompt = item_prompt(it)
            for seed in range(args.seeds):
                wave = generate(clip, i + 1000 * seed, window, prompt)
                rows.append(onset_f1(detect_onsets(wave, sr), it["event_times"], 0.1))
        total = aggregate_onset_scores(rows)
        print(json.dumps({"measure": "clips > 4 s", "window_s": window, "onset_f1_100ms": round(total["f1"], 3),
                          "precision": round(total["precision"], 3)}), flush=True)

    # 2. clips joined into one long clip
    parts, alone = [], []
    for k, (_, it) in enumerate(events[: args.joined]):
        clip = decode_video(it["path"])
        frames = np.stack([np.asarray(Image.fromarray(f).resize((SIZE, SIZE))) for f in clip.frames])
        part = VideoClip(frames, clip.times, clip.duration)
        parts.append((part, it))
        alone.append(onset_f1(detect_onsets(generate(part, k, 1000.0), sr), it["event_times"], 0.1))
    starts = np.cumsum([0.0] + [p.duration for p, _ in parts])
    joined = VideoClip(np.concatenate([p.frames for p, _ in parts]),
                       np.concatenate([p.times + s for (p, _), s in zip(parts, starts)]), float(starts[-1]))
    print(f"{len(parts)} clips joined: {joined.duration:.1f} s; alone: onset F1 {f1(alone)}")
    for window in windows:
        t0 = time.perf_counter()
        wave = generate(joined, 0, window)
        seconds = time.perf_counter() - t0
        onsets = detect_onsets(wave, sr)
        inside, loudness = [], []
        for (part, it), start in zip(parts, starts):
            end = start + part.duration
            inside.append(onset_f1([t - start for t in onsets if start <= t < end], it["event_times"], 0.1))
            loudness.append(float(np.sqrt(np.mean(wave[int(start * sr):int(end * sr)] ** 2))))
        half = len(parts) // 2
        print(json.dumps({"measure": "joined", "window_s": window, "onset_f1_100ms": f1(inside),
                          "first_half": f1(inside[:half]), "second_half": f1(inside[half:]),
                          "rms_first_quarter": round(float(np.mean(loudness[: len(parts) // 4])), 3),
                          "rms_last_quarter": round(float(np.mean(loudness[-(len(parts) // 4):])), 3),
                          "seconds": round(seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
