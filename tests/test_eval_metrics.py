"""Evaluation metrics on constructed cases with known answers."""

import math

import numpy as np
import pytest

from v2a.evaluation import metrics as M
from v2a.signal.onsets import detect_onsets

SR = 22050
EVENTS = np.array([0.5, 1.0, 1.6, 2.3, 3.1])


def impulse_train(times, sr=SR, seconds=4.0, shift=0.0):
    y = np.zeros(int(seconds * sr))
    for t in times:
        y[int(round((t + shift) * sr))] = 1.0
    return y


def noise_bursts(times, sr=SR, seconds=4.0, seed=0):
    rng = np.random.RandomState(seed)
    y = 1e-4 * rng.randn(int(seconds * sr))  # a quiet noise floor under the events
    for t in times:
        i = int(round(t * sr))
        y[i:i + 4000] += 0.5 * rng.randn(4000) * np.exp(-np.arange(4000) / 800)
    return y


# ---- onsets --------------------------------------------------------------------------------


def test_impulse_train_onsets_match_exactly():
    onsets = detect_onsets(impulse_train(EVENTS), SR)
    score = M.onset_f1(onsets, EVENTS, tolerance=0.05)
    assert score["f1"] == 1.0
    assert score["mean_abs_offset"] < 0.008  # within the 11.6 ms frame hop


def test_percussive_bursts_and_other_sample_rate():
    score = M.onset_f1(detect_onsets(noise_bursts(EVENTS), SR), EVENTS, tolerance=0.05)
    assert score["f1"] == 1.0 and score["mean_abs_offset"] < 0.008
    y = impulse_train(EVENTS, sr=44100)
    score = M.onset_f1(detect_onsets(y, 44100), EVENTS, tolerance=0.05)
    assert score["f1"] == 1.0 and score["mean_abs_offset"] < 0.008


def test_shift_by_200ms_gives_zero_at_100ms():
    onsets = detect_onsets(impulse_train(EVENTS, shift=0.2), SR)
    assert len(onsets) == len(EVENTS)
    score = M.onset_f1(onsets, EVENTS, tolerance=0.1)
    assert score["f1"] == 0.0 and score["n_matched"] == 0 and math.isnan(score["mean_abs_offset"])


def test_silence_and_steady_noise_give_no_onsets():
    assert detect_onsets(np.zeros(3 * SR), SR).size == 0
    assert detect_onsets(1e-6 * np.random.RandomState(1).randn(3 * SR), SR).size == 0
    assert detect_onsets(0.3 * np.random.RandomState(2).randn(3 * SR), SR).size == 0
    assert detect_onsets(np.zeros(0), SR).size == 0


def test_onset_f1_counts_and_edge_cases():
    s = M.onset_f1([0.10, 0.52, 0.90, 2.0], [0.1, 0.5, 1.0], tolerance=0.05)
    assert s["n_matched"] == 2 and s["precision"] == 0.5 and s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s["mean_abs_offset"] == pytest.approx(0.01)
    assert M.onset_f1([], [], 0.1)["f1"] == 1.0
    assert M.onset_f1([], [1.0], 0.1)["f1"] == 0.0
    assert M.onset_f1([1.0], [], 0.1)["precision"] == 0.0
    # one-to-one: two predictions near one reference match once
    assert M.onset_f1([1.0, 1.01], [1.0], 0.05)["n_matched"] == 1
    # maximum matching, not greedy: 0.95 must go to 0.9 so that 1.05 can take 1.0
    assert M.onset_f1([0.95, 1.05], [0.9, 1.0], 0.06)["n_matched"] == 2


def test_aggregate_pools_counts():
    a = M.onset_f1([1.0], [1.0], 0.1)
    b = M.onset_f1([], [1.0, 2.0, 3.0], 0.1)
    agg = M.aggregate_onset_scores([a, b])
    assert agg["precision"] == 1.0 and agg["recall"] == 0.25 and agg["f1"] == pytest.approx(0.4)


def test_sound_rate_in_silence():
    y = np.zeros(4 * SR)
    y[SR:2 * SR] = 0.1 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)  # audible second 1-2
    assert M.sound_rate_in_silence(y, SR) == pytest.approx(0.25, abs=0.01)
    assert M.sound_rate_in_silence(y, SR, [(2.0, 4.0)]) == 0.0
    assert M.sound_rate_in_silence(y, SR, [(0.0, 2.0)]) == pytest.approx(0.5, abs=0.01)
    assert M.sound_rate_in_silence(1e-4 * np.ones(SR), SR) == 0.0  # -80 dBFS is silent
    assert math.isnan(M.sound_rate_in_silence(y, SR, [(10.0, 11.0)]))


