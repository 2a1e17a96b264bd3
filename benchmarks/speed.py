"""Speed of v2a as a user meets it: the whole ``v2a add-sound`` process, loading the pipeline,
generating after loading (each stage timed by the pipeline's own ``stage_seconds`` hook) and
``v2a --help``.

    python benchmarks/speed.py [--repeats 5] [--seconds 8] [--size 640x360] [--clip FILE]
        [--model PATH] [--vocoder PATH] [--device cpu] [--dtype auto|float32] [--steps 16]
        [--only process,load,generate,help]

Every figure is the median of ``--repeats`` runs. The process, loading and ``--help`` times run
in fresh processes (what a user waits for); generation runs in this process, whose first call
(one-time set-up included) is reported apart from the median of the calls after it. The test
clip is an N-second 25 fps clip of a bouncing square at ``--size`` (or ``--clip``, a real file).
Quote the machine and whether it was idle: other jobs inflate every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SECTIONS = ("help", "process", "load", "generate")

# Run in a fresh interpreter: the time to import torch, then to load the pipeline (v2a's own
# imports included), as the CLI does.
LOAD_SNIPPET = """
import json, sys, time
start = time.perf_counter()
import torch
imported = time.perf_counter()
from v2a.presets import load_pipeline
load_pipeline(None if sys.argv[1] == "-" else sys.argv[1], device=sys.argv[2],
              vocoder=None if sys.argv[3] == "-" else sys.argv[3],
              dtype=torch.float32 if sys.argv[4] == "float32" else None)
print(json.dumps({"import torch": imported - start, "load_pipeline": time.perf_counter() - imported}))
"""


def make_clip(path: Path, seconds: float, width: int = 640, height: int = 360, fps: int = 25):
    from v2a.media.write import write_video

    frames = np.full((int(seconds * fps), height, width, 3), 30, np.uint8)
    side = max(4, height // 9)
    for i, img in enumerate(frames):
        y = int((height - side) * (1 - abs(np.sin(i / fps * np.pi))))
        img[y : y + side, width // 2 - side // 2 : width // 2 + side // 2] = 255  # a bouncing square
    write_video(path, frames, fps)


def _run(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds, result.stdout


def _line(name: str, values: list[float], note: str = "") -> str:
    return f"  {name:<32}{statistics.median(values):7.2f} s{note}"


def time_help(repeats: int) -> list[str]:
    seconds = [_run([sys.executable, "-m", "v2a.cli", "--help"])[0] for _ in range(repeats)]
    return [_line("v2a --help", seconds)]


def time_process(clip: Path, out: Path, args) -> list[str]:
    command = [sys.executable, "-m", "v2a.cli", "add-sound", str(clip), "-o", str(out), "--overwrite", "--quiet",
               "--device", args.device, "--steps", str(args.steps)]
    command += ["--model", args.model] if args.model else []
    command += ["--vocoder", args.vocoder] if args.vocoder else []
    command += ["--dtype", args.dtype]
    seconds = [_run(command)[0] for _ in range(args.repeats)]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return [_line("v2a add-sound (whole process)", seconds, f"   (peak RSS {peak:.2f} GiB)")]


def time_load(args) -> list[str]:
    snippet = [sys.executable, "-c", LOAD_SNIPPET, args.model or "-", args.device, args.vocoder or "-", args.dtype]
    runs = [json.loads(_run(snippet)[1]) for _ in range(args.repeats)]
    return [_line(name, [r[name] for r in runs]) for name in runs[0]]


def time_generate(clip: Path, out_dir: Path, args) -> list[str]:
    import torch

    from v2a.media.decode import decode_video
    from v2a.media.mux import mux_soundtrack
    from v2a.presets import dtype_name, load_pipeline

    pipe = load_pipeline(args.model, device=args.device, vocoder=args.vocoder,
                         dtype=torch.float32 if args.dtype == "float32" else None)
    pipe.set_progress_bar_config(disable=True)
    print(f"  (transformer in {dtype_name(pipe.transformer.dtype)}, vocoder in {dtype_name(pipe.vocoder.dtype)})")
    calls = []
    for repeat in range(args.repeats + 1):
        start = time.perf_counter()
        video = decode_video(clip)
        stages = {"decode video": time.perf_counter() - start}
        result = pipe(video, prompt="a ball bounces", num_inference_steps=args.steps,
                      generator=torch.Generator().manual_seed(repeat), stage_seconds=stages)
        start = time.perf_counter()
        mux_soundtrack(clip, out_dir / f"out{repeat}.mp4", result.waveforms[0], result.sample_rate)
        stages["mux"] = time.perf_counter() - start
        stages["total"] = sum(v for k, v in stages.items() if "/" not in k)  # "stage/part" is inside its stage
        calls.append(stages)
    first, rest = calls[0], calls[1:]
    lines = [f"  generation after loading ({torch.get_num_threads()} torch threads), median of the calls after "
             f"the first [first call]:"]
    for stage in [k for k in first if "/" not in k]:
        for name in [stage, *(k for k in first if k.startswith(stage + "/"))]:  # parts after their stage
            label = "    - " + name.split("/")[-1] if "/" in name else "  " + name
            lines.append(_line(label, [c[name] for c in rest], f"   [{first[name]:.2f} s]"))
    return lines


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the test clip")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the test clip")
    parser.add_argument("--clip", type=Path, default=None, help="a video file to use instead of the test clip")
    parser.add_argument("--model", default=None, help="a model folder or 'debug' (default: the shipped model)")
    parser.add_argument("--vocoder", default=None, help="a vocoder folder to use instead of the model's")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--dtype", default="auto", choices=("auto", "float32"),
                        help="auto: the precision the CLI picks on this machine; float32 throughout")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    sections = args.only.split(",")
    if unknown := set(sections) - set(SECTIONS):
        parser.error(f"unknown sections {sorted(unknown)}")

    tmp = Path(tempfile.mkdtemp())
    clip = args.clip
    if clip is None:
        width, height = (int(v) for v in args.size.split("x"))
        clip = tmp / "clip.mp4"
        make_clip(clip, args.seconds, width, height)
    model = (args.model or "shipped") + (f" with vocoder {args.vocoder}" if args.vocoder else "")
    print(f"{clip.name}: median of {args.repeats} on {args.device} ({args.dtype}), {args.steps} steps, "
          f"model {model}; {os.cpu_count()} CPUs, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.1f}")
    if "help" in sections:
        print("\n".join(time_help(args.repeats)))
    if "process" in sections:
        print("\n".join(time_process(clip, tmp / "out.mp4", args)))
    if "load" in sections:
        print("\n".join(time_load(args)))
    if "generate" in sections:
        print("\n".join(time_generate(clip, tmp, args)))


if __name__ == "__main__":
    main()
