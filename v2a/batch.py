"""Folder mode: every video under a folder, resumable, one bad file never stops the run."""

from __future__ import annotations

import csv
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import V2AError
from .media.decode import is_video_path
from .settings import GenerationSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path
    prompt: str | None
    negative_prompt: str | None
    reference: object = None  # what api.generate's reference= takes: a path, (waveform, rate), or a list


@dataclass
class BatchReport:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.done)} done, {len(self.skipped)} skipped (output exists), {len(self.failed)} failed"


def find_videos(folder: Path) -> list[Path]:
    """Video files under ``folder`` (recursively, sorted), ignoring hidden files and our temp files."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_video_path(p)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def read_prompts_csv(path: Path) -> dict[str, tuple[str | None, str | None, Path | None]]:
    """Per-file prompts from a CSV with a header: ``file,prompt[,negative_prompt][,reference]``.

    ``file`` is a path relative to the input folder (or a bare file name); ``reference`` a sound
    (or video) file to imitate, relative to the CSV's folder. A missing reference file is an error
    here, before any model is loaded.
    """
    if not path.is_file():
        raise V2AError(f"{path}: prompts CSV not found")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "file" not in reader.fieldnames or "prompt" not in reader.fieldnames:
            raise V2AError(f"{path}: the prompts CSV needs a header with 'file' and 'prompt' columns")
        table = {}
        for row in reader:
            name = (row.get("file") or "").strip()
            if not name:
                continue
            reference = (row.get("reference") or "").strip() or None
            if reference is not None:
                reference = path.parent / reference
                if not reference.is_file():
                    raise V2AError(f"{path}: reference {reference} of {name} not found")
            table[name] = ((row.get("prompt") or "").strip() or None,
                           (row.get("negative_prompt") or "").strip() or None, reference)
    return table


def plan_jobs(folder: Path, out_dir: Path, prompt: str | None, negative_prompt: str | None,
              prompts: dict[str, tuple[str | None, str | None, Path | None]] | None, audio_only: bool,
              reference=None) -> list[Job]:
    """One job per video; the output mirrors the input's subfolders under ``out_dir``. A CSV row's
    empty cells fall back to the command line's prompts and ``reference``."""
    jobs = []
    for source in find_videos(folder):
        relative = source.relative_to(folder)
        output = out_dir / relative
        if audio_only:
            output = output.with_suffix(".wav")
        p, n, r = prompt, negative_prompt, reference
        if prompts:
            row = prompts.get(relative.as_posix()) or prompts.get(source.name)
            if row:
                p, n, r = row[0] or prompt, row[1] or negative_prompt, row[2] or reference
        jobs.append(Job(source, output, p, n, r))
    return jobs


def run_jobs(pipe, jobs: list[Job], settings: GenerationSettings, *, keep_original_audio: bool = False,
             overwrite: bool = False, quiet: bool = False, bank=None, **options) -> BatchReport:
    """Generates and writes every job; an existing output is skipped unless ``overwrite``, a failing
    file is reported on stderr and the run goes on (``V2A_DEBUG=1`` stops at unexpected errors).
    ``bank`` is as for ``api.generate``; a bank the model cannot use fails here, before any job.
    ``options`` go to :func:`v2a.api.add_sound` for every file (``start``, ``mix_db``, ``sidecar``...)."""
    from tqdm.auto import tqdm

    from .api import add_sound
    from .bank import open_bank, select_bank

    bank = select_bank(open_bank(bank), pipe, settings.use_bank) or False  # chosen once for every job
    pipe.set_progress_bar_config(disable=True)
    report = BatchReport()
    bar = tqdm(jobs, desc="videos", unit="file", disable=quiet)
    for job in bar:
        if job.output.exists() and not overwrite:
            report.skipped.append(job.source)
            continue
        try:
            job.output.parent.mkdir(parents=True, exist_ok=True)
            add_sound(job.source, job.output, prompt=job.prompt, negative_prompt=job.negative_prompt,
                      reference=job.reference, bank=bank, keep_original_audio=keep_original_audio,
                      overwrite=overwrite, pipeline=pipe, settings=settings, **options)
            report.done.append(job.source)
        except V2AError as err:
            report.failed.append((job.source, str(err)))
            bar.write(f"v2a: error: {err}", file=sys.stderr)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop thousands of others
            if os.environ.get("V2A_DEBUG"):
                raise
            report.failed.append((job.source, f"{type(err).__name__}: {err}"))
            bar.write(f"v2a: error: {job.source}: unexpected {type(err).__name__}: {err}", file=sys.stderr)
    return report
