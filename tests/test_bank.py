"""Sound banks: built from labelled files, stored compactly, searched by what a prompt says."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from v2a.bank import MEL_STEP, SoundBank, build_bank, caption_from_name, embed_texts, folder_items
from v2a.errors import V2AError

RATE = 22050


@pytest.fixture(scope="module")
def sound_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sounds")
    rng = np.random.default_rng(0)
    for name, hz in (("dog_bark.wav", 300), ("rain-02.wav", 0), ("door_slam.wav", 90)):
        wave = 0.3 * (np.sin(2 * np.pi * hz * np.arange(RATE * 4) / RATE) if hz else rng.normal(size=RATE * 4))
        sf.write(folder / name, wave.astype(np.float32), RATE)
    (folder / "notes.txt").write_text("not a sound")
    return folder


def test_captions_come_from_file_names():
    from pathlib import Path

    assert caption_from_name(Path("dog_bark-02.wav")) == "dog bark"
    assert caption_from_name(Path("DoorSlam.flac")) == "doorslam"


def test_bank_round_trips_and_retrieves_by_caption(sound_folder, debug_pipe, tmp_path):
    items = folder_items(sound_folder, RATE)
    assert [e.caption for _, e in items] == ["dog bark", "door slam", "rain"]  # notes.txt is no sound
    bank = build_bank(debug_pipe, items)
    assert all(len(m) == int(3.0 * RATE) // 256 for m in bank.mels)  # the first 3 s of each
    path = bank.save(tmp_path / "bank.safetensors")
    loaded = SoundBank.load(path)
    assert loaded.entries == bank.entries
    for a, b in zip(loaded.mels, bank.mels):
        assert np.abs(a - np.clip(b, None, a.max())).max() <= MEL_STEP / 2 + 1e-4  # 8-bit steps
    rain, dog = embed_texts(debug_pipe, ["rain", "dog bark"])
    assert loaded.search(rain, k=1)[0][0] == 2  # the caption's own entry first
    assert [i for i, _ in loaded.search(rain, k=3)][0] == 2 and len(loaded.search(rain, k=3)) == 3
    assert 2 not in [i for i, _ in loaded.search(rain, k=3, avoid=rain)]  # the negative prompt removes it
    assert loaded.search(dog, k=1)[0][0] == 0
    assert loaded.reference_mel([0, 2]).shape[0] == len(loaded.mels[0]) + len(loaded.mels[2])


def test_bad_banks_are_one_line_errors(tmp_path):
    with pytest.raises(V2AError, match="no such sound bank"):
        SoundBank.load(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(V2AError, match="not a sound bank"):
        SoundBank.load(junk)


def test_bank_commands(sound_folder, tmp_path):
    def v2a(*args):
        return subprocess.run([sys.executable, "-m", "v2a.cli", "bank", *map(str, args)], capture_output=True,
                              text=True, timeout=300)

    out = tmp_path / "mine.safetensors"
    built = v2a("build", sound_folder, "-o", out, "--model", "debug")
    assert built.returncode == 0 and "3 sounds" in built.stdout, built.stderr
    again = v2a("build", sound_folder, "-o", out, "--model", "debug")
    assert again.returncode == 1 and "exists" in again.stderr and "Traceback" not in again.stderr
    found = v2a("search", "rain", "--bank", out, "--model", "debug", "-k", "2")
    assert found.returncode == 0 and found.stdout.splitlines()[0].split("  ")[1] == "rain", found.stdout
    missing = v2a("search", "rain", "--bank", tmp_path / "none.safetensors", "--model", "debug")
    assert missing.returncode == 1 and "no such sound bank" in missing.stderr and "Traceback" not in missing.stderr
