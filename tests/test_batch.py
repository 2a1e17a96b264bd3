"""Folder mode: the prompts CSV, the plan of jobs, resuming, the manifest, and the work shared
out among processes."""

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

import v2a
from conftest import moving_square_frames, write_video
from v2a.api import add_sound
from v2a.batch import (MANIFEST, Job, Manifest, check_task, find_videos, plan_jobs, plan_task, read_prompts_csv,
                       run_folder)
from v2a.errors import V2AError
from v2a.presets import load_pipeline
from v2a.provenance import read_provenance, source_identity
from v2a.settings import GenerationSettings

REPO = Path(v2a.__file__).resolve().parents[1]


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_prompts_csv_rows_with_and_without_a_negative_prompt(tmp_path):
    csv = tmp_path / "prompts.csv"
    csv.write_text("file,prompt,negative_prompt\nsub/a.mp4,drums,music\nb.mov, rain ,\nc.mp4,,speech\n,ignored,\n",
                   encoding="utf-8")
    assert read_prompts_csv(csv) == {"sub/a.mp4": ("drums", "music", None), "b.mov": ("rain", None, None),
                                     "c.mp4": (None, "speech", None)}
    two_columns = tmp_path / "two.csv"
    two_columns.write_text("file,prompt\na.mp4,birds\n", encoding="utf-8")
    assert read_prompts_csv(two_columns) == {"a.mp4": ("birds", None, None)}


