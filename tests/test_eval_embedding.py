"""The aiSFX sound-effect embedding (front end always; network when the converted weights exist)."""

import numpy as np
import pytest
import torch

from v2a.evaluation import embedding as E


def test_frame_count_matches_essentia_framecutter():
    # Measured with the package's Essentia front end: 1000 -> 2, 2048 -> 3, 44100 -> 45, 100000 -> 99
    for n, frames in [(1000, 2), (2048, 3), (44100, 45), (100000, 99)]:
        assert E.aisfx_spectrogram(np.zeros(n, dtype=np.float32), E.SAMPLE_RATE).shape == (frames, E.N_MELS)


def test_front_end_silence_zero_and_unit_sum_filters():
    assert float(E.aisfx_spectrogram(np.zeros(5000), E.SAMPLE_RATE).abs().max()) == 0.0
    fb = E.mel_filterbank()
    assert fb.shape == (96, 1025)
    assert torch.allclose(fb.sum(1), torch.ones(96), atol=1e-5)


def test_blocking_matches_aisfx_rules():
    for t, n_blocks in [(60, 1), (100, 1), (150, 2), (187, 2), (200, 3)]:
        blocks = E.blocks_from_spectrogram(torch.ones(t, 96))
        assert blocks.shape == (n_blocks, 100, 96)
    short = E.blocks_from_spectrogram(torch.ones(60, 96))
    assert float(short[0, 60:].abs().max()) == 0.0  # zero-padded like the package


@pytest.fixture(scope="module")
def model():
    path = E.default_weights_path()
    if not path.is_file():
        pytest.skip(f"converted aiSFX weights absent ({path}); run scripts/convert_aisfx.py")
    torch.set_num_threads(min(2, torch.get_num_threads()))
    return E.AisfxEmbedding(path)


def _sounds(sr=22050, seconds=2.5):
    rng = np.random.RandomState(0)
    t = np.arange(int(sr * seconds)) / sr
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-3 * (t % 0.5))
    clicks = np.zeros_like(t)
    for k in range(5):
        i = int((0.2 + 0.45 * k) * sr)
        clicks[i:i + 800] = rng.randn(800) * np.exp(-np.arange(800) / 150)
    return tone.astype(np.float32), (0.5 * clicks).astype(np.float32), (0.2 * rng.randn(t.size)).astype(np.float32)


def test_embedding_shape_determinism_and_discrimination(model):
    tone, clicks, noise = _sounds()
    e1 = model.embed(tone, 22050)  # resampled to 44.1 kHz inside; 2.5 s -> 108 frames -> 1 block
    assert e1.shape == (1, 512) and e1.dtype == np.float32 and np.isfinite(e1).all()
    assert np.array_equal(e1, model.embed(tone, 22050))
    clips = np.stack([model.embed_clip(x, 22050) for x in (tone, clicks, noise)])
    assert clips.shape == (3, 512)
    cos = clips @ clips.T / np.outer(np.linalg.norm(clips, axis=1), np.linalg.norm(clips, axis=1))
    off_diagonal = cos[~np.eye(3, dtype=bool)]
    assert off_diagonal.max() < 0.99
    dist = np.linalg.norm(clips[:, None] - clips[None], axis=-1)
    scaled = model.embed_clip(0.8 * tone, 22050)
    assert np.linalg.norm(scaled - clips[0]) < 0.5 * dist[0, 1:].min()
