import numpy as np

from v2a.signal.motion import GRID, NUM_MOTION_FEATURES, motion_features

RATE = 22050 / 256 / 4


def flash_frames(n, flash_at, size=32):
    frames = np.zeros((n, size, size, 3), np.uint8)
    for i in flash_at:
        frames[i] = 255
    return frames


def test_event_lands_in_the_right_latent_frame():
    fps = 30
    frames = flash_frames(60, [45])  # visible at t = 1.5 s
    times = np.arange(60) / fps
    feats = motion_features(frames, times, num_latent_frames=44, latent_rate=RATE)
    assert feats.shape == (44, NUM_MOTION_FEATURES)
    energy = feats[:, : GRID * GRID].sum(1)
    # the change into the flash frame and back out of it: the two bins around 1.5 s and 1.533 s
    assert set(np.flatnonzero(energy > 0)) <= {int(1.5 * RATE), int(46 / fps * RATE)}
    assert energy[int(1.5 * RATE)] > 0
    assert feats[int(1.5 * RATE), 3 * GRID * GRID] > 0  # brightness rose


def test_variable_frame_rate_uses_timestamps():
    times = np.array([0.0, 0.1, 0.2, 1.0, 1.01, 1.8])
    frames = flash_frames(6, [3])
    feats = motion_features(frames, times, num_latent_frames=43, latent_rate=RATE)
    energy = feats[:, : GRID * GRID].sum(1)
    assert energy[int(1.0 * RATE)] > 0 and energy[: int(1.0 * RATE)].sum() == 0
    present = feats[:, -1]
    assert present.sum() == len(np.unique(np.floor(times * RATE)))  # bins without frames say so


def test_motion_direction_is_measured():
    size, n = 64, 12
    right = np.zeros((n, size, size, 3), np.uint8)
    left = np.zeros_like(right)
    for i in range(n):
        xs = np.arange(size)
        # a smooth horizontal grating moving right (or left) by 1 px per frame
        right[i] = (127 + 100 * np.sin((xs - i) / 4.0))[None, :, None].astype(np.uint8)
        left[i] = (127 + 100 * np.sin((xs + i) / 4.0))[None, :, None].astype(np.uint8)
    times = np.arange(n) / 10
    vx = slice(GRID * GRID, 2 * GRID * GRID)
    fr = motion_features(right, times, 6, 5.0)[1:, vx].mean()
    fl = motion_features(left, times, 6, 5.0)[1:, vx].mean()
    assert fr > 0.3 and fl < -0.3


def test_motion_computed_as_frames_arrive_equals_the_whole_clip_at_once():
    from v2a.signal.motion import MotionStream

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (23, 40, 48, 3), dtype=np.uint8)
    times = np.cumsum(rng.uniform(0.01, 0.1, 23)) - 0.01
    whole = motion_features(frames, times, num_latent_frames=30, latent_rate=RATE)
    for size in (1, 4, 23):
        stream = MotionStream(RATE)
        for start in range(0, len(frames), size):
            stream.add(frames[start : start + size], times[start : start + size])
        np.testing.assert_array_equal(stream.features(30), whole)
