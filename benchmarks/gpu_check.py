"""GPU readiness in one run: does the device agree with the CPU, what do bf16 and fp16 cost in
quality, and how fast is an 8 s clip alone and a batch of clips, with and without torch.compile.

    python benchmarks/gpu_check.py [--device cuda] [--model PATH|debug] [--dtypes float32,bfloat16,float16]
        [--seconds 8] [--batch 16] [--steps 16] [--repeats 5] [--clips 3] [--no-compile]
        [--judge JUDGE.safetensors] [--json OUT.json]

For each dtype on ``--device`` it reports:
- agreement: the example clips (``examples/*.mp4``, seed 0) generated on the device against the
  same on the CPU in float32 (for float32) or on the device in float32 (for bf16/fp16): the
  largest sample difference and the multi-resolution STFT distance (median over clips);
- with ``--judge`` (a ``LinearJudge`` from ``v2a eval``'s cache, with the aiSFX embedding in
  ``~/.cache/v2a/eval``): how often the judge names the same category first for both;
- latency: one ``--seconds`` clip after a warm-up call (median of ``--repeats``);
- throughput: clip-seconds generated per second for a batch of ``--batch`` such clips;
- the same two with the transformer and the vocoder compiled (``torch.compile``; the first calls,
  compilation included, are reported as warm-up).

It prints a Markdown table for the README (and writes the numbers with ``--json``). With
``--device cpu --model debug`` it runs in seconds: that is how the tests run it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
PROMPTS = {"bigbuckbunny": "birds chirping", "rendered_drop": "a ball drops", "rendered_strike": "a hammer strikes"}


def moving_clip(seconds: float, fps: int = 25, size: tuple[int, int] = (224, 398)):
    """An in-memory clip of a bouncing square, at the analysis size a decoded video has."""
    from v2a.media.decode import VideoClip

    frames = np.full((int(round(seconds * fps)), *size, 3), 30, np.uint8)
    side = size[0] // 8
    for i, img in enumerate(frames):
        y = int((size[0] - side) * (1 - abs(np.sin(i / fps * np.pi))))
        img[y : y + side, size[1] // 2 - side // 2 : size[1] // 2 + side // 2] = 255
    return VideoClip.from_array(frames, fps=fps)


def example_clips(count: int):
    from v2a.media.decode import decode_video

    paths = sorted(EXAMPLES.glob("*.mp4"))[:count]
    return [decode_video(p) for p in paths], [PROMPTS.get(p.stem) for p in paths]


class Runner:
    """A pipeline on one device and dtype, timed with synchronisation."""

    def __init__(self, model, device: str, dtype: torch.dtype, steps: int):
        from v2a.presets import load_pipeline

        self.pipe = load_pipeline(model, device=device, dtype=dtype)
        self.pipe.set_progress_bar_config(disable=True)
        self.device, self.steps = torch.device(device), steps

    def generate(self, clips, prompts, seed: int = 0) -> list[np.ndarray]:
        generators = [torch.Generator().manual_seed(seed + i) for i in range(len(clips))]  # CPU noise: the same everywhere
        return self.pipe(clips, prompt=prompts, num_inference_steps=self.steps, generator=generators).waveforms

    def seconds(self, clips, repeats: int) -> list[float]:
        times = []
        for _ in range(repeats):
            self._sync()
            start = time.perf_counter()
            self.generate(clips, [None] * len(clips))
            self._sync()
            times.append(time.perf_counter() - start)
        return times

    def compile(self, backend: str) -> None:
        for name in ("transformer", "vocoder"):
            getattr(self.pipe, name).compile(backend=backend)

    def _sync(self):
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def speed(runner: Runner, clip, batch: int, repeats: int) -> dict:
    """Warm-up, then latency of one clip and throughput of a batch."""
    start = time.perf_counter()
    runner.seconds([clip], 1)
    runner.seconds([clip] * batch, 1)
    warmup = time.perf_counter() - start
    latency = statistics.median(runner.seconds([clip], repeats))
    batch_seconds = statistics.median(runner.seconds([clip] * batch, max(1, repeats // 2)))
    return {"warmup_s": warmup, "latency_s": latency, "clip_seconds_per_s": batch * clip.duration / batch_seconds}


def agreement(waves: list[np.ndarray], reference: list[np.ndarray], judge=None) -> dict:
    from v2a.evaluation.metrics import multi_resolution_stft_distance

    out = {"max_abs": max(float(np.abs(a - b).max()) for a, b in zip(waves, reference)),
           "mr_stft": statistics.median(multi_resolution_stft_distance(a, b)["total"] for a, b in zip(waves, reference))}
    if judge is not None:
        out["judge_same_top1"] = float(np.mean([judge(a).argmax() == judge(b).argmax() for a, b in zip(waves, reference)]))
    return out


def load_judge(path: Path | None):
    if path is None:
        return None
    from v2a.evaluation.embedding import AisfxEmbedding
    from v2a.evaluation.judge import LinearJudge

    judge, embedding = LinearJudge.load(path), AisfxEmbedding(device="cpu")
    return lambda wave: judge.predict_proba(embedding.embed_clip(wave, 22050))


def table(rows: list[dict], args) -> str:
    def f(value, digits=3):
        return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)

    head = ["dtype", "compared with", "max abs diff", "MR-STFT", "judge same top-1",
            f"{args.seconds:g} s clip (s)", f"batch {args.batch} (clip-s/s)", "compiled: clip (s)",
            f"compiled: batch {args.batch} (clip-s/s)", "compile warm-up (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dtype']} | unsupported: {r['error']} |" + " |" * (len(head) - 2))
            continue
        plain, compiled = r.get("speed", {}), r.get("compiled", {})
        cells = [r["dtype"], r["reference"], f(r["max_abs"]), f(r["mr_stft"]), f(r.get("judge_same_top1")),
                 f(plain.get("latency_s")), f(plain.get("clip_seconds_per_s")), f(compiled.get("latency_s")),
                 f(compiled.get("clip_seconds_per_s")), f(compiled.get("warmup_s"))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default=None, help="a model folder or 'debug' (default: the shipped model)")
    parser.add_argument("--dtypes", default="float32,bfloat16,float16")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the timed clip")
    parser.add_argument("--batch", type=int, default=16, help="clips per batch for the throughput")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clips", type=int, default=3, help="example clips for the agreement columns")
    parser.add_argument("--no-compile", dest="compile", action="store_false", help="skip the torch.compile columns")
    parser.add_argument("--compile-backend", default="inductor", help="torch.compile backend ('eager' tests the wiring)")
    parser.add_argument("--judge", type=Path, default=None, help="a LinearJudge .safetensors (from v2a eval's cache)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    from v2a.presets import resolve_device

    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    print(f"v2a GPU check on {device} ({name}), torch {torch.__version__}, model {args.model or 'shipped'}, "
          f"{args.steps} steps", flush=True)
    clips, prompts = example_clips(args.clips)
    timed = moving_clip(args.seconds)
    judge = load_judge(args.judge)
    cpu_reference = Runner(args.model, "cpu", torch.float32, args.steps).generate(clips, prompts)

    rows, device_fp32 = [], None
    for dtype_name in args.dtypes.split(","):
        row = {"dtype": dtype_name}
        try:
            runner = Runner(args.model, device, getattr(torch, dtype_name), args.steps)
            waves = runner.generate(clips, prompts)
            if dtype_name == "float32" or device_fp32 is None:  # float32 against the CPU, half precision against float32
                reference, row["reference"] = cpu_reference, "float32 on cpu"
            else:
                reference, row["reference"] = device_fp32, "float32 (row above)"
            if dtype_name == "float32":
                device_fp32 = waves
            row.update(agreement(waves, reference, judge))
            row["speed"] = speed(runner, timed, args.batch, args.repeats)
            if args.compile:
                runner.compile(args.compile_backend)
                row["compiled"] = speed(runner, timed, args.batch, args.repeats)
        except (RuntimeError, NotImplementedError, TypeError) as err:  # e.g. a dtype the device lacks
            row["error"] = f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(table(rows, args))
    if args.json:
        args.json.write_text(json.dumps({"device": device, "name": name, "torch": torch.__version__,
                                         "args": {k: str(v) for k, v in vars(args).items()}, "rows": rows}, indent=2))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
