"""Command line: ``v2a add-sound clip.mp4 --prompt "drums"``.

Thin on purpose: parse, load, call the public API, write. Heavy imports happen inside the
commands so ``v2a --help`` answers at once. Problems with the input or settings print one
line on stderr and exit non-zero; set V2A_DEBUG=1 to see tracebacks of unexpected errors.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from typer.core import TyperGroup

from .settings import DEFAULTS, GenerationSettings


class _LazyCommands(TyperGroup):
    """Adds ``train`` and ``eval`` when they are asked for (or listed in ``--help``), so that
    ``add-sound`` never imports the training or evaluation packages."""

    LAZY = ("eval", "train")

    def list_commands(self, ctx) -> list[str]:
        return [*super().list_commands(ctx), *self.LAZY]

    def get_command(self, ctx, name: str):
        if name == "train":
            from .training.cli import app as training_app

            command = typer.main.get_command(training_app)
            command.name = "train"
            return command
        if name == "eval":
            from .evaluation.cli import eval_command

            single = typer.Typer(add_completion=False)
            single.command("eval")(_with_user_errors(eval_command))
            return typer.main.get_command(single)
        return super().get_command(ctx, name)


app = typer.Typer(cls=_LazyCommands, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Add a generated, synchronised soundtrack to video.")


class DType(str, Enum):
    auto = "auto"
    float32 = "float32"
    float16 = "float16"
    bfloat16 = "bfloat16"


def _fail(message: str, code: int = 1):
    typer.echo(f"v2a: error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def _user_errors():
    """Turns V2AError (bad input) into one line on stderr; unexpected errors too, unless debugging."""
    from .errors import V2AError

    try:
        yield
    except V2AError as err:
        _fail(str(err))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        if os.environ.get("V2A_DEBUG"):
            raise
        _fail(f"unexpected {type(err).__name__}: {err} (set V2A_DEBUG=1 for details)")


def _torch_dtype(dtype: DType, device: str):
    """The precision asked for; None (auto off a GPU) leaves it to ``load_pipeline``."""
    import torch

    if dtype == DType.auto:
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return None
    return getattr(torch, dtype.value)


@app.command("add-sound")
def add_sound(
    input: Path = typer.Argument(..., help="A video file, or a folder of videos."),
    output: Optional[Path] = typer.Option(
        None, "-o", "--output",
        help="Output file (.mp4/.mov/.mkv/.webm..., or .wav/.flac for the audio alone). Default: "
             "<name>.v2a.<ext> beside the input. For a folder: the output folder (default <folder>_v2a)."),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="What should be heard."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", "-n", help="What should not be heard."),
    reference: Optional[List[Path]] = typer.Option(
        None, "--reference", "-r",
        help="A sound to imitate: an audio file, or a video whose audio is used; repeatable. The first 10 s "
             "(of all together) are used; the video still decides when sounds happen."),
    bank: Optional[Path] = typer.Option(
        None, "--bank",
        help="A sound bank (`v2a bank build`) from which a clip without --reference retrieves one by its prompt "
             "(or pictures). Needs a model with reference tokens. Default: the shipped bank if retrieval is on "
             "by default (GenerationSettings.use_bank; off for now)."),
    no_bank: bool = typer.Option(False, "--no-bank", help="Retrieve no reference from any sound bank."),
    seed: int = typer.Option(DEFAULTS.seed, help="Random seed; the same seed gives the same soundtrack."),
    steps: int = typer.Option(DEFAULTS.steps, min=1, help="Sampler steps (fewer is faster)."),
    guidance: float = typer.Option(DEFAULTS.guidance, min=0.0, help="How hard to follow the video (guidance scale)."),
    text_guidance: Optional[float] = typer.Option(
        DEFAULTS.text_guidance, min=0.0,
        help="How hard to follow the prompt (default: as --guidance). A different value costs a model pass per step."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N or mps; auto picks cuda, then mps, then cpu."),
    dtype: DType = typer.Option(DType.auto, help="Compute precision: auto is bf16/fp16 on GPU, and on CPU float32 but for "
                                                 "the transformer and vocoder in bfloat16 where the CPU computes it "
                                                 "natively; float32 is float32 throughout."),
    model: Optional[str] = typer.Option(None, help="Model folder, or 'debug' for a tiny random model. Default: the shipped model."),
    vocoder: Optional[str] = typer.Option(
        None, "--vocoder", help="'full' for the full HiFi-GAN shipped beside the default light one (slower on a CPU), "
                                "or a HiFi-GAN folder to use instead of the model's vocoder, such as one from "
                                "`v2a train vocoder`."),
    keep_original_audio: bool = typer.Option(False, "--keep-original-audio", help="Keep the input's audio as an extra track."),
    start: Optional[str] = typer.Option(
        None, "--start", help="Make sound from this time on (seconds or HH:MM:SS.mmm); outside the span the "
                              "input's audio stays."),
    end: Optional[str] = typer.Option(None, "--end", help="Make sound up to this time (seconds or HH:MM:SS.mmm)."),
    mix: Optional[float] = typer.Option(
        None, "--mix", metavar="DB", help="Mix the new sound under the input's audio at this level in dB (e.g. -6) "
                                         "instead of replacing it."),
    reencode: bool = typer.Option(
        False, "--reencode", help="Re-encode the video (H.264; VP9 in .webm) if the output container cannot hold it "
                                  "as it is. Without it such a video is refused before any work."),
    sidecar: bool = typer.Option(False, "--sidecar", help="Also write how the output was made as JSON beside it "
                                                          "(<output>.json); it is always in the output's tags."),
    prompts_csv: Optional[Path] = typer.Option(
        None, "--prompts-csv", help="Folder mode: CSV with file,prompt[,negative_prompt][,reference]."),
    audio_only: bool = typer.Option(False, "--audio-only", help="Folder mode: write .wav files instead of videos."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Folder mode: list what would be done, skipped (and why) or refused; load no model, "
                                 "write nothing."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or messages, only errors."),
):
    """Generate a soundtrack for a video (or every video in a folder) and write the result."""
    with _user_errors():
        from .errors import V2AError

        # Every check that needs no model comes first, and imports no torch: a refusal takes a moment.
        if bank is not None and no_bank:
            raise V2AError("--bank and --no-bank contradict each other")
        options = dict(start=start, end=end, mix_db=mix, reencode=reencode, sidecar=sidecar)
        if input.is_dir():
            jobs, out_dir = _folder_jobs(input, output, prompt, negative_prompt, prompts_csv, audio_only,
                                         reference or None, create=not dry_run)
        else:
            if prompts_csv is not None or audio_only or dry_run:
                raise V2AError("--prompts-csv, --audio-only and --dry-run apply to folder input")
            from .api import check_job, default_output_path

            target = output if output is not None else default_output_path(input)
            check_job(input, target, keep_original_audio=keep_original_audio, overwrite=overwrite, **options)
            jobs = None
        from .bank import open_bank
        from .media.audio import load_references
        from .presets import resolve_device
        from .signal.audio import DEFAULT_AUDIO

        load_references(reference or None, DEFAULT_AUDIO.sample_rate)  # a bad reference fails before the model loads
        sounds = False if no_bank else open_bank(bank)  # a bad bank fails before the model loads too
        resolve_device(device)  # an unknown device fails before the slow model load
        if vocoder is not None:
            from .presets import check_vocoder_folder, vocoder_folder

            vocoder = vocoder_folder(model, vocoder)
            check_vocoder_folder(vocoder)  # and so does a folder that holds no vocoder
        settings = GenerationSettings(steps=steps, guidance=guidance, text_guidance=text_guidance, seed=seed)
        if jobs is None:
            from . import api

            pipe = _load(model, device, dtype, quiet, vocoder)
            pipe.set_progress_bar_config(disable=quiet, desc="denoising", leave=False)
            written = api.add_sound(input, target, prompt=prompt, negative_prompt=negative_prompt,
                                    reference=reference or None, bank=sounds, keep_original_audio=keep_original_audio,
                                    overwrite=overwrite, pipeline=pipe, settings=settings, progress=not quiet,
                                    **options)
            if not quiet:
                typer.echo(f"wrote {written}")
            return
        from .batch import MANIFEST, dry_run_summary, run_folder

        # under `accelerate launch` this is one of several processes: it does its share, and the
        # main one reports for all (see v2a/batch.py)
        result, processes = run_folder(
            jobs, settings, load=lambda on: _load(model, on, dtype, quiet, vocoder), model=model,
            manifest=out_dir / MANIFEST, device=device, dry_run=dry_run, overwrite=overwrite, quiet=quiet, bank=sounds,
            keep_original_audio=keep_original_audio, vocoder=vocoder,
            precision=None if dtype == DType.auto else dtype.value, **options)
        if result is None:
            return
        if dry_run:
            typer.echo("\n".join([task.describe(processes) for task in result] + [dry_run_summary(result)]))
            return
        by = f" ({processes} processes)" if processes > 1 else ""
        if not quiet or result.failed:
            typer.echo(f"{result.summary()}{by}; manifest: {out_dir / MANIFEST}", err=bool(result.failed))
        if result.failed:
            raise typer.Exit(1)


@app.command("info")
def info(file: Path = typer.Argument(..., help="A file written by v2a add-sound, or its .json sidecar.")):
    """Print how an output was made (the record v2a writes into every output)."""
    with _user_errors():
        import json

        from .provenance import read_provenance

        typer.echo(json.dumps(read_provenance(file), indent=2, sort_keys=True))


def _folder_jobs(folder: Path, output: Optional[Path], prompt, negative_prompt, prompts_csv, audio_only, reference,
                 create: bool = True):
    """The folder's jobs and the output folder, made (unless not ``create``: a dry run writes nothing)."""
    from .batch import plan_jobs, read_prompts_csv
    from .errors import V2AError

    out_dir = output if output is not None else folder.with_name(folder.name + "_v2a")
    if out_dir.exists() and not out_dir.is_dir():
        raise V2AError(f"{out_dir}: exists and is not a folder")
    if out_dir.resolve() == folder.resolve():
        raise V2AError("the output folder must differ from the input folder")
    prompts = read_prompts_csv(prompts_csv) if prompts_csv is not None else None
    jobs = plan_jobs(folder, out_dir, prompt, negative_prompt, prompts, audio_only, reference)
    if not jobs:
        raise V2AError(f"{folder}: no video files found")
    if not create:
        return jobs, out_dir
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise V2AError(f"{out_dir}: cannot create the output folder ({err.strerror})") from None
    if not os.access(out_dir, os.W_OK):
        raise V2AError(f"{out_dir}: output folder is not writable")
    return jobs, out_dir


