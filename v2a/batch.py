"""Folder mode: every video under a folder, resumable, one bad file never stops the run, shared out
among the processes ``accelerate launch`` starts (one device each, on one machine or several).

How a run is shared out and recorded, and why:

- The main process's sorted listing of the folder goes to every process, and process ``i`` of ``n``
  takes files ``i``, ``i + n``, ``i + 2n``...: each file belongs to exactly one process, even where a
  network file system shows another machine a stale listing, and shares differ by one file at most.
- A file whose output exists with the provenance record this job would write is done (outputs
  appear atomically, so an existing one is whole) and is skipped. An output a killed run left
  without its sidecar is made again. An output made for another job (another prompt, seed,
  model...) fails its file, since nothing is overwritten unasked; ``--overwrite`` redoes it.
- Each process appends its files' results to a manifest piece of its own: one writer per file, which
  a network file system keeps whole (appends from several machines to one file may interleave
  there). When every process has finished, the main process merges the pieces into the manifest,
  with any that a killed run left, and sums the processes' reports into the one summary.
- The processes meet twice, at the start (the listing) and at the end (the reports), over gloo with
  a long timeout: one that finishes its share hours before the slowest must not time out while it
  waits, and gloo works on the CPU, so any number of processes may share one GPU.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .errors import V2AError
from .media.decode import SPAN_SLACK, is_video_path
from .settings import GenerationSettings

MANIFEST = "v2a-manifest.jsonl"  # in the output folder
# How long a process that has finished its share waits for the others: longer than any batch.
PROCESS_TIMEOUT = timedelta(days=7)


@dataclass(frozen=True)
class Job:
    source: Path
    output: Path
    prompt: str | None
    negative_prompt: str | None
    reference: object = None  # what api.generate's reference= takes: a path, (waveform, rate), or a list


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


@dataclass(frozen=True)
class Task:
    """What a run does with one job: ``do`` it, ``redo`` it (replacing the output a killed run left
    unfinished), ``skip`` it (done) or ``fail`` it; ``why`` says why, ``process`` who does it."""

    job: Job
    action: str
    why: str = ""
    record: dict | None = None  # the existing output's provenance, for a skipped job
    process: int = 0

    def describe(self, processes: int = 1) -> str:
        """One line of ``--dry-run``'s listing."""
        if self.action == "do":
            line = f"do    {self.job.source} -> {self.job.output}"
        elif self.why.startswith(f"{self.job.source}:"):  # an input's error names it already
            line = f"{self.action:<5} {self.why}"
        else:
            line = f"{self.action:<5} {self.job.source}: {self.why}"
        return f"{line}  [process {self.process}]" if processes > 1 else line


@dataclass
class BatchReport:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.done)} done, {len(self.skipped)} skipped (already done), {len(self.failed)} failed"

    @classmethod
    def total(cls, reports: list["BatchReport"]) -> "BatchReport":
        """The report of a run made of the processes' ``reports``."""
        return cls([p for r in reports for p in r.done], [p for r in reports for p in r.skipped],
                   [f for r in reports for f in r.failed])


