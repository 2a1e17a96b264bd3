"""Time and peak memory of ``v2a add-sound`` on long videos, and whether a long soundtrack holds up.

    python benchmarks/long_video.py [--seconds 10,60,600] [--model PATH|debug] [--steps 16]
        [--device cpu] [--clips DIR] [--check]

For each length, a 640x360 25 fps clip (``examples/bigbuckbunny.mp4`` looped, H.264, made once
in ``--clips``) goes through the whole ``v2a add-sound`` process into a ``.wav``; the figures are
its wall time, time per clip-second and peak resident memory (the process's own maximum RSS).

``--check`` then reads each soundtrack back and prints what a long soundtrack must not do:
- drift or fade: the loudness (RMS, dBFS) of every minute (of every tenth of a shorter clip);
- jump at a join: at each window join (``v2a.pipeline.window_joins``), the loudness of the
  overlap against its neighbours and the largest step between two samples there, against the
  largest step anywhere;
- repeat a window verbatim: the highest correlation between two windows' sounds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "examples" / "bigbuckbunny.mp4"


def make_clip(path: Path, seconds: float, width: int = 640, height: int = 360, fps: int = 25) -> Path:
    """``seconds`` of the example clip looped at ``width`` x ``height``, written frame by frame."""
    import av

    if path.exists():
        return path
    with av.open(str(SOURCE)) as source:
        frames = [f.to_ndarray(width=width, height=height, format="rgb24") for f in source.decode(video=0)]
    part = path.with_name(path.name + ".part")
    with av.open(str(part), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "32"}
        for i in range(int(round(seconds * fps))):
            frame = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    part.rename(path)
    return path


def run_add_sound(clip: Path, out: Path, args) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of one ``v2a add-sound`` process."""
    command = [sys.executable, "-m", "v2a.cli", "add-sound", str(clip), "-o", str(out), "--overwrite", "--quiet",
               "--device", args.device, "--steps", str(args.steps), "--prompt", args.prompt]
    command += ["--model", args.model] if args.model else []
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"{' '.join(command)} failed:\n{process.stderr.read()}")
    return seconds, usage.ru_maxrss / 2**20  # kB on Linux


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12))


def check_soundtrack(wave: np.ndarray, rate: int, window_seconds: float) -> list[str]:
    """The loudness along ``wave``, its joins and how alike its windows are, as printable lines."""
    from v2a.pipeline import window_joins
    from v2a.signal.audio import DEFAULT_AUDIO

    duration = len(wave) / rate
    part = 60.0 if duration >= 120 else duration / 10
    levels = [db(wave[int(s * rate) : int((s + part) * rate)]) for s in np.arange(0, duration - part / 2, part)]
    lines = [f"    loudness per {part:g} s (dBFS): " + " ".join(f"{v:.1f}" for v in levels)
             + f"   (spread {max(levels) - min(levels):.1f} dB)"]
    joins = window_joins(duration, DEFAULT_AUDIO, window_seconds)
    if not joins:
        return lines + ["    one window: no joins"]
    steps = np.abs(np.diff(wave))
    overlap, around, jump = [], [], []
    for start, end in joins:
        a, b = int(start * rate), int(end * rate)
        width = b - a
        overlap.append(db(wave[a:b]))
        around.append(db(np.concatenate([wave[max(0, a - width) : a], wave[b : b + width]])))
        middle = (a + b) // 2
        jump.append(steps[max(0, middle - rate // 20) : middle + rate // 20].max())
    gap = np.array(overlap) - np.array(around)
    lines.append(f"    {len(joins)} joins: overlap minus neighbours {gap.mean():+.2f} dB on average "
                 f"(from {gap.min():+.2f} to {gap.max():+.2f}); largest sample step near a join "
                 f"{max(jump):.4f}, anywhere {steps.max():.4f}")
    # every window's stretch that no other window shares the most of: the middle of its span
    centres = [0.5 * (joins[0][0])] + [0.5 * (a[1] + b[0]) for a, b in zip(joins, joins[1:])] + [joins[-1][1]]
    size = int(min(1.0, window_seconds / 4) * rate)
    pieces = np.stack([wave[int(c * rate) : int(c * rate) + size] for c in centres
                       if int(c * rate) + size <= len(wave)]).astype(np.float64)
    pieces -= pieces.mean(axis=1, keepdims=True)
    pieces /= np.linalg.norm(pieces, axis=1, keepdims=True) + 1e-12
    similar = pieces @ pieces.T
    np.fill_diagonal(similar, -1.0)
    lines.append(f"    {len(pieces)} windows' middles: highest correlation between two of them "
                 f"{similar.max():.3f} (1.000 would be a verbatim repeat)")
    return lines


def main(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", default="10,60,600", help="comma-separated clip lengths")
    parser.add_argument("--model", default=None, help="a model folder or 'debug' (default: the shipped model)")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--prompt", default="birds chirping")
    parser.add_argument("--clips", type=Path, default=Path("/tmp/v2a-long-clips"), help="where test clips are kept")
    parser.add_argument("--check", action="store_true", help="check loudness, joins and repeats of each output")
    args = parser.parse_args(argv)

    from v2a.media.audio import decode_audio_bytes
    from v2a.settings import DEFAULTS

    args.clips.mkdir(parents=True, exist_ok=True)
    print(f"v2a add-sound on 640x360 25 fps clips, {args.device}, {args.steps} steps, model "
          f"{args.model or 'shipped'}; {os.cpu_count()} CPUs, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.1f}")
    for seconds in (float(s) for s in args.seconds.split(",")):
        clip = make_clip(args.clips / f"bunny_{seconds:g}s.mp4", seconds)
        out = args.clips / f"bunny_{seconds:g}s.{args.model or 'shipped'}.wav"
        wall, peak = run_add_sound(clip, out, args)
        print(f"  {seconds:6g} s clip: {wall:7.1f} s ({wall / seconds:.3f} s per clip-second), "
              f"peak RSS {peak:.2f} GiB", flush=True)
        if args.check:
            wave, rate = decode_audio_bytes(out.read_bytes(), out.name)
            wave = wave[:, 0]
            print("\n".join(check_soundtrack(wave, rate, DEFAULTS.window_seconds)), flush=True)


if __name__ == "__main__":
    main()
