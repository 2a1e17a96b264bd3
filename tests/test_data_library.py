"""The sound library recipe on tiny generated inputs: captions, dedupe, splits, manifest."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from v2a.data.captions import captions_for, categorize, specific_caption
from v2a.data.library import build_library, finalise, process_sounds, summary_table
from v2a.data.processing import mel_fingerprint, near_duplicates, prepare_clips
from v2a.data.sources import SOURCES, scan_0ad, scan_hydrogen, scan_tuxpaint, take_group
from v2a.data.splits import assign_splits

SR = 22050


def hit(freq: float, seconds: float = 0.4, sr: int = SR, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A decaying tone (optionally noisy): a stand-in for a drum hit."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    x = np.sin(2 * np.pi * freq * t) + noise * rng.normal(size=len(t))
    return (0.5 * x * np.exp(-t * 8)).astype(np.float32)


DRUMKIT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>{name}</name><author>Tester</author><license>CC0</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick (Tama 22")</name>
   <layer><filename>kick_soft.wav</filename><min>0</min><max>0.5</max></layer>
   <layer><filename>kick_hard.wav</filename><min>0.5</min><max>1</max></layer>
  </instrument>
  <instrument><id>1</id><name>Snare Rock</name>
   <layer><filename>snare.wav</filename><min>0</min><max>1</max></layer>
  </instrument>
  <instrument><id>2</id><name>17</name>
   <layer><filename>mystery.wav</filename><min>0</min><max>1</max></layer>
  </instrument>
 </instrumentList>
</drumkit_info>
"""


def make_drumkits(root: Path, kits: int = 5) -> Path:
    for k in range(kits):
        kit = root / "usr/share/hydrogen/data/drumkits" / f"Kit{k}"
        kit.mkdir(parents=True)
        (kit / "drumkit.xml").write_text(DRUMKIT_XML.format(name=f"Kit {k}"))
        kick = hit(60 + 5 * k, seed=k)
        sf.write(kit / "kick_hard.wav", kick, SR)
        sf.write(kit / "kick_soft.wav", 0.3 * kick, SR)  # velocity layer: same sound, quieter
        sf.write(kit / "snare.wav", hit(200, noise=2.0, seed=10 + k), SR)
        sf.write(kit / "mystery.wav", hit(500), SR)
    return root


def test_categories_and_captions_read_like_people_write():
    assert categorize("Snare Rock", "percussion").name == "snare_drum"
    assert categorize("Hi-Hat Closed (Paiste 14\")", "percussion").name == "hi_hat"
    assert categorize("Ride Bell", "percussion").name == "ride_cymbal"
    assert categorize("actor/fauna/animal/horse_idle", "effects").name == "horse"
    assert categorize("ambient/weather/rain", "effects").name == "rain"
    assert categorize("attack/weapon/swordhit_12a", "effects").name == "sword_clash"
    # drum words mean nothing outside drum kits: a 'stick' in a game folder is not a rim shot
    assert categorize("stick", "effects") is None or categorize("stick", "effects").name != "rimshot"
    assert specific_caption('Tom Low (Tama Superstar 16")') == "tom low"
    caps = captions_for(categorize("horse", "effects"), "A horse.")
    assert caps[0] == "a horse" and "a horse neighs" in caps and len(caps) >= 3


def test_take_group_joins_numbered_takes():
    assert take_group("a/horse_neigh_12b.ogg") == take_group("a/horse_neigh_3.ogg") == "a/horse_neigh"
    assert take_group("a/swordhit_11a.ogg") == take_group("a/swordhit_12b.ogg")
    assert take_group("a/rain.ogg") != take_group("a/wind.ogg")


