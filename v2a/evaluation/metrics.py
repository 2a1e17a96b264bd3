"""Evaluation metrics as pure functions on arrays: timing, quality and semantics.

Timing
    ``detect_onsets``         onset times (s) of a waveform; silence and steady noise give none.
    ``onset_f1``              one-to-one matching of predicted to reference event times.
    ``aggregate_onset_scores``  micro-averaged F1 / offset over many clips.
    ``sound_rate_in_silence`` fraction of static-scene time that is audible.
Quality
    ``frechet_distance``      between two sets of embeddings.
    ``multi_resolution_stft_distance``  spectral convergence + log-magnitude L1.
Semantics
    ``kl_divergence``, ``inception_score`` on classifier (judge) distributions.

Levels in dB are relative to full scale: 0 dB is the RMS of a +-1 square wave, so a full-scale
sine is -3 dB and a waveform of all zeros is -inf (clamped to the floor).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

# --------------------------------------------------------------------------------------
# Timing


def _as_mono(waveform) -> np.ndarray:
    if hasattr(waveform, "detach"):  # a torch tensor
        waveform = waveform.detach().cpu().numpy()
    y = np.asarray(waveform, dtype=np.float64)
    if y.ndim == 2:  # (channels, samples)
        y = y.mean(0)
    if y.ndim != 1:
        raise ValueError(f"expected a 1-D waveform or (channels, samples), got shape {y.shape}")
    return y


def _stft_power(y: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """|STFT|^2 with centred periodic-Hann frames and reflect padding, shape (n_fft//2+1, frames)."""
    pad = n_fft // 2
    mode = "reflect" if y.size > pad else "constant"
    padded = np.pad(y, (pad, pad), mode=mode)
    n_frames = 1 + (padded.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)
    return (np.abs(np.fft.rfft(padded[idx] * window, axis=1)) ** 2).T


def _mel_triangles(n_mels: int, n_fft: int, sample_rate: int) -> np.ndarray:
    """HTK-mel triangles (peak 1, not area-normalised), 0 Hz to Nyquist: (n_mels, n_fft//2+1)."""
    mel = lambda f: 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)  # noqa: E731
    edges = np.linspace(0.0, mel(sample_rate / 2), n_mels + 2)
    bins = mel(np.arange(n_fft // 2 + 1) * sample_rate / n_fft)
    lo, centre, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    return np.maximum(0.0, np.minimum((bins - lo) / (centre - lo), (hi - bins) / (hi - centre)))


def onset_envelope(waveform, sample_rate: int, *, n_mels: int = 64, range_db: float = 60.0,
                   floor_db: float = -100.0):
    """Spectral flux in dB: mean over mel bands of the positive frame-to-frame level rise.

    Mel band powers (46 ms Hann frames, hop 11.6 ms, at any sample rate) are in dB re a
    full-scale sine and floored at ``range_db`` below the clip's loudest band-frame (and never
    below ``floor_db``), so silence gives exactly 0, a sound starting from silence rises by
    tens of dB, and steady noise fluctuates by 1-2 dB whatever its level.
    Returns (envelope, frame_times_s). The times are shifted by one hop: a centred frame
    sees an onset about one hop early (measured -12 ms on impulses, noise bursts, tones and
    kicks from 0 to -40 dBFS), so a peak at frame k is an onset at ``frame_times_s[k]``.
    Plain numpy (no librosa: its import and first call cost seconds).
    """
    y = _as_mono(waveform)
    n_fft = int(2 ** round(math.log2(0.04 * sample_rate)))  # 1024 at 22.05 kHz, 2048 at 44.1 kHz
    hop = n_fft // 4
    if y.size == 0:
        return np.zeros(0), np.zeros(0)
    mel = _mel_triangles(n_mels, n_fft, sample_rate) @ _stft_power(y, n_fft, hop)
    full_scale_sine = (n_fft / 2) ** 2 / 4.0  # |X|^2 of a unit sine under a periodic Hann
    level = 10.0 * np.log10(np.maximum(mel / full_scale_sine, 1e-30))
    level = np.maximum(level, max(level.max() - range_db, floor_db))
    flux = np.maximum(0.0, np.diff(level, axis=1)).mean(0)
    envelope = np.concatenate([[0.0], flux])
    times = (np.arange(envelope.size) + 1) * hop / sample_rate
    return envelope, times


def peak_pick(x: np.ndarray, pre_max: int, post_max: int, pre_avg: int, post_avg: int,
              delta: float, wait: int) -> np.ndarray:
    """Indices n with x[n] = max(x[n-pre_max : n+post_max+1]), x[n] >= mean(x[n-pre_avg :
    n+post_avg+1]) + delta, and at least ``wait`` frames after the previous pick (as
    ``librosa.util.peak_pick``, windows clipped at the edges)."""
    x = np.asarray(x, dtype=np.float64)
    peaks, last = [], -np.inf
    csum = np.concatenate([[0.0], np.cumsum(x)])
    for n in range(x.size):
        a, b = max(0, n - pre_max), min(x.size, n + post_max + 1)
        if x[n] < x[a:b].max():
            continue
        a, b = max(0, n - pre_avg), min(x.size, n + post_avg + 1)
        if x[n] < (csum[b] - csum[a]) / (b - a) + delta or n - last <= wait:
            continue
        peaks.append(n)
        last = n
    return np.asarray(peaks, dtype=int)


def detect_onsets(waveform, sample_rate: int, *, delta: float = 1.5, min_separation: float = 0.05,
                  min_level_db: float = -60.0) -> np.ndarray:
    """Onset times in seconds (sorted float array) of a mono waveform.

    Peak picking on the dB spectral flux of ``onset_envelope``: a peak must be the local
    maximum within +-35 ms, exceed the local mean (116 ms before, 35 ms after) by ``delta``
    dB, follow the previous onset by more than ``min_separation`` s, and the sound must reach
    ``min_level_db`` dBFS RMS (20 ms frames) within 50 ms after it.
    Silence, inaudible sound and stationary noise give no onsets; events 20 dB quieter than
    the loudest one in the clip are still found (broadband ones 30 dB). The clip edges are
    reflect-padded, so a sound already playing at t=0 is not an onset (nor is an event
    within ~10 ms of the start). Timing accuracy is about +-6 ms (half a hop).
    """
    y = _as_mono(waveform)
    envelope, times = onset_envelope(y, sample_rate)
    if envelope.size < 3 or envelope.max() < delta:
        return np.zeros(0)
    hop_s = times[1] - times[0]
    frames = lambda seconds: max(1, int(round(seconds / hop_s)))  # noqa: E731
    peaks = peak_pick(envelope, pre_max=frames(0.035), post_max=frames(0.035), pre_avg=frames(0.116),
                      post_avg=frames(0.035), delta=delta, wait=frames(min_separation))
    onsets = np.asarray(times[peaks], dtype=np.float64)
    if onsets.size:
        db, starts = frame_levels_db(y, sample_rate, 0.02)
        loud = [db[(starts + 0.02 > t - 0.03) & (starts < t + 0.05)].max(initial=-np.inf) >= min_level_db
                for t in onsets]
        onsets = onsets[np.asarray(loud, dtype=bool)]
    return onsets


def match_onsets(predicted, reference, tolerance: float) -> list[tuple[int, int]]:
    """One-to-one pairs (i_pred, i_ref) with ``|pred - ref| <= tolerance``.

    Maximises the number of pairs, then minimises their total distance (Hungarian algorithm
    on a cost where an out-of-tolerance pair costs more than any set of valid pairs).
    """
    from scipy.optimize import linear_sum_assignment

    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    r = np.asarray(reference, dtype=np.float64).reshape(-1)
    if p.size == 0 or r.size == 0:
        return []
    dist = np.abs(p[:, None] - r[None, :])
    valid = dist <= tolerance + 1e-9
    if not valid.any():
        return []
    big = (tolerance + 1.0) * (min(p.size, r.size) + 1)
    rows, cols = linear_sum_assignment(np.where(valid, dist, big))
    return [(int(i), int(j)) for i, j in zip(rows, cols) if valid[i, j]]


def onset_f1(predicted, reference, tolerance: float = 0.1) -> dict:
    """F1, precision, recall and mean absolute offset (s) of one-to-one matched onsets.

    Edge cases: both sets empty -> f1 = precision = recall = 1.0 (nothing to find, nothing
    invented: a silent static scene done right); exactly one empty -> all 0.0.
    ``mean_abs_offset`` (and ``mean_offset``, predicted minus reference, signed) is NaN when
    nothing matched. Counts are included so that clips can be pooled with
    ``aggregate_onset_scores``.
    """
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    r = np.asarray(reference, dtype=np.float64).reshape(-1)
    pairs = match_onsets(p, r, tolerance)
    n_match = len(pairs)
    offsets = np.array([p[i] - r[j] for i, j in pairs])
    if p.size == 0 and r.size == 0:
        precision = recall = f1 = 1.0
    elif p.size == 0 or r.size == 0:
        precision = recall = f1 = 0.0
    else:
        precision = n_match / p.size
        recall = n_match / r.size
        f1 = 0.0 if n_match == 0 else 2 * precision * recall / (precision + recall)
    return {
        "f1": float(f1), "precision": float(precision), "recall": float(recall),
        "mean_abs_offset": float(np.abs(offsets).mean()) if n_match else float("nan"),
        "mean_offset": float(offsets.mean()) if n_match else float("nan"),
        "n_matched": n_match, "n_predicted": int(p.size), "n_reference": int(r.size),
        "sum_abs_offset": float(np.abs(offsets).sum()),
    }


def aggregate_onset_scores(scores: Iterable[dict]) -> dict:
    """Micro-average of ``onset_f1`` results over clips (pooled counts, not a mean of F1s)."""
    scores = list(scores)
    n_m = sum(s["n_matched"] for s in scores)
    n_p = sum(s["n_predicted"] for s in scores)
    n_r = sum(s["n_reference"] for s in scores)
    if n_p == 0 and n_r == 0:
        precision = recall = f1 = 1.0
    else:
        precision = n_m / n_p if n_p else 0.0
        recall = n_m / n_r if n_r else 0.0
        f1 = 2 * precision * recall / (precision + recall) if n_m else 0.0
    return {"f1": f1, "precision": precision, "recall": recall,
            "mean_abs_offset": sum(s["sum_abs_offset"] for s in scores) / n_m if n_m else float("nan"),
            "n_matched": n_m, "n_predicted": n_p, "n_reference": n_r, "n_clips": len(scores)}


def frame_levels_db(waveform, sample_rate: int, frame_seconds: float = 0.02,
                    floor_db: float = -120.0) -> tuple[np.ndarray, np.ndarray]:
    """RMS level (dBFS, 0 dB = full-scale square) of non-overlapping frames and their start times."""
    y = _as_mono(waveform)
    n = max(1, int(round(frame_seconds * sample_rate)))
    n_frames = int(math.ceil(y.size / n))
    if n_frames == 0:
        return np.zeros(0), np.zeros(0)
    padded = np.zeros(n_frames * n)
    padded[:y.size] = y
    frames = padded.reshape(n_frames, n)
    lengths = np.full(n_frames, n, dtype=np.float64)
    lengths[-1] = y.size - (n_frames - 1) * n  # RMS of the last frame over its real samples
    rms = np.sqrt((frames ** 2).sum(1) / lengths)
    db = 20.0 * np.log10(np.maximum(rms, 10.0 ** (floor_db / 20.0)))
    return db, np.arange(n_frames) * n / sample_rate


def sound_rate_in_silence(waveform, sample_rate: int,
                          static_intervals: Sequence[tuple[float, float]] | None = None, *,
                          threshold_db: float = -50.0, frame_seconds: float = 0.02) -> float:
    """Fraction of the static-scene time during which the audio is audible.

    A 20 ms frame counts as audible when its RMS exceeds ``threshold_db`` dBFS. Only frames
    whose centre lies in one of ``static_intervals`` ((start, end) seconds; the whole clip when
    None) count. Returns a number in [0, 1]; NaN when the intervals cover no frame.
    """
    db, starts = frame_levels_db(waveform, sample_rate, frame_seconds)
    if db.size == 0:
        return float("nan")
    centres = starts + frame_seconds / 2
    if static_intervals is None:
        inside = np.ones(db.size, dtype=bool)
    else:
        inside = np.zeros(db.size, dtype=bool)
        for start, end in static_intervals:
            inside |= (centres >= start) & (centres < end)
    if not inside.any():
        return float("nan")
    return float((db[inside] > threshold_db).mean())


def quiet_frames(waveform, sample_rate: int, below_peak_db: float = 40.0, frame_seconds: float = 0.02) -> np.ndarray:
    """Per 20 ms frame: is it at least ``below_peak_db`` under the clip's loudest frame (silent to a listener
    who hears the clip's peak)? A clip of digital silence is quiet everywhere."""
    db, _ = frame_levels_db(waveform, sample_rate, frame_seconds)
    return db < max(db.max(initial=-120.0) - below_peak_db, -119.0)


def starts_silent(waveform, sample_rate: int, seconds: float = 0.5, below_peak_db: float = 40.0) -> bool:
    """Is the clip's first ``seconds`` quiet throughout (40 dB under its peak)? Scenes that move from
    their first frame should sound from it: a model trained on recordings padded with silence
    learns to start late."""
    quiet = quiet_frames(waveform, sample_rate, below_peak_db)
    return bool(quiet[: max(1, int(round(seconds / 0.02)))].all())


def gap_within(waveform, reference, sample_rate: int, intervals: Sequence[tuple[float, float]], *,
               min_gap: float = 0.25, below_peak_db: float = 40.0) -> bool:
    """Does ``waveform`` fall quiet for at least ``min_gap`` seconds inside one of ``intervals`` (such as
    the cross-fades between sampling windows) while ``reference`` (the true soundtrack) sounds there?"""
    frame = 0.02
    quiet = quiet_frames(waveform, sample_rate, below_peak_db)
    sounding = ~quiet_frames(reference, sample_rate, below_peak_db)
    n = min(len(quiet), len(sounding))
    dropped = quiet[:n] & sounding[:n]
    need = max(1, int(round(min_gap / frame)))
    for start, end in intervals:
        run = 0
        for value in dropped[int(start / frame): int(math.ceil(end / frame))]:
            run = run + 1 if value else 0
            if run >= need:
                return True
    return False


# --------------------------------------------------------------------------------------
# Quality


def _mean_cov(emb) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(emb, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need a (n >= 2, dim) array of embeddings, got shape {x.shape}")
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(emb_a, emb_b, *, method: str = "eigh", eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two embedding sets (rows are samples).

    FD = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^1/2).

    ``method="eigh"`` (default) uses tr((S_a S_b)^1/2) = tr((A S_b A)^1/2) with A = S_a^1/2,
    from symmetric eigendecompositions with negative round-off eigenvalues clipped: always
    real, stable for the singular covariances of small sets. ``method="sqrtm"`` is the usual
    ``scipy.linalg.sqrtm`` recipe (pytorch-fid): eps * I added to both covariances when the
    product is singular, and the imaginary part dropped when it is negligible.
    """
    mu_a, s_a = _mean_cov(emb_a)
    mu_b, s_b = _mean_cov(emb_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"embedding sizes differ: {mu_a.shape} vs {mu_b.shape}")
    s_a, s_b = np.atleast_2d(s_a), np.atleast_2d(s_b)
    diff = mu_a - mu_b
    if method == "eigh":
        w, v = np.linalg.eigh(s_a)
        root_a = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        m = root_a @ s_b @ root_a
        tr_covmean = float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())
    elif method == "sqrtm":
        from scipy import linalg

        covmean = linalg.sqrtm(s_a @ s_b)
        if not np.isfinite(covmean).all():
            offset = np.eye(s_a.shape[0]) * eps
            covmean = linalg.sqrtm((s_a + offset) @ (s_b + offset))
        if np.iscomplexobj(covmean):
            if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
                raise ValueError(f"sqrtm: large imaginary component {np.abs(covmean.imag).max():.3g}")
            covmean = covmean.real
        tr_covmean = float(np.trace(covmean))
    else:
        raise ValueError(f"unknown method {method!r}")
    fd = float(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * tr_covmean)
    return max(fd, 0.0)


def multi_resolution_stft_distance(wave_a, wave_b, sample_rate: int = 22050, *,
                                   fft_sizes: Sequence[int] = (512, 1024, 2048),
                                   eps: float = 1e-5) -> dict:
    """Multi-resolution STFT distance of ``wave_a`` (estimate) to ``wave_b`` (reference).

    For each FFT size (given for 22.05 kHz and scaled to ``sample_rate``; hop = size / 4,
    Hann window): spectral convergence ||S_b - S_a||_F / ||S_b||_F and log-magnitude L1
    mean |ln max(S_a, eps) - ln max(S_b, eps)|, averaged over the sizes. The longer signal is
    cut to the shorter one. Returns ``{"spectral_convergence", "log_magnitude", "total"}``
    (total = their sum); 0 for identical signals.
    """
    a, b = _as_mono(wave_a), _as_mono(wave_b)
    n = min(a.size, b.size)
    if n == 0:
        raise ValueError("empty waveform")
    a, b = a[:n], b[:n]
    sc, lm = [], []
    for size in fft_sizes:
        n_fft = int(2 ** round(math.log2(size * sample_rate / 22050)))
        sa, sb = (np.sqrt(_stft_power(x, n_fft, n_fft // 4)) for x in (a, b))
        sc.append(np.linalg.norm(sb - sa) / max(np.linalg.norm(sb), eps))
        lm.append(np.abs(np.log(np.maximum(sa, eps)) - np.log(np.maximum(sb, eps))).mean())
    out = {"spectral_convergence": float(np.mean(sc)), "log_magnitude": float(np.mean(lm))}
    out["total"] = out["spectral_convergence"] + out["log_magnitude"]
    return out


# --------------------------------------------------------------------------------------
# Semantics


def _normalise(p, eps: float) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), eps, None)
    return p / p.sum(-1, keepdims=True)


def kl_divergence(p, q, eps: float = 1e-8):
    """KL(p || q) in nats over the last axis (natural log); p = reference, q = generated.

    Inputs are class-probability vectors or batches of them (same shape); both are clipped at
    ``eps`` and renormalised, so zeros in q give a large but finite value. Returns a float for
    1-D input, else an array of the leading shape.
    """
    p, q = _normalise(p, eps), _normalise(q, eps)
    if p.shape != q.shape:
        raise ValueError(f"shapes differ: {p.shape} vs {q.shape}")
    kl = (p * (np.log(p) - np.log(q))).sum(-1)
    return float(kl) if kl.ndim == 0 else kl


def inception_score(probs, eps: float = 1e-12) -> float:
    """exp(E_x KL(p(y|x) || p(y))) over a set of class distributions (rows)."""
    p = _normalise(np.atleast_2d(probs), eps)
    marginal = p.mean(0, keepdims=True)
    return float(np.exp((p * (np.log(p) - np.log(marginal))).sum(1).mean()))
