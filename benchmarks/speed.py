"""End-to-end speed of the default model on this machine, with the stage breakdown.

    python benchmarks/speed.py [--seconds 8] [--steps 16] [--repeats 3] [--model PATH] [--device cpu]
        [--guidance G] [--text-guidance T]

Makes an N-second 25 fps 640x360 test clip, then times decode -> encode -> denoise -> latent
decode -> vocoder -> mux after loading (median of the repeats), and reports peak memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from v2a.settings import DEFAULTS


def make_clip(path: Path, seconds: float, fps: int = 25):
    from v2a.media.write import write_video

    frames = np.full((int(seconds * fps), 360, 640, 3), 30, np.uint8)
    for i, img in enumerate(frames):
        y = int(300 - abs(np.sin(i / fps * np.pi)) * 250)
        img[y : y + 40, 300:340] = 255  # a bouncing square
    write_video(path, frames, fps)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--guidance", type=float, default=DEFAULTS.guidance)
    parser.add_argument("--text-guidance", type=float, default=DEFAULTS.text_guidance,
                        help="a separate prompt scale (one more transformer pass per step)")
    args = parser.parse_args()

    from v2a.media.mux import mux_soundtrack
    from v2a.presets import load_pipeline
    from v2a.media.decode import decode_video

    tmp = Path(tempfile.mkdtemp())
    clip_path = tmp / "clip.mp4"
    make_clip(clip_path, args.seconds)
    start = time.perf_counter()
    pipe = load_pipeline(args.model, device=args.device)
    pipe.set_progress_bar_config(disable=True)
    print(f"load: {time.perf_counter() - start:.2f} s; torch threads: {torch.get_num_threads()}")

    stages: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        t = time.perf_counter()
        clip = decode_video(clip_path)
        times = {"decode video": time.perf_counter() - t}
        result = pipe(clip, prompt="a ball bounces", num_inference_steps=args.steps, guidance_scale=args.guidance,
                      text_guidance_scale=args.text_guidance,
                      generator=torch.Generator().manual_seed(repeat), stage_seconds=times)
        t = time.perf_counter()
        mux_soundtrack(clip_path, tmp / f"out{repeat}.mp4", result.waveforms[0], result.sample_rate)
        times["mux"] = time.perf_counter() - t
        for name, value in times.items():
            stages.setdefault(name, []).append(value)
    total = [sum(v[i] for v in stages.values()) for i in range(args.repeats)]
    print(f"{args.seconds:.0f} s clip, median of {args.repeats} ({args.device}):")
    for name, values in stages.items():
        print(f"  {name:<34}{statistics.median(values):7.2f} s")
    print(f"  {'total (after loading)':<34}{statistics.median(total):7.2f} s  = "
          f"{statistics.median(total) / args.seconds:.2f} s per second of video")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
