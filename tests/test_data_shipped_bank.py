"""The shipped bank's recipe: train-split recordings only, real and varied first, within its size budget."""

import json

import numpy as np
import pytest
import soundfile as sf

from v2a.bank import SoundBank
from v2a.data.shipped_bank import HEADER_BYTES, build_shipped_bank, choose_entries, entry_bytes, ranked_candidates

RATE = 22050


def _record(i, category, split, source, group, level, seconds=2.0):
    return {"id": f"{source}-{category}-{i}", "path": f"clips/{i}.flac", "duration": seconds, "category": category,
            "family": "tests", "captions": [f"a {category}"], "split": split, "source": source,
            "package": f"{source}-data", "license": f"{source}-licence", "attribution": f"{source} authors",
            "group": group, "level": level}


# bell: real recordings of two sources and a louder sound-font note; the loudest bell is in the test split.
# knock: two pieces of one recording and a louder but short clip. wind: sound-font notes only.
RECORDS = [
    _record(0, "bell", "train", "a", "a/bell1", 0.10), _record(1, "bell", "train", "a", "a/bell2", 0.20),
    _record(2, "bell", "train", "b", "b/bell", 0.05), _record(3, "bell", "train", "soundfont", "sf/bell", 0.50),
    _record(4, "bell", "val", "a", "a/bell3", 0.60), _record(5, "bell", "test", "b", "b/bell2", 0.70),
    _record(6, "knock", "train", "a", "a/knock", 0.02), _record(7, "knock", "train", "a", "a/knock", 0.30),
    _record(8, "knock", "train", "b", "b/knock", 0.80, seconds=0.5),
    _record(9, "wind", "train", "soundfont", "sf/wind", 0.10), _record(10, "wind", "test", "a", "a/wind", 0.90),
]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("library")
    (root / "clips").mkdir()
    rng = np.random.default_rng(0)
    for r in RECORDS:
        sf.write(root / r["path"], (r["level"] * rng.normal(size=int(r["duration"] * RATE))).astype(np.float32), RATE)
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return root


def test_candidates_are_train_recordings_real_varied_and_loud_first():
    levels = {r["id"]: 20 * np.log10(r["level"]) for r in RECORDS}
    ranked = ranked_candidates(RECORDS, levels)
    assert {r["split"] for pool in ranked.values() for r in pool} == {"train"}
    # real before the louder sound-font note; the second pick from another source than the first
    assert [r["id"] for r in ranked["bell"]] == ["a-bell-1", "b-bell-2", "a-bell-0", "soundfont-bell-3"]
    # one clip per recording (its loudest piece); a short clip after a long one, however loud
    assert [r["id"] for r in ranked["knock"]] == ["a-knock-7", "b-knock-8"]
    assert [r["id"] for r in ranked["wind"]] == ["soundfont-wind-9"]  # a category without recordings keeps its notes
    # categories take turns: with room for three entries, every category gets one
    room = HEADER_BYTES + sum(entry_bytes(r, 16) for r in (RECORDS[1], RECORDS[7], RECORDS[9]))
    chosen = choose_entries(RECORDS, levels, 16, max_bytes=room)
    assert sorted(r["category"] for r in chosen) == ["bell", "knock", "wind"]


def test_the_bank_is_built_within_its_budget(library, debug_pipe, tmp_path):
    whole = build_shipped_bank(debug_pipe, library, tmp_path / "whole.safetensors", max_bytes=10**9)
    assert len(whole.entries) == 7  # every train recording group: nothing from val or test
    size = (tmp_path / "whole.safetensors").stat().st_size
    out = tmp_path / "bank.safetensors"
    bank = build_shipped_bank(debug_pipe, library, out, max_bytes=size - 1)
    assert out.stat().st_size <= size - 1 and len(bank.entries) == 6
    loaded = SoundBank.load(out)
    assert [e.category for e in loaded.entries] == sorted(e.category for e in loaded.entries)  # a category's together
    assert loaded.entries[0].caption == "a bell" and loaded.entries[0].source == "a-data"
    assert loaded.entries[0].license == "a-licence" and loaded.entries[0].attribution == "a authors"
    credits = (tmp_path / "bank.attribution.md").read_text()
    assert "| a-data | a-licence | a authors |" in credits and "soundfont-data" in credits