def test_prompts_csv_errors_are_one_line(tmp_path):
    with pytest.raises(V2AError, match="not found"):
        read_prompts_csv(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,text\na.mp4,drums\n", encoding="utf-8")
    with pytest.raises(V2AError, match="'file' and 'prompt'"):
        read_prompts_csv(bad)


def test_jobs_mirror_the_folder_and_take_their_prompts_from_the_csv(tmp_path):
    src = tmp_path / "clips"
    for name in ("a.mp4", "sub/b.mov", "sub/deeper/c.mkv", "notes.txt", ".hidden/d.mp4", "sub/.e.part.mp4"):
        touch(src / name)
    assert [p.relative_to(src).as_posix() for p in find_videos(src)] == ["a.mp4", "sub/b.mov", "sub/deeper/c.mkv"]
    prompts = {"sub/b.mov": ("rain", None, None), "c.mkv": (None, "music", None)}  # a path, and a bare file name
    jobs = plan_jobs(src, tmp_path / "out", "footsteps", "speech", prompts, audio_only=False)
    assert [(j.source.relative_to(src).as_posix(), j.output.relative_to(tmp_path / "out").as_posix(), j.prompt,
             j.negative_prompt) for j in jobs] == [
        ("a.mp4", "a.mp4", "footsteps", "speech"),  # no row: the command line's prompts
        ("sub/b.mov", "sub/b.mov", "rain", "speech"),  # an empty cell falls back to the command line
        ("sub/deeper/c.mkv", "sub/deeper/c.mkv", "footsteps", "music"),
    ]
    audio = plan_jobs(src, tmp_path / "out", None, None, None, audio_only=True)
    assert [j.output.name for j in audio] == ["a.wav", "b.wav", "c.wav"] and all(j.prompt is None for j in audio)


# --- resuming: what a run does with a job, from its output alone ----------------------------------

def _one_job(tmp_path, prompt="rain", ext=".mp4"):
    src = tmp_path / "clips"
    write_video(src / f"a{ext}", moving_square_frames(20), fps=10, codec="mpeg2video" if ext == ".ts" else "libx264")
    [job] = plan_jobs(src, tmp_path / "out", prompt, None, None, audio_only=False)
    job.output.parent.mkdir(parents=True, exist_ok=True)
    return job


def test_a_finished_output_is_skipped_and_another_jobs_output_is_refused(tmp_path, debug_pipe):
    job = _one_job(tmp_path)
    settings, identity = GenerationSettings(steps=2), source_identity("debug")
    assert plan_task(job, identity, settings).action == "do"
    add_sound(job.source, job.output, prompt="rain", start=0.5, pipeline=debug_pipe, settings=settings)

    def plan(**changes):
        args = {"job": job, "identity": identity, "settings": settings, "start": 0.5, **changes}
        return plan_task(args.pop("job"), args.pop("identity"), args.pop("settings"), **args)

    done = plan(start="00:00:00.500")
    assert (done.action, done.record) == ("skip", read_provenance(job.output))
    # whatever the record names otherwise is another job's output: refused, named, unless --overwrite
    for changes, named in [(dict(job=replace(job, prompt="wind")), "prompt 'rain', not 'wind'"),
                           (dict(settings=replace(settings, seed=1)), "seed 0, not 1"),
                           (dict(identity={"model": "weights", "model_sha256": "ab12"}), "model 'debug', not 'weights'"),
                           (dict(identity={**identity, "vocoder": "light", "vocoder_sha256": "cd34"}),
                            "vocoder None, not 'light'"),
                           (dict(start=0.6), "span [0.5, 2.0], not [0.6, 2.0]"),
                           (dict(start=None), "span [0.5, 2.0], not None"),
                           (dict(mix_db=-6.0), "mix_db None, not -6.0"),
                           (dict(bank=SimpleNamespace(name="mine.bank.safetensors")), "bank None")]:
        refused = plan(**changes)
        assert refused.action == "fail" and named in refused.why and "--overwrite" in refused.why, refused.why
    assert plan(overwrite=True).action == "do"
    assert plan(bank=False).action == "skip"  # --no-bank: and none was used
    # asked for a sidecar it lacks: its run stopped between the two writes; made again
    assert plan(sidecar=True).action == "redo"
    job.output.write_bytes(b"not a video")
    refused = plan()
    assert refused.action == "fail" and "--overwrite replaces it" in refused.why


def test_an_output_without_tags_is_done_only_with_its_sidecar(tmp_path, debug_pipe):
    job = _one_job(tmp_path, ext=".ts")
    settings, identity = GenerationSettings(steps=2), source_identity("debug")
    add_sound(job.source, job.output, prompt="rain", pipeline=debug_pipe, settings=settings)
    assert plan_task(job, identity, settings).action == "skip"
    (job.output.parent / (job.output.name + ".json")).unlink()
    redo = plan_task(job, identity, settings)
    assert redo.action == "redo" and "has no sidecar" in redo.why


def test_the_dry_run_check_refuses_what_a_run_would(tmp_path):
    job = _one_job(tmp_path)
    task = plan_task(job, source_identity("debug"), GenerationSettings())
    assert check_task(task).action == "do"
    refused = check_task(task, start=5)
    assert refused.action == "fail" and "start 5 s is not before the end of the video" in refused.why
    assert refused.describe() == f"fail  {job.source}: {refused.why}"
    unmixable = check_task(task, mix_db=-6)
    assert unmixable.describe() == f"fail  {unmixable.why}"  # the error names the input already
    assert unmixable.why.endswith("a.mp4: has no audio to mix the new sound under (leave out --mix)")


def test_a_model_folder_is_known_before_it_loads(tmp_path, debug_pipe):
    # what the plan expects of a model folder (before loading) is what the loaded model records
    folder = tmp_path / "model"
    debug_pipe.save_pretrained(folder)
    src, out = tmp_path / "clips", tmp_path / "out"
    _clips(src, 2)
    jobs = plan_jobs(src, out, "rain", None, None, audio_only=True)
    loads = []

    def run():
        return run_folder(jobs, GenerationSettings(steps=2), load=lambda device: loads.append(device) or
                          load_pipeline(folder, device), model=str(folder), manifest=out / MANIFEST, device="cpu",
                          quiet=True)

    out.mkdir()
    first, processes = run()
    assert (len(first.done), processes, loads) == (2, 1, ["cpu"])
    second, _ = run()
    assert (len(second.done), len(second.skipped), len(second.failed)) == (0, 2, 0)
    assert loads == ["cpu"]  # nothing left to do: no model loaded
    assert [e["status"] for e in _manifest(out)] == ["ok", "ok", "skipped", "skipped"]
    recorded = read_provenance(out / "c0.wav")["model_sha256"]
    assert recorded is not None and recorded == source_identity(folder)["model_sha256"]


def test_manifest_pieces_merge_whole_lines_once(tmp_path):
    path = tmp_path / MANIFEST
    path.write_text('{"from": "an earlier run"}\n')
    job = Job(tmp_path / "a.mp4", tmp_path / "out" / "a.mp4", None, None)
    Manifest(path, 0).add(job, "ok", 1.5, provenance={"seed": 0})
    Manifest(path, 1).add(job, "failed", 0.25, error="a.mp4: broken")
    Manifest(path, 10).add(job, "skipped", 0.0, reason="done")
    with Manifest(path, 1).piece.open("a") as handle:
        handle.write('{"cut short by a crash')  # a machine went down mid-line
    (tmp_path / "v2a-manifest.notes.jsonl").write_text("not a piece\n")
    Manifest(path).merge()
    lines = path.read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert entries[0] == {"from": "an earlier run"}
    assert [(e["status"], e["process"]) for e in entries[1:]] == [("ok", 0), ("failed", 1), ("skipped", 10)]
    assert entries[1]["provenance"] == {"seed": 0} and entries[1]["seconds"] == 1.5 and entries[1]["time"]
    assert entries[2]["error"] == "a.mp4: broken" and entries[3]["reason"] == "done"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [MANIFEST, "v2a-manifest.notes.jsonl"]
    Manifest(path).merge()  # nothing left to merge: unchanged
    assert path.read_text().splitlines() == lines


# --- several processes: `accelerate launch`, on CPUs --------------------------------------------------

def _launch(*args, processes=2):
    """``accelerate launch`` of the CLI (its torchrun launcher; on a machine without GPUs each
    process runs on the CPU), on a free port so that tests may run side by side; one process: the
    CLI alone."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(port)] if processes > 1 else [sys.executable]
    return subprocess.run([*launcher, "-m", "v2a.cli", "add-sound", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


def _manifest(out):
    return [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]


def _clips(folder, n):
    for i in range(n):
        write_video(folder / ("sub" if i % 3 == 2 else "") / f"c{i}.mp4", moving_square_frames(10, seed=i), fps=10)


def test_processes_share_the_folder_each_file_once_and_resume(tmp_path):
    src, out = tmp_path / "clips", tmp_path / "out"
    _clips(src, 5)
    (src / "broken.mp4").write_bytes(b"\0" * 100)
    common = ("-o", out, "--model", "debug", "--steps", "2", "--prompt", "rain", "-q")
    listing = _launch(src, *common, "--dry-run")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    assert lines[-1] == "dry run: 5 to do, 0 skipped (already done), 1 would fail"
    assert {line.rsplit("[process ", 1)[1] for line in lines[:-1]} == {"0]", "1]"}  # both have a share
    assert not out.exists()  # a dry run writes nothing

    first = _launch(src, *common)
    assert first.returncode == 1  # one file failed; the main process says so for all
    assert f"5 done, 0 skipped (already done), 1 failed (2 processes); manifest: {out / MANIFEST}" in first.stderr
    assert first.stderr.count("v2a: error: ") == 1 and "broken.mp4" in first.stderr
    entries = _manifest(out)
    names = sorted(Path(e["file"]).name for e in entries)
    assert names == ["broken.mp4", "c0.mp4", "c1.mp4", "c2.mp4", "c3.mp4", "c4.mp4"]  # each file once
    assert {e["process"] for e in entries} == {0, 1}
    for entry in entries:
        if entry["status"] == "ok":
            assert entry["provenance"] == read_provenance(entry["output"]) and entry["provenance"]["prompt"] == "rain"
        else:
            assert entry["status"] == "failed" and "not a readable video" in entry["error"]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(["c0.mp4", "c1.mp4", "c3.mp4",
                                                                          "c4.mp4", MANIFEST])  # pieces merged

    # a crash: c3's output never appeared (its temporary file and its process's piece are left over),
    # and broken.mp4 has been mended; the rest must be skipped, untouched
    (out / "c3.mp4").rename(out / ".c3.k2j_0x9q.part.mp4")
    (out / ".c.3.k2j_0x9q.part.mp4").write_bytes(b"")  # another output's, were c.3.mp4 being written
    (out / "v2a-manifest.1.jsonl").write_text('{"file": "left by the crashed run"}\n{"cut sho')
    write_video(src / "broken.mp4", moving_square_frames(10), fps=10)
    stamps = {p.name: p.stat().st_mtime_ns for p in out.rglob("c*.mp4")}
    second = _launch(src, *common[:-1])
    assert second.returncode == 0, second.stderr
    assert f"2 done, 4 skipped (already done), 0 failed (2 processes)" in second.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("c*.mp4") if p.name in stamps} == stamps
    assert [p.name for p in out.glob(".*")] == [".c.3.k2j_0x9q.part.mp4"]  # c3's unfinished file is removed
    leftover = {"file": "left by the crashed run"}
    new = _manifest(out)[len(entries):]  # after the first run's lines
    assert new.count(leftover) == 1  # merged too, without its cut line
    runs = sorted((Path(e["file"]).name, e["status"]) for e in new if e != leftover)
    assert runs == [("broken.mp4", "ok"), ("c0.mp4", "skipped"), ("c1.mp4", "skipped"), ("c2.mp4", "skipped"),
                    ("c3.mp4", "ok"), ("c4.mp4", "skipped")]
    skipped = [e for e in new if e.get("status") == "skipped"]
    assert all(e["provenance"] == read_provenance(e["output"]) for e in skipped)


def test_a_killed_run_resumes_and_does_every_file_once(tmp_path):
    src, out = tmp_path / "clips", tmp_path / "out"
    _clips(src, 6)
    args = [sys.executable, "-m", "v2a.cli", "add-sound", src, "-o", out, "--model", "debug", "--steps", "2", "-q"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    run = subprocess.Popen(list(map(str, args)), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list(out.rglob("c*.mp4")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    run.kill()  # SIGKILL: no clean-up at all, as when a machine is lost
    run.communicate()
    made = {p.name: p.stat().st_mtime_ns for p in out.rglob("c*.mp4")}
    killed = [json.loads(line) for piece in out.glob("v2a-manifest.*.jsonl") for line in piece.read_text().splitlines()]
    assert {Path(e["output"]).name for e in killed} <= set(made)  # a result is recorded once its output is whole
    rerun = _launch(src, "-o", out, "--model", "debug", "--steps", "2", processes=1)
    assert rerun.returncode == 0, rerun.stderr
    entries = _manifest(out)
    assert entries[:len(killed)] == killed  # the killed run's piece, merged
    again = {(Path(e["file"]).name, e["status"]) for e in entries[len(killed):]}
    every = {f"c{i}.mp4" for i in range(6)}
    assert again == {(name, "skipped") for name in made} | {(name, "ok") for name in every - set(made)}
    assert {p.name: p.stat().st_mtime_ns for p in out.rglob("c*.mp4") if p.name in made} == made  # untouched
    assert not list(out.rglob(".*"))  # the unfinished file the kill left, if any, is gone
    ok = [Path(e["file"]).name for e in entries if e["status"] == "ok"]
    assert len(ok) == len(set(ok))  # none made twice
    assert all(read_provenance(e["output"])["input"] == Path(e["file"]).name for e in entries)
