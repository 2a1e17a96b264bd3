"""Evaluation metrics as pure functions on arrays: timing, quality and semantics.

Timing (onsets come from :func:`v2a.signal.onsets.detect_onsets`)
    ``onset_f1``              one-to-one matching of predicted to reference event times.
    ``aggregate_onset_scores``  micro-averaged F1 / offset over many clips.
    ``sound_rate_in_silence`` fraction of static-scene time that is audible.
Quality
    ``frechet_distance``      between two sets of embeddings.
    ``multi_resolution_stft_distance``  spectral convergence + log-magnitude L1.
Semantics
    ``kl_divergence`` between classifier (judge) distributions.

Levels in dB are relative to full scale: 0 dB is the RMS of a +-1 square wave, so a full-scale
sine is -3 dB and a waveform of all zeros is -inf (clamped to the floor).
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from ..signal.onsets import as_mono, frame_levels_db, stft_power

# --------------------------------------------------------------------------------------
# Timing


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
    a, b = as_mono(wave_a), as_mono(wave_b)
    n = min(a.size, b.size)
    if n == 0:
        raise ValueError("empty waveform")
    a, b = a[:n], b[:n]
    sc, lm = [], []
    for size in fft_sizes:
        n_fft = int(2 ** round(math.log2(size * sample_rate / 22050)))
        sa, sb = (np.sqrt(stft_power(x, n_fft, n_fft // 4)) for x in (a, b))
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