def _load(model: Optional[str], device: str, dtype: DType, quiet: bool, vocoder: Optional[Path] = None):
    import logging
    import warnings

    from .presets import load_pipeline, resolve_device

    if quiet:
        logging.getLogger().setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")  # library chatter (deprecation notices) is not for users
    resolved = resolve_device(device)
    return load_pipeline(model, device=resolved, dtype=_torch_dtype(dtype, resolved), vocoder=vocoder)


bank_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="Sound banks: labelled reference sounds that a prompt retrieves.")
app.add_typer(bank_app, name="bank")


@bank_app.command("build")
def bank_build(
    folder: Path = typer.Argument(..., help="A folder of audio files named after what they sound like (or with a "
                                            "captions.csv: file,caption[,category,license,attribution])."),
    out: Path = typer.Option(..., "-o", "--out", help="The bank file to write (.safetensors)."),
    model: Optional[str] = typer.Option(None, help="Model whose text encoder embeds the captions (default: shipped)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing bank."),
):
    """Build a sound bank from your own labelled sounds."""
    with _user_errors():
        from .errors import V2AError

        if not folder.is_dir():
            raise V2AError(f"{folder}: not a folder")
        if out.exists() and not overwrite:
            raise V2AError(f"{out}: exists (use --overwrite to replace it)")
        from .bank import build_bank, folder_items
        from .signal.audio import DEFAULT_AUDIO

        items = folder_items(folder, DEFAULT_AUDIO.sample_rate)  # bad files fail before the model loads
        pipe = _load(model, "cpu", DType.auto, quiet=True)
        build_bank(pipe, items).save(out)
        typer.echo(f"wrote {out}: {len(items)} sounds")