def plan_task(job: Job, identity: dict, settings: GenerationSettings, *, bank=None, start=None, end=None,
              mix_db: float | None = None, sidecar: bool = False, overwrite: bool = False) -> Task:
    """Whether ``job`` is to do, done or refused, from its output alone: no model is needed.

    Args:
        identity: the model's :func:`v2a.provenance.source_identity`.
        bank: the bank as :func:`v2a.bank.open_bank` returns it: False (none) and a bank are compared
            with an existing output's record; None (the settings decide, by the model) is not.
        start, end, mix_db, sidecar, overwrite: as for :func:`v2a.api.add_sound`.
    """
    from .media.decode import check_span, probe_video
    from .media.mux import keeps_tags
    from .provenance import output_record, request_record, sidecar_path

    output = job.output
    if overwrite or not output.exists():
        return Task(job, "do")
    try:
        if not keeps_tags(output) and not sidecar_path(output).exists():
            # v2a writes such an output, then its sidecar: a run was stopped between the two
            return Task(job, "redo", f"{output} has no sidecar (its run was stopped)")
        record = output_record(output)
        # the span as add_sound resolves it, but with the header's duration (see below)
        span = check_span(start, end, probe_video(job.source).duration) if (start, end) != (None, None) else None
    except V2AError as err:
        return Task(job, "fail", f"{err}; --overwrite replaces it")
    expected = {**identity, **request_record(job.source, prompt=job.prompt, negative_prompt=job.negative_prompt,
                                             reference=job.reference, settings=settings, span=span, mix_db=mix_db)}
    if bank is not None:
        expected["bank"] = bank.name if bank is not False else None
    for key, value in expected.items():
        have = record.get(key)
        if key == "span" and value is not None and isinstance(have, list) and len(have) == 2:
            # the end may be the video's, which the header and the decoded frames measure a frame apart
            same = have[0] == value[0] and abs(have[1] - value[1]) <= SPAN_SLACK
        else:
            same = have == value
        if not same:
            return Task(job, "fail", f"{output} exists, made with {key} {have!r}, not {value!r} "
                                     f"(--overwrite replaces it)")
    if sidecar and not sidecar_path(output).exists():
        return Task(job, "redo", f"{output} has no sidecar (its run was stopped, or it was made without --sidecar)")
    return Task(job, "skip", f"done ({output})", record)


def check_task(task: Task, *, keep_original_audio: bool = False, reencode: bool = False, start=None, end=None,
               mix_db: float | None = None) -> Task:
    """``task`` as ``--dry-run`` lists it: one to do that a real run would refuse (an input it cannot
    read, a stream the output cannot hold, a span past the end) fails, with the same message."""
    from .api import check_streams

    if task.action not in ("do", "redo"):
        return task
    try:
        check_streams(task.job.source, task.job.output, start=start, end=end, mix_db=mix_db,
                      keep_original_audio=keep_original_audio, reencode=reencode)
    except V2AError as err:
        return replace(task, action="fail", why=str(err))
    return task


def dry_run_summary(tasks: list[Task]) -> str:
    """The last line of ``--dry-run``'s listing."""
    count = {action: sum(t.action == action for t in tasks) for action in ("do", "redo", "skip", "fail")}
    return (f"dry run: {count['do'] + count['redo']} to do, {count['skip']} skipped (already done), "
            f"{count['fail']} would fail")


class Manifest:
    """A folder run's record of each file's result, one JSON line per file and run (see the module
    docstring): each process appends to its own piece, and :meth:`merge` gathers the pieces."""

    def __init__(self, path: Path, process: int = 0):
        self.path, self.process = Path(path), process
        self.piece = self.path.with_name(f"{self.path.stem}.{process}{self.path.suffix}")  # v2a-manifest.3.jsonl
        self._mended = False

    def add(self, job: Job, status: str, seconds: float, *, provenance: dict | None = None, **details) -> None:
        """Appends ``job``'s result: ``status`` ok, skipped or failed, with the reason or error."""
        entry = {"file": str(job.source), "output": str(job.output), "status": status, **details,
                 "seconds": round(seconds, 3), "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 "process": self.process, "provenance": provenance}
        if not self._mended and self.piece.exists():  # a killed run's piece: its lines go on from a whole one
            with self.piece.open("rb+") as handle:
                handle.truncate(len(_whole_lines(handle.read())))
        self._mended = True
        with self.piece.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())  # a result, once written, survives a crash of the machine

    def merge(self) -> None:
        """Appends every piece to the manifest and removes them. Only once no process writes."""
        from .media.mux import atomic_output

        found = {}
        for piece in self.path.parent.glob(f"{self.path.stem}.*{self.path.suffix}"):
            process = piece.name[len(self.path.stem) + 1:-len(self.path.suffix)]
            if process.isdigit():
                found[int(process)] = piece
        pieces = [found[process] for process in sorted(found)]
        if not pieces:
            return
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        for piece in pieces:
            text += _whole_lines(piece.read_text(encoding="utf-8"))
        with atomic_output(self.path, overwrite=True) as tmp:
            tmp.write_text(text, encoding="utf-8")
        for piece in pieces:
            piece.unlink()


