"""The OpenSFX, sound-icons and sound-font sources on tiny generated inputs."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from v2a.data.captions import CATEGORY_BY_NAME, GM_VOICES, GMVoice, gm_captions, opensfx_label, sound_icon_label
from v2a.data.formats import TEMPO_US, Note, read_cat, write_midi
from v2a.errors import V2AError
from v2a.data.soundfont import fluidsynth_available, plan_voice, sequence_clips
from v2a.data.sources import SOURCES, opensfx_credits, scan_opensfx, scan_sound_icons, scan_soundfont
from v2a.data.splits import assign_splits

SR = 22050


def wav(freq: float, seconds: float = 0.3) -> bytes:
    t = np.arange(int(seconds * SR)) / SR
    buf = io.BytesIO()
    sf.write(buf, (0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-4 * t)).astype(np.float32), SR, format="WAV")
    return buf.getvalue()


def make_cat(entries: list[tuple[str, bytes]], pad: int = 7) -> bytes:
    """An OpenTTD .cat: (offset | 1<<31, size) table, then name-length byte, name, WAV, padding."""
    table_len = 8 * len(entries)
    body, table, offset = bytearray(), bytearray(), table_len
    for name, payload in entries:
        raw = name.encode() + b"\0"
        chunk = bytes([len(raw)]) + raw + payload + b"\0" * pad
        table += struct.pack("<II", offset | 0x80000000, len(payload))
        body += chunk
        offset += len(chunk)
    return bytes(table + body)


TITLES = [
    '"Horse". Original "neigh.wav" by "someone". Edited by "Wuzzy". License: Creative Commons Attribution 3.0 Unported.',
    '"Crash". Original "crash.wav" by "x". License: Creative Commons Zero 1.0.',
    '"Big crash". Original "crash.wav" by "x". License: Creative Commons Zero 1.0.',
    '"Helicopter". Original "heli.wav" by "y". License: Creative Commons Attribution-ShareAlike 3.0 Unported.',
    '"Good Year". By Someone. License: Creative Commons Attribution 3.0 Unported.',
]


def test_read_cat_returns_named_wav_payloads():
    payloads = [wav(200 + 100 * i) for i in range(len(TITLES))]
    entries = read_cat(make_cat(list(zip(TITLES, payloads))))
    assert [e.name for e in entries] == TITLES
    assert [e.data for e in entries] == payloads
    audio, rate = sf.read(io.BytesIO(entries[2].data))
    assert rate == SR and len(audio) == int(0.3 * SR)


def test_opensfx_scan_labels_licenses_and_groups(tmp_path):
    cat = tmp_path / "usr/share/games/openttd/baseset/opensfx/opensfx.cat"
    cat.parent.mkdir(parents=True)
    cat.write_bytes(make_cat([(t, wav(300 + 50 * i)) for i, t in enumerate(TITLES)]))
    sounds = list(scan_opensfx(tmp_path, SOURCES["opensfx"]))
    by_name = {s.extra["title"].split('"')[1]: s for s in sounds}
    assert "Good Year" not in by_name  # jingles are not sound effects
    assert by_name["Horse"].category.name == "horse" and by_name["Horse"].license == "CC-BY-3.0"
    assert "dobroide" not in by_name["Horse"].attribution and '"someone"' in by_name["Horse"].attribution
    assert by_name["Helicopter"].license == "CC-BY-SA-3.0" and by_name["Crash"].license == "CC0-1.0"
    # two edits of one original recording share a split group
    assert by_name["Crash"].group == by_name["Big crash"].group != by_name["Horse"].group
    assert opensfx_credits(TITLES[0])[0] == "Horse"
    assert opensfx_label("Unused/Nothing") is None


def test_sound_icons_scan_uses_file_names(tmp_path):
    folder = tmp_path / "usr/share/sounds/sound-icons"
    folder.mkdir(parents=True)
    for name in ("guitar-12", "guitar-13", "electric-piano-3", "percussion-10", "xylofon"):
        (folder / f"{name}.wav").write_bytes(wav(440))
    sounds = {Path(s.original).stem: s for s in scan_sound_icons(tmp_path, SOURCES["sound-icons"])}
    assert set(sounds) == {"guitar-12", "guitar-13", "electric-piano-3", "xylofon"}
    assert sounds["electric-piano-3"].category.name == "piano"
    assert sounds["xylofon"].category.name == "mallet_percussion"
    assert sounds["guitar-12"].group == sounds["guitar-13"].group
    assert sound_icon_label("pisk-up-cink")[0].name == "whistle"


def test_midi_writer_round_trips_notes_and_program():
    notes = [Note(0.0, 0.5, 60, 100), Note(0.25, 0.25, 64, 80), Note(1.0, 0.1, 38, 127, 9)]
    data = write_midi(notes, {0: 40, 9: 0}, silence_at=[2.0])
    assert data[:4] == b"MThd" and b"\xc0\x28" in data  # program change to 40 (violin) on channel 1
    back = read_midi_notes(data)
    assert [(n.pitch, n.velocity, n.channel) for n in back] == [(60, 100, 0), (64, 80, 0), (38, 127, 9)]
    assert np.allclose([n.start for n in back], [0.0, 0.25, 1.0], atol=2e-3)
    assert np.allclose([n.duration for n in back], [0.5, 0.25, 0.1], atol=2e-3)


def test_gm_plans_are_deterministic_in_range_and_sequenced_without_overlap():
    voice = next(v for v in GM_VOICES if v.key == "trumpet")
    plans = plan_voice(voice, clips_per_range=4)
    assert plans == plan_voice(voice, clips_per_range=4)
    assert {p.range for p in plans} == {"low", "mid", "high"} and len(plans) == 12
    assert all(voice.low <= n.pitch <= voice.high for p in plans for n in p.notes)
    assert any(p.phrase and len(p.notes) > 1 for p in plans) and any(not p.phrase for p in plans)
    notes, spans = sequence_clips(plans)
    assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))  # clips never overlap
    first = 0
    for plan, (a, b) in zip(plans, spans):  # every clip's notes fall inside its own span
        assert all(a - 1e-3 <= n.start < b for n in notes[first: first + len(plan.notes)])
        first += len(plan.notes)
    drums = plan_voice(next(v for v in GM_VOICES if v.key == "kick"), clips_per_range=2)
    assert {p.range for p in drums} == {"kit0", "kit16", "kit25", "kit32"}
    assert all(n.channel == 9 and n.pitch in (35, 36) for p in drums for n in p.notes)
    assert gm_captions(voice, True)[0] == "a trumpet plays a few notes"
    for v in GM_VOICES:
        assert v.category in CATEGORY_BY_NAME


def test_gm_groups_are_voice_and_range_and_never_straddle_splits(tmp_path):
    (tmp_path / "font.sf2").write_bytes(b"")  # scanning plans clips; nothing is rendered until read
    sounds = list(scan_soundfont(tmp_path, SOURCES["soundfont"], clips_per_range=3))
    assert len({s.group for s in sounds}) == sum(1 if v.program >= 0 else 0 for v in GM_VOICES) * 3 + sum(
        len(v.kits) for v in GM_VOICES if v.program < 0)
    items = [{"group": s.group, "source": s.source, "category": s.category.name, "duration": 2.0} for s in sounds]
    splits = assign_splits(items)
    assert {"train", "val", "test"} <= set(splits.values())
    assert all(s.group.startswith(f"soundfont/{s.original.split('#')[1].split('/')[0]}/") for s in sounds)


@pytest.mark.skipif(not fluidsynth_available(), reason="fluidsynth is not installed")
def test_fluidsynth_renders_clips_with_onsets_at_the_start():
    fonts = sorted(Path("/usr/share/sounds/sf2").glob("*.sf2")) if Path("/usr/share/sounds/sf2").exists() else []
    if not fonts:
        pytest.skip("no General MIDI sound font installed")
    from v2a.data.soundfont import render_voice

    voice = GMVoice("test_piano", 0, "piano", "a piano", 60, 72)
    plans = plan_voice(voice, clips_per_range=1)
    clips = render_voice(voice, plans, fonts[0], workdir=None)
    assert len(clips) == 3
    for clip, plan in zip(clips, plans):
        assert abs(len(clip) / SR - plan.length) < 0.01
        assert np.abs(clip[: int(0.05 * SR)]).max() > 1e-3  # the first note sounds at once


def read_midi_notes(data: bytes) -> list[Note]:
    """The notes of a format-0 file written by :func:`write_midi`: a reader to check the writer."""
    if data[:4] != b"MThd":
        raise V2AError("not a MIDI file")
    division = struct.unpack_from(">H", data, 12)[0]
    if data[14:18] != b"MTrk":
        raise V2AError("MIDI file without a track")
    length = struct.unpack_from(">I", data, 18)[0]
    track, pos, tick, tempo = data[22: 22 + length], 0, 0, TEMPO_US
    open_notes: dict[tuple[int, int], tuple[int, int]] = {}
    notes = []

    def seconds(t):
        return t * tempo / 1e6 / division

    status = 0
    while pos < len(track):
        delta = 0
        while True:
            b = track[pos]
            pos += 1
            delta = (delta << 7) | (b & 0x7F)
            if not b & 0x80:
                break
        tick += delta
        if track[pos] & 0x80:
            status = track[pos]
            pos += 1
        if status == 0xFF:
            kind, n = track[pos], track[pos + 1]
            if kind == 0x51:
                tempo = int.from_bytes(track[pos + 2: pos + 5], "big")
            pos += 2 + n
            continue
        kind, ch = status & 0xF0, status & 0x0F
        if kind in (0xC0, 0xD0):
            pos += 1
            continue
        a, b = track[pos], track[pos + 1]
        pos += 2
        if kind == 0x90 and b > 0:
            open_notes[(ch, a)] = (tick, b)
        elif kind in (0x80, 0x90) and (ch, a) in open_notes:
            start, vel = open_notes.pop((ch, a))
            notes.append(Note(seconds(start), seconds(tick - start), a, vel, ch))
    return sorted(notes, key=lambda n: (n.start, n.pitch))
