"""Folder mode without a model: the prompts CSV and the plan of jobs."""

from pathlib import Path

import pytest

from v2a.batch import find_videos, plan_jobs, read_prompts_csv
from v2a.errors import V2AError


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
