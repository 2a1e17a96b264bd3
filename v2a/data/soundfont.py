"""Rendering General MIDI programs of a sound font into library recordings.

For each voice (:data:`v2a.data.captions.GM_VOICES`) a seeded plan of short clips is made:
per pitch range (low / mid / high third of the voice's range) a few single notes and a few
phrases of 2-6 notes with varied rhythm and velocity (several onsets per clip, which the
timing model needs). All clips of one voice go into one MIDI file with gaps and "all sound
off" between them, rendered once with the ``fluidsynth`` command line (reverb and chorus off,
float WAV, so a render is deterministic), and cut back into clips at the planned times.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import V2AError
from .captions import GMVoice
from .formats import Note, write_midi
from .splits import stable_hash

RENDER_RATE = 22050
GAP_S = 0.5  # silence between clips in the rendered file
TAILS = {"decay": 2.0, "sustain": 0.8, "bell": 3.5, "effect": 0.8, "hits": 2.5}  # release kept after the last note-off
RANGES = ("low", "mid", "high")
FADE_S = 0.03


@dataclass(frozen=True)
class PlannedClip:
    voice: str
    range: str  # low / mid / high, or the kit for percussion
    index: int
    phrase: bool  # several notes (True) or one note
    notes: tuple[Note, ...]  # times relative to the clip start
    length: float  # seconds, including the release tail

    @property
    def name(self) -> str:
        return f"{self.voice}/{self.range}/{self.index:02d}"


def plan_voice(voice: GMVoice, clips_per_range: int = 8, seed: str = "v2a") -> list[PlannedClip]:
    """The clips to render for ``voice``; deterministic for a given seed."""
    rng = np.random.default_rng(stable_hash(f"{seed}:{voice.key}"))
    tail = TAILS[voice.style]
    plans = []
    if voice.program < 0:  # percussion keys, per kit
        for kit in voice.kits:
            for i in range(clips_per_range):
                t, notes = 0.0, []
                for _ in range(int(rng.integers(2, 8))):
                    notes.append(Note(round(t, 3), 0.1, int(rng.choice(voice.keys)), int(rng.integers(50, 128)), 9))
                    t += float(rng.choice([0.125, 0.25, 0.25, 0.375, 0.5, 0.75]))
                plans.append(PlannedClip(voice.key, f"kit{kit}", i, True, tuple(notes), notes[-1].start + tail))
        return plans

    edges = np.linspace(voice.low, voice.high + 1, len(RANGES) + 1).round().astype(int)
    for r, name in enumerate(RANGES):
        lo, hi = int(edges[r]), max(int(edges[r]) + 1, int(edges[r + 1]))
        for i in range(clips_per_range):
            phrase = i % 2 == 1 or voice.style == "hits"
            if voice.style == "effect" and not phrase:
                n_notes, hold = 1, float(rng.uniform(3.0, 8.0))
            elif not phrase:
                n_notes, hold = 1, float(rng.uniform(0.8, 2.5))
            else:
                n_notes, hold = int(rng.integers(2, 7)), 0.0
            t, notes = 0.0, []
            pitch = int(rng.integers(lo, hi))
            for _ in range(n_notes):
                dur = hold or float(rng.choice([0.15, 0.25, 0.35, 0.5, 0.75, 1.0]))
                if voice.style == "effect" and phrase:
                    dur = float(rng.uniform(0.6, 2.0))
                notes.append(Note(round(t, 3), round(dur, 3), pitch, int(rng.integers(60, 128))))
                t += dur + float(rng.choice([0.0, 0.0, 0.05, 0.15, 0.3]))
                pitch = int(np.clip(pitch + rng.integers(-5, 6), lo, hi - 1))
            end = max(n.start + n.duration for n in notes)
            plans.append(PlannedClip(voice.key, name, i, phrase, tuple(notes), round(end + tail, 3)))
    return plans


def fluidsynth_available() -> bool:
    return shutil.which("fluidsynth") is not None


def sequence_clips(plans: list[PlannedClip]) -> tuple[list[Note], list[tuple[float, float]]]:
    """All clips one after another: the notes at their absolute times and each clip's span."""
    notes, spans, t = [], [], 0.25
    for p in plans:
        notes.extend(Note(round(t + n.start, 3), n.duration, n.pitch, n.velocity, n.channel) for n in p.notes)
        spans.append((t, t + p.length))
        t += p.length + GAP_S
    return notes, spans


def render_voice(voice: GMVoice, plans: list[PlannedClip], sf2: Path, workdir: Path | None = None) -> list[np.ndarray]:
    """Renders the planned clips of one voice with fluidsynth; one float32 waveform per plan."""
    if not fluidsynth_available():
        raise V2AError("fluidsynth is not installed: apt-get install fluidsynth (needed for the soundfont source)")
    if voice.program >= 0:
        return _render(plans, {0: voice.program}, sf2, workdir)
    # percussion: one file per kit, since the kit is a program change on channel 10
    out = []
    for kit in dict.fromkeys(p.range for p in plans):
        out.extend(_render([p for p in plans if p.range == kit], {9: int(kit[3:])}, sf2, workdir))
    return out


def _render(plans: list[PlannedClip], programs: dict[int, int], sf2: Path, workdir: Path | None) -> list[np.ndarray]:
    import soundfile as sf

    notes, spans = sequence_clips(plans)
    midi = write_midi(notes, programs, silence_at=[b for _, b in spans], end=spans[-1][1] + 0.1)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi)
        cmd = ["fluidsynth", "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(RENDER_RATE),
               "-O", "float", "-T", "wav", "-F", str(wav), str(sf2), str(mid)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wav.exists():
            raise V2AError(f"fluidsynth failed: {(result.stderr or result.stdout).strip()[-300:]}")
        audio, rate = sf.read(wav, dtype="float32", always_2d=True)
    mono = audio.mean(axis=1)
    clips = []
    fade = np.linspace(1.0, 0.0, int(FADE_S * rate), dtype=np.float32)
    for a, b in spans:
        clip = mono[int(a * rate): int(b * rate)].copy()
        clip[-len(fade):] *= fade[-len(clip):] if len(clip) < len(fade) else fade  # no click where a ringing tail is cut
        clips.append(clip)
    return clips


def wav_bytes(wav: np.ndarray, rate: int = RENDER_RATE) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, wav, rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()