# ---- quality ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["eigh", "sqrtm"])
def test_frechet_distance_known_values(method):
    rng = np.random.RandomState(0)
    a = rng.randn(2000, 8) @ rng.randn(8, 8)
    assert M.frechet_distance(a, a, method=method) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 0, 3.0, 0])
    # Same covariance: FD = ||mu_a - mu_b||^2 exactly
    assert M.frechet_distance(a, a + shift, method=method) == pytest.approx(shift @ shift, rel=1e-6)
    # Independent Gaussians with diagonal covariances: sum (s1 - s2)^2 + |dmu|^2
    x = rng.randn(20000, 3) * np.array([1.0, 2.0, 3.0])
    y = rng.randn(20000, 3) * np.array([2.0, 2.0, 1.0]) + 1.0
    expected = 3.0 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert M.frechet_distance(x, y, method=method) == pytest.approx(expected, rel=0.05)


def test_frechet_distance_small_singular_sets_are_finite():
    rng = np.random.RandomState(1)
    a, b = rng.randn(10, 64), rng.randn(12, 64) + 0.5
    fd_e = M.frechet_distance(a, b, method="eigh")
    fd_s = M.frechet_distance(a, b, method="sqrtm")
    assert np.isfinite(fd_e) and fd_e > 0 and fd_s == pytest.approx(fd_e, rel=1e-3)
    with pytest.raises(ValueError):
        M.frechet_distance(a[:1], b)


def test_mr_stft_distance():
    rng = np.random.RandomState(0)
    t = np.arange(SR) / SR
    x = 0.5 * np.sin(2 * np.pi * 330 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    same = M.multi_resolution_stft_distance(x, x, SR)
    assert same["total"] == pytest.approx(0.0, abs=1e-9)
    scaled = M.multi_resolution_stft_distance(0.9 * x, x, SR)
    noise = M.multi_resolution_stft_distance(0.3 * rng.randn(SR), x, SR)
    assert scaled["spectral_convergence"] == pytest.approx(0.1, abs=1e-3)
    assert noise["total"] > 5 * scaled["total"]
    assert noise["spectral_convergence"] > scaled["spectral_convergence"]
    assert noise["log_magnitude"] > scaled["log_magnitude"]


# ---- semantics -------------------------------------------------------------------------------


def test_kl_known_values():
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    assert M.kl_divergence(p, q) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert M.kl_divergence(p, p) == pytest.approx(0.0, abs=1e-12)
    batch = M.kl_divergence(np.stack([p, q]), np.stack([q, q]))
    assert batch.shape == (2,) and batch[1] == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(M.kl_divergence([1.0, 0.0], [0.0, 1.0]))


def test_starts_silent_and_gaps_at_joins():
    from v2a.evaluation.metrics import gap_within, starts_silent

    sr = 22050
    rng = np.random.default_rng(0)
    noise = (0.3 * rng.normal(size=3 * sr)).astype(np.float32)
    late = noise.copy()
    late[: int(0.6 * sr)] *= 1e-3  # 60 dB down for the first 0.6 s
    assert starts_silent(late, sr) and not starts_silent(noise, sr)
    early_blip = late.copy()
    early_blip[int(0.3 * sr): int(0.32 * sr)] = noise[: int(0.02 * sr)]  # a sound inside the first 0.5 s
    assert not starts_silent(early_blip, sr)
    assert starts_silent(np.zeros(sr, np.float32), sr)  # digital silence

    gapped = noise.copy()
    gapped[int(1.5 * sr): int(1.9 * sr)] = 0.0  # a 0.4 s hole
    assert gap_within(gapped, noise, sr, [(1.0, 2.0)])
    assert not gap_within(gapped, noise, sr, [(2.0, 3.0)])  # the hole is outside the join
    assert not gap_within(noise, noise, sr, [(0.0, 3.0)])
    assert not gap_within(gapped, gapped, sr, [(1.0, 2.0)])  # the reference is silent there too
    short = noise.copy()
    short[int(1.5 * sr): int(1.6 * sr)] = 0.0  # 0.1 s: shorter than a gap
    assert not gap_within(short, noise, sr, [(1.0, 2.0)])