def test_processing_trims_levels_and_splits_long_ambience():
    quiet_hit = np.concatenate([np.zeros(SR), 0.05 * hit(300), np.zeros(SR)])
    (clip,) = prepare_clips(quiet_hit, SR)
    assert len(clip) < 0.6 * SR  # a second of silence on each side is gone
    assert np.abs(clip[: int(0.005 * SR)]).max() < np.abs(clip).max()  # pre-roll kept before the attack
    assert 0.05 < np.abs(clip).max() <= 0.97  # levelled up, never clipping
    rng = np.random.default_rng(0)
    ambience = (0.1 * rng.normal(size=25 * SR)).astype(np.float32)
    pieces = prepare_clips(ambience, SR)
    assert len(pieces) == 3 and all(len(p) <= 10 * SR for p in pieces)
    stereo_48k = np.stack([hit(440, sr=48000)] * 2, axis=1)
    (resampled,) = prepare_clips(stereo_48k, 48000)
    assert abs(len(resampled) - 0.4 * SR) < 0.1 * SR


def test_near_duplicates_are_velocity_layers_not_different_drums():
    kick = hit(60)
    fps = [mel_fingerprint(kick), mel_fingerprint(0.2 * kick), mel_fingerprint(hit(200, noise=2.0))]
    assert near_duplicates(fps, 0.97) == [1]


def test_hydrogen_scan_dedupe_and_split_keep_kits_whole(tmp_path):
    root = make_drumkits(tmp_path / "extract")
    spec = SOURCES["hydrogen"]
    sounds = list(scan_hydrogen(root, spec))
    # 'mystery' (instrument "17") has no category from its name or file and is skipped
    assert {s.category.name for s in sounds} == {"kick_drum", "snare_drum"}
    assert all(s.license == "CC0" or s.license for s in sounds)
    snare = next(s for s in sounds if s.category.name == "snare_drum")
    assert snare.captions[0] == "snare rock" and "snare drum hit" in snare.captions
    records, stats = process_sounds(sounds, tmp_path / "lib")
    assert stats["near_duplicate"] == 5  # one soft kick layer per kit
    kept_kicks = [r for r in records if r["category"] == "kick_drum"]
    assert all(r["original"].endswith("kick_hard.wav") for r in kept_kicks)  # loudest layer kept
    records = finalise(tmp_path / "lib", records)
    split_of_kit = {}
    for r in records:
        split_of_kit.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of_kit.values())  # no kit in two splits
    assert {r["split"] for r in records} == {"train", "val", "test"}


def test_assign_splits_never_leaks_a_group():
    items = [{"group": f"g{g}", "source": "s", "category": f"c{g % 3}", "duration": 1.0 + (i % 4)}
             for g in range(60) for i in range(g % 5 + 1)]
    splits = assign_splits(items)
    assert set(splits) == {f"g{g}" for g in range(60)}
    per_split = {s: sum(1 for v in splits.values() if v == s) for s in ("train", "val", "test")}
    assert per_split["train"] > per_split["val"] > 0 and per_split["test"] > 0
    assert assign_splits(items) == splits  # deterministic
    # a stratum with too few groups stays in training
    assert set(assign_splits(items[:3]).values()) == {"train"}


def test_0ad_and_tuxpaint_scans_use_paths_pictures_and_caption_files(tmp_path):
    import io

    zroot = tmp_path / "0ad/usr/share/games/0ad/mods/public"
    zroot.mkdir(parents=True)
    with zipfile.ZipFile(zroot / "public.zip", "w") as zf:
        for name in ["audio/actor/fauna/animal/horse_idle1.wav", "audio/ambient/weather/rain.wav",
                     "audio/music/Song.wav", "audio/voice/greek/civ/x.wav", "audio/misc/unlabelled.wav"]:
            buf = io.BytesIO()
            sf.write(buf, hit(300), SR, format="WAV")
            zf.writestr(name, buf.getvalue())
    found = {s.original: s for s in scan_0ad(tmp_path / "0ad", SOURCES["0ad"])}
    assert set(found) == {"audio/actor/fauna/animal/horse_idle1.wav", "audio/ambient/weather/rain.wav"}
    assert found["audio/ambient/weather/rain.wav"].category.kind == "ambience"
    assert found["audio/actor/fauna/animal/horse_idle1.wav"].read()[:4] == b"RIFF"

    stamps = tmp_path / "tux/usr/share/tuxpaint/stamps/animals/mammals"
    stamps.mkdir(parents=True)
    sf.write(stamps / "badger.ogg", hit(250), SR, format="OGG")
    sf.write(stamps / "badger_desc.ogg", hit(250), SR, format="OGG")  # spoken description: skipped
    sf.write(stamps / "badger_fr.ogg", hit(250), SR, format="OGG")  # no badger_fr.png: a translation
    (stamps / "badger.txt").write_text("A badger.\nfr.utf8=Un blaireau.\n")
    from PIL import Image

    Image.new("RGBA", (20, 20), (120, 80, 40, 255)).save(stamps / "badger.png")
    (tux,) = list(scan_tuxpaint(tmp_path / "tux", SOURCES["tuxpaint"]))
    assert tux.captions[0] == "a badger" and tux.picture == stamps / "badger.png"
    records, _ = process_sounds([tux], tmp_path / "lib")
    assert records[0]["picture"] and (tmp_path / "lib" / records[0]["picture"]).exists()


