"""Reference sounds ("sound like this") from files, videos and waveforms, in the API, CLI and folder mode."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from conftest import moving_square_frames, write_video
from v2a.batch import plan_jobs, read_prompts_csv
from v2a.errors import V2AError
from v2a.media.audio import REFERENCE_MAX_SECONDS, load_reference, load_references

RATE = 22050


def tone(seconds: float, hz: float = 440.0, rate: int = RATE) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_references_from_audio_files_videos_and_waveforms(tmp_path):
    wav = tmp_path / "bark.wav"
    sf.write(wav, np.stack([tone(1.0), tone(1.0)], 1), 44100)  # stereo at another rate
    sound = load_reference(wav, RATE)
    assert sound.ndim == 1 and abs(len(sound) - 0.5 * RATE) < 10  # 1 s at 44.1 kHz is 0.5 s of tone
    video = write_video(tmp_path / "clip.mp4", moving_square_frames(25), audio_seconds=1.0)
    assert abs(len(load_reference(video, RATE)) - RATE) < 0.1 * RATE  # the video's audio track
    long = load_reference((tone(15.0, rate=16000), 16000), RATE)
    assert len(long) == int(REFERENCE_MAX_SECONDS * RATE)  # only the first 10 s
    joined = load_references([(tone(8.0), RATE), (tone(8.0, 880), RATE)], RATE)
    assert len(joined) == int(REFERENCE_MAX_SECONDS * RATE)  # two equal shares of 10 s, each heard
    assert load_references(None, RATE) is None


def test_bad_references_are_one_line_errors(tmp_path):
    with pytest.raises(V2AError, match="no such file"):
        load_reference(tmp_path / "missing.wav", RATE)
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, np.zeros(RATE, np.float32), RATE)
    with pytest.raises(V2AError, match="silent"):
        load_reference(quiet, RATE)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(V2AError, match="not a readable audio file"):
        load_reference(corrupt, RATE)
    silent_video = write_video(tmp_path / "video_only.mp4", moving_square_frames(10))
    with pytest.raises(V2AError, match="no audio stream"):
        load_reference(silent_video, RATE)
    with pytest.raises(V2AError, match="with its rate"):
        load_reference(tone(1.0), RATE)


def test_prompts_csv_reference_column(tmp_path):
    sounds = tmp_path / "refs"
    sounds.mkdir()
    sf.write(sounds / "dog.wav", tone(1.0), RATE)
    csv = tmp_path / "prompts.csv"
    csv.write_text("file,prompt,negative_prompt,reference\na.mp4,dog,,refs/dog.wav\nb.mp4,rain,,\n", encoding="utf-8")
    table = read_prompts_csv(csv)
    assert table == {"a.mp4": ("dog", None, sounds / "dog.wav"), "b.mp4": ("rain", None, None)}
    src = tmp_path / "clips"
    src.mkdir()
    for name in ("a.mp4", "b.mp4"):
        (src / name).write_bytes(b"x")
    everyone = (tone(1.0), RATE)
    jobs = plan_jobs(src, tmp_path / "out", None, None, table, False, everyone)
    assert jobs[0].reference == sounds / "dog.wav" and jobs[1].reference is everyone  # empty cell: the CLI's
    csv.write_text("file,prompt,reference\na.mp4,dog,refs/cat.wav\n", encoding="utf-8")
    with pytest.raises(V2AError, match="cat.wav of a.mp4 not found"):
        read_prompts_csv(csv)


def test_cli_refuses_a_bad_reference_before_loading_the_model(tmp_path, clip_path):
    result = subprocess.run([sys.executable, "-m", "v2a.cli", "add-sound", str(clip_path), "--model", "debug",
                             "--reference", str(tmp_path / "missing.wav"), "-o", str(tmp_path / "out.wav")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "missing.wav: no such file" in lines[0]
    assert not (tmp_path / "out.wav").exists()
    # the debug model takes no reference: said in one line, nothing written
    sf.write(tmp_path / "dog.wav", tone(1.0), RATE)
    result = subprocess.run([sys.executable, "-m", "v2a.cli", "add-sound", str(clip_path), "--model", "debug",
                             "--reference", str(tmp_path / "dog.wav"), "-o", str(tmp_path / "out.wav")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "takes no reference sound" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.wav").exists()