def _whole_lines(text):
    """``text`` (str or bytes) without a last line cut short: its machine went down as it was written."""
    return text[:text.rfind("\n" if isinstance(text, str) else b"\n") + 1]


def run_jobs(pipe, tasks: list[Task], settings: GenerationSettings, *, manifest: Manifest | None = None,
             keep_original_audio: bool = False, overwrite: bool = False, quiet: bool = False, bank=None,
             **options) -> BatchReport:
    """Carries out ``tasks`` (see :func:`plan_task`): generates and writes those to do, and records
    every file's result in ``manifest``. A failing file is reported on stderr and the run goes on
    (``V2A_DEBUG=1`` stops at unexpected errors). ``bank`` is as for ``api.generate``; a bank the
    model cannot use fails here, before any job. ``options`` go to :func:`v2a.api.add_sound` for
    every file (``start``, ``mix_db``, ``sidecar``...)."""
    from tqdm.auto import tqdm

    from .api import add_sound
    from .bank import open_bank, select_bank
    from .media.mux import leftover_parts
    from .provenance import output_record, sidecar_path

    if any(task.action in ("do", "redo") for task in tasks):
        bank = select_bank(open_bank(bank), pipe, settings.use_bank) or False  # chosen once for every job
        pipe.set_progress_bar_config(disable=True)
    report = BatchReport()
    bar = tqdm(tasks, desc="videos", unit="file", disable=quiet)
    for task in bar:
        job, started = task.job, time.perf_counter()
        if task.action == "skip":
            report.skipped.append(job.source)
            if manifest:
                manifest.add(job, "skipped", 0.0, reason=task.why, provenance=task.record)
            continue
        error = task.why if task.action == "fail" else None
        if error is None:
            try:
                job.output.parent.mkdir(parents=True, exist_ok=True)
                for path in [job.output, sidecar_path(job.output)]:  # what a killed run was writing: no use now
                    for part in leftover_parts(path):
                        part.unlink(missing_ok=True)
                add_sound(job.source, job.output, prompt=job.prompt, negative_prompt=job.negative_prompt,
                          reference=job.reference, bank=bank, keep_original_audio=keep_original_audio,
                          overwrite=overwrite or task.action == "redo", pipeline=pipe, settings=settings, **options)
                record = output_record(job.output)
            except V2AError as err:
                error = str(err)
            except Exception as err:  # noqa: BLE001 - one bad file must not stop thousands of others
                if os.environ.get("V2A_DEBUG"):
                    raise
                error = f"{job.source}: unexpected {type(err).__name__}: {err}"
        seconds = time.perf_counter() - started
        if error is None:
            report.done.append(job.source)
            if manifest:
                manifest.add(job, "ok", seconds, provenance=record)
        else:
            report.failed.append((job.source, error))
            bar.write(f"v2a: error: {error}", file=sys.stderr)
            if manifest:
                manifest.add(job, "failed", seconds, error=error)
    return report


@contextlib.contextmanager
def launched_processes(cpu: bool = False):
    """This process's place among those ``accelerate launch`` started (alone when run directly): an
    accelerate ``PartialState`` with ``process_index``, ``num_processes`` and its own ``device``."""
    import torch
    from accelerate import PartialState
    from accelerate.utils import parse_flag_from_env

    launched = int(os.environ.get("LOCAL_RANK", -1)) != -1
    # Launched processes without a GPU (`accelerate launch --multi_gpu` or torchrun on a CPU machine)
    # share out the work on CPUs: accelerate expects to be told.
    cpu = cpu or parse_flag_from_env("ACCELERATE_USE_CPU") or (launched and not torch.cuda.is_available())
    # gloo for the reasons in the module docstring; accelerate's default would be NCCL on GPUs
    processes = PartialState(cpu=cpu, backend="gloo" if launched else None, timeout=PROCESS_TIMEOUT)
    try:
        yield processes
    finally:
        # gloo's threads, left running into the interpreter's exit, may abort the process (pytorch#190489)
        processes.destroy_process_group()


