"""Turning a decoded recording into library clips: mono 22,050 Hz, trimmed, split, levelled.

Every step here is deterministic, so rebuilding the library from the same packages gives the
same clips bit for bit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..media.audio import decode_audio_bytes
from ..signal.audio import DEFAULT_AUDIO, AudioSettings, log_mel, resample
from ..errors import V2AError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessingSettings:
    """Knobs of the clip recipe; the defaults are what the shipped library was built with."""

    trim_top_db: float = 45.0  # below peak: quieter leading/trailing audio counts as silence
    pre_roll_s: float = 0.01  # kept before the first sound so its attack is not cut
    tail_s: float = 0.05  # kept after the last sound so decays end naturally
    min_duration_s: float = 0.08  # shorter clips carry no learnable sound
    max_clip_s: float = 10.0  # long recordings (ambiences) are cut into clips of at most this
    min_last_piece_s: float = 3.0  # a shorter remainder is dropped rather than kept as a stub
    target_dbfs: float = -20.0  # loudness target of the active part of the clip
    peak_ceiling: float = 0.97  # never clip when writing 16-bit audio
    silent_rms: float = 1e-4  # recordings quieter than this are treated as empty


def to_library_format(audio: np.ndarray, rate: int, settings: AudioSettings = DEFAULT_AUDIO) -> np.ndarray:
    """Mono float32 at the library rate from ``(samples,)`` or ``(samples, channels)`` audio."""
    audio = np.asarray(audio, dtype=np.float32)
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = resample(mono, rate, settings.sample_rate).astype(np.float32)
    return np.nan_to_num(mono)


def trim_silence(wav: np.ndarray, rate: int, cfg: ProcessingSettings = ProcessingSettings()) -> np.ndarray:
    """Cuts leading and trailing silence, keeping a short pre-roll and tail.

    Silence is relative to the clip's own peak (``trim_top_db`` below it), so quiet recordings
    keep their content; a tiny pre-roll keeps the attack so detected onsets stay sharp.
    """
    import librosa

    if len(wav) == 0 or np.abs(wav).max() < 1e-6:
        return wav[:0]
    _, (start, end) = librosa.effects.trim(wav, top_db=cfg.trim_top_db, frame_length=512, hop_length=128)
    start = max(0, start - int(cfg.pre_roll_s * rate))
    end = min(len(wav), end + int(cfg.tail_s * rate))
    return wav[start:end]


def split_long(wav: np.ndarray, rate: int, cfg: ProcessingSettings = ProcessingSettings()) -> list[np.ndarray]:
    """Cuts recordings longer than ``max_clip_s`` into equal pieces of at most that length.

    Equal pieces (instead of fixed 10 s pieces and a stub) keep every piece long enough to
    hold the ambience's character; a remainder shorter than ``min_last_piece_s`` only happens
    for clips barely over the limit and is then merged by the equal split.
    """
    max_len = int(cfg.max_clip_s * rate)
    if len(wav) <= max_len:
        return [wav]
    pieces = int(np.ceil(len(wav) / max_len))
    bounds = np.linspace(0, len(wav), pieces + 1).round().astype(int)
    out = [wav[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    return [p for p in out if len(p) >= int(cfg.min_last_piece_s * rate) or len(out) == 1]


def active_rms(wav: np.ndarray, frame: int = 1024) -> float:
    """RMS of the loud part of a clip (frames at or above the median frame energy).

    A plain RMS over the whole clip would make a short hit followed by a long decay (or a
    sparse ambience) come out far too loud after normalisation.
    """
    if len(wav) < frame:
        return float(np.sqrt(np.mean(wav**2) + 1e-12))
    frames = wav[: len(wav) // frame * frame].reshape(-1, frame)
    energy = np.mean(frames**2, axis=1)
    loud = energy[energy >= np.median(energy)]
    return float(np.sqrt(np.mean(loud) + 1e-12))


def normalise_loudness(wav: np.ndarray, cfg: ProcessingSettings = ProcessingSettings()) -> np.ndarray:
    """Scales a clip to ``target_dbfs`` of active loudness, then caps its peak."""
    rms = active_rms(wav)
    gain = 10 ** (cfg.target_dbfs / 20.0) / max(rms, 1e-8)
    out = wav * gain
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > cfg.peak_ceiling:
        out = out * (cfg.peak_ceiling / peak)
    return out.astype(np.float32)


def prepare_clips(audio: np.ndarray, rate: int, cfg: ProcessingSettings = ProcessingSettings(),
                  settings: AudioSettings = DEFAULT_AUDIO) -> list[np.ndarray]:
    """The whole recipe for one recording: mono/resample, trim, split, level.

    Returns an empty list for silent or too-short recordings.
    """
    wav = to_library_format(audio, rate, settings)
    if len(wav) == 0 or np.sqrt(np.mean(wav**2)) < cfg.silent_rms:
        return []
    wav = trim_silence(wav, settings.sample_rate, cfg)
    clips = []
    for piece in split_long(wav, settings.sample_rate, cfg):
        # pieces of an ambience can start or end quiet: trim each again
        piece = trim_silence(piece, settings.sample_rate, cfg)
        if len(piece) < cfg.min_duration_s * settings.sample_rate:
            continue
        clips.append(normalise_loudness(piece, cfg))
    return clips


# ---------------------------------------------------------------------------------------------
# near-duplicates

FINGERPRINT_SECONDS = 1.0  # the attack and early decay tell velocity layers apart from other sounds
FINGERPRINT_BANDS = 20
FINGERPRINT_STEPS = 16


def mel_fingerprint(wav: np.ndarray, settings: AudioSettings = DEFAULT_AUDIO) -> np.ndarray:
    """A small, level-independent summary of a clip's spectral shape over its first second.

    The log-mel (the model's own representation) of the clip's first second (or all of a
    shorter clip, stretched to the same grid, so a 50 ms click is not compared by its padding),
    pooled to a coarse steps x bands grid, with the overall level removed and unit length: a
    cosine similarity near 1 means "the same sound, maybe played louder or softer". On the
    Hydrogen kits, velocity layers of one instrument score 0.98-1.0 (median 0.999), different
    instruments of one kit 0.48-0.89 (10th-90th percentile).
    """
    n = min(len(wav), int(FINGERPRINT_SECONDS * settings.sample_rate))
    head = np.zeros(max(n, settings.n_fft), dtype=np.float32)
    head[:n] = wav[:n]
    mel = log_mel(torch.from_numpy(head), settings)  # (frames, n_mels)
    mel = torch.nn.functional.adaptive_avg_pool2d(mel[None, None], (FINGERPRINT_STEPS, FINGERPRINT_BANDS))[0, 0]
    mel = mel - settings.silence_level  # 0 = silence
    vec = mel.flatten().numpy().astype(np.float64)
    vec = vec - vec.mean()
    return (vec / (np.linalg.norm(vec) + 1e-9)).astype(np.float32)


def near_duplicates(fingerprints: list[np.ndarray], threshold: float) -> list[int]:
    """Indices to drop so that no two kept fingerprints have cosine similarity >= threshold.

    Greedy in the given order: the first of a set of near-identical clips is kept, so callers
    order clips the way they prefer to keep them (e.g. loudest velocity layer first).
    """
    kept: list[np.ndarray] = []
    drop = []
    for i, fp in enumerate(fingerprints):
        if kept and float(np.max(np.stack(kept) @ fp)) >= threshold:
            drop.append(i)
        else:
            kept.append(fp)
    return drop