def test_build_library_from_plain_folder_writes_manifest(tmp_path):
    folder = tmp_path / "my_sounds"
    (folder / "dogs").mkdir(parents=True)
    for i in range(4):
        # clearly different sounds (different pitches), so none is dropped as a near-duplicate
        sf.write(folder / "dogs" / f"bark_{i}.wav", hit([250, 600, 1500, 3500][i]), 44100)
        sf.write(folder / f"thunder_{i}.flac", hit([100, 900, 2500, 5000][i], seconds=1.0), SR)
    (folder / "LICENSE").write_text("CC0-1.0\n")
    out = tmp_path / "library"
    records = build_library(out, sources=[], folders=[folder], cache=tmp_path / "cache")
    lines = [json.loads(x) for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(lines) == len(records) == 8
    needed = {"id", "path", "duration", "captions", "category", "family", "kind", "source", "package", "license", "split", "group", "picture"}
    for r in lines:
        assert needed <= set(r)
        info = sf.info(out / r["path"])
        assert info.samplerate == SR and info.channels == 1 and info.subtype == "PCM_16"
        assert abs(info.duration - r["duration"]) < 1e-3
        assert r["license"] == "CC0-1.0"
    assert {r["category"] for r in lines} == {"wolf_dog", "thunder"}
    assert "a dog barks" in next(r for r in lines if r["category"] == "wolf_dog")["captions"]
    assert (out / "ATTRIBUTION.md").read_text().count("CC0-1.0") == 1
    assert "2 categories in 2 families, 8 clips" in summary_table(records)
    # a second run reuses the finished source instead of redoing it
    mtime = (out / "parts" / "folder-my_sounds.jsonl").stat().st_mtime
    build_library(out, sources=[], folders=[folder], cache=tmp_path / "cache")
    assert (out / "parts" / "folder-my_sounds.jsonl").stat().st_mtime == mtime


def test_unknown_source_is_a_clear_error(tmp_path):
    from v2a.errors import V2AError

    with pytest.raises(V2AError, match="unknown source"):
        build_library(tmp_path, sources=["nope"], cache=tmp_path)


def test_pieces_of_one_ambience_are_not_near_duplicates(tmp_path):
    """A long rain recording becomes several alike clips; all are kept, all in one group."""
    rain = tmp_path / "rain.wav"
    sf.write(rain, (0.1 * np.random.default_rng(0).normal(size=25 * SR)).astype(np.float32), SR)
    from v2a.data.sources import folder_source, scan_folder

    sounds = list(scan_folder(tmp_path, folder_source(tmp_path, "amb")))
    records, stats = process_sounds(sounds, tmp_path / "lib")
    assert len(records) == 3 and stats.get("near_duplicate", 0) == 0
    assert len({r["group"] for r in records}) == 1 and [r["piece"] for r in records] == [0, 1, 2]
    assert all(r["kind"] == "ambience" for r in records)