def share(jobs: list[Job], processes) -> list[Job]:
    """This process's share of ``jobs`` as the main process listed them (see the module docstring)."""
    from accelerate.utils import broadcast_object_list

    jobs = broadcast_object_list([jobs], from_process=0)[0]
    return jobs[processes.process_index::processes.num_processes]


def run_folder(jobs: list[Job], settings: GenerationSettings, *, load, model: str | None, manifest: Path,
               device: str = "auto", dry_run: bool = False, overwrite: bool = False, quiet: bool = False, bank=None,
               keep_original_audio: bool = False, vocoder: str | None = None, precision: str | None = None,
               **options) -> tuple[BatchReport | list[Task] | None, int]:
    """A folder run in this process, one of those ``accelerate launch`` started (or alone).

    Args:
        jobs: every job of the run (:func:`plan_jobs`); this process does its share.
        load: ``load(device)`` returns the pipeline on ``device``; called only if there is work.
        model: the ``--model`` value (None: the shipped model), whose identity outputs must record.
        vocoder: the ``--vocoder`` value (None: the model's own), which outputs must record too.
        precision: the transformer's precision asked for (``--dtype`` other than auto: "float32"), which
            outputs must record too; None takes an output made in whatever its machine chose.
        manifest: the JSONL manifest (:class:`Manifest`).
        device: ``--device``. With several processes each takes its own (accelerate's), unless
            ``cpu``.
        dry_run: plan only: nothing is loaded or written.
        bank, keep_original_audio, overwrite, quiet, options: as for :func:`run_jobs`.

    Returns:
        ``(result, processes)``: on the main process the whole run's :class:`BatchReport` (a dry
        run: every :class:`Task`, in the listing's order), elsewhere None; and how many processes ran.
    """
    from accelerate.utils import gather_object

    from .presets import DEBUG, default_weights_dir
    from .provenance import source_identity

    if model not in (None, DEBUG) and not (Path(model) / "model_index.json").is_file():
        raise V2AError(f"{model}: not a v2a model folder (no model_index.json)")  # before any process waits on it
    # outputs made with the model's own vocoder record none: expecting None tells them from those made with another
    identity = {"vocoder": None, **source_identity(model or default_weights_dir(), vocoder)}
    if precision is not None:
        identity["dtype"] = precision
    with launched_processes(cpu=device == "cpu") as processes:
        count, index = processes.num_processes, processes.process_index
        if count > 1 and device not in ("auto", "cpu"):
            raise V2AError(f"--device {device}: with several processes each takes its own device (leave --device "
                           "auto, or give cpu)")
        start, end, mix_db = options.get("start"), options.get("end"), options.get("mix_db")
        tasks = [replace(plan_task(job, identity, settings, bank=bank, start=start, end=end, mix_db=mix_db,
                                   sidecar=options.get("sidecar", False), overwrite=overwrite), process=index)
                 for job in share(jobs, processes)]
        if dry_run:
            tasks = [check_task(t, keep_original_audio=keep_original_audio, reencode=options.get("reencode", False),
                                start=start, end=end, mix_db=mix_db) for t in tasks]
            everything = sorted(gather_object(tasks), key=lambda t: t.job.source)  # the listing's order
            return (everything if processes.is_main_process else None), count
        pipe = None
        if any(task.action in ("do", "redo") for task in tasks):  # a process with nothing to do loads nothing
            # auto: accelerate's choice, this process's own GPU when launched (alone: cuda, mps or cpu,
            # as --device auto picks; cpu under `accelerate launch --cpu`)
            on = processes.device
            pipe = load(("cpu" if on.type == "cpu" else str(on)) if device == "auto" else device)
        report = run_jobs(pipe, tasks, settings, manifest=Manifest(manifest, index),
                          keep_original_audio=keep_original_audio, overwrite=overwrite,
                          quiet=quiet or not processes.is_main_process, bank=bank, **options)
        reports = gather_object([report])  # every process waits here until the last has finished
    if not processes.is_main_process:
        return None, count
    Manifest(manifest).merge()
    return BatchReport.total(reports), count