@bank_app.command("search")
def bank_search(
    query: Optional[str] = typer.Argument(None, help="What you want to hear, as for --prompt."),
    bank: Optional[Path] = typer.Option(None, "--bank",
                                        help="A bank file from `v2a bank build` (default: the shipped bank)."),
    video: Optional[Path] = typer.Option(None, "--video", help="Without a query: what this video's pictures retrieve "
                                                               "(add-sound without a prompt)."),
    k: int = typer.Option(DEFAULTS.bank_entries, "-k", min=1,
                          help="How many entries to list (default: as many as add-sound takes)."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", "-n", help="Leave out what is closer to this."),
    model: Optional[str] = typer.Option(None, help="Model whose encoders embed the query (default: shipped)."),
):
    """List the bank entries add-sound would retrieve as the reference, closest first."""
    with _user_errors():
        from .bank import check_bank, open_bank, retrieve
        from .errors import V2AError

        if not (query and query.strip()) and video is None:
            raise V2AError("give a query, or --video to search by a video's pictures")
        sounds = open_bank(bank if bank is not None else True)  # a bad bank fails before the model loads
        clip = None
        if video is not None and not (query and query.strip()):
            from .media.decode import VideoFile, probe_video

            probe_video(video)  # a video that cannot be read fails before the model loads
            clip = VideoFile(video)  # read as a stream by encode_frames
        pipe = _load(model, "cpu", DType.auto, quiet=True)
        check_bank(pipe, sounds, generating=False)
        labels = pipe.encode_frames(clip)[1] if clip is not None else None
        hits = retrieve(pipe, sounds, k, query, negative_prompt, labels)
        if not hits:
            typer.echo("nothing retrieved (every entry is closer to the negative prompt)")
        for index, score in hits:
            entry = sounds.entries[index]
            typer.echo(f"{score:.3f}  {entry.caption}  [{entry.category or '-'}; {entry.license or 'licence unknown'}; "
                       f"{entry.source}]")


def _with_user_errors(command):
    @functools.wraps(command)  # typer reads the wrapped signature
    def wrapper(*args, **kwargs):
        with _user_errors():
            return command(*args, **kwargs)

    return wrapper



@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")):
    if version:
        from . import __version__

        typer.echo(f"v2a {__version__}")
        raise typer.Exit()


def main():
    """Entry point. Usage errors (a missing argument, an unknown option, a value out of range)
    print one line, like every other input error, instead of a boxed message."""
    try:
        code = app(prog_name="v2a", standalone_mode=False)
    except typer.Abort:  # Ctrl-C
        typer.echo("v2a: aborted", err=True)
        code = 130
    except _usage_errors() as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `v2a` or `v2a train`: the help
            error.show()
            sys.exit(0)
        command = error.ctx.command_path if error.ctx else "v2a"
        typer.echo(f"v2a: error: {error.format_message()} (see '{command} --help')", err=True)
        code = 2
    sys.exit(code if isinstance(code, int) else 0)


def _usage_errors() -> type[Exception]:
    # typer >= 0.22 carries its own copy of click; older versions use click itself
    try:
        from typer._click.exceptions import UsageError
    except ImportError:
        from click.exceptions import UsageError
    return UsageError


if __name__ == "__main__":
    main()
