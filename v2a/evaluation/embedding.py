"""The sound-effect embedding used for Fréchet distances: aiSFX "X-Sequential-CE", in plain PyTorch.

Origin: the PyPI package ``aisfx`` 0.1.2 (A. B. Ma and A. Lerch, "Representation Learning
for the Automatic Indexing of Sound Effects Libraries", ISMIR 2022; CC-BY-4.0 per its
LICENSE file). It is a 9-layer CNN (the DCASE cross-task baseline ``Cnn_9layers``: four
blocks of two 3x3 conv + batch norm + ReLU, 64-128-256-512 channels, 2x2 max pooling after
the first three) trained with cross-entropy on the Universal Category System classes of
nine professional sound-effect libraries. Its output is a 512-d embedding of a 100-frame
(~2.3 s) block of a 96-band log-mel spectrogram of 44.1 kHz audio.

The package ships the weights as a pickled ``torch.save`` tuple (``models/checkpoint.pth``).
``scripts/convert_aisfx.py`` converts them once to ``aisfx.safetensors`` plus ``aisfx.json`` in the cache
folder (``$V2A_CACHE/eval``, default ``~/.cache/v2a/eval``) and checks this module against the original code; here the
weights are read from safetensors only, never unpickled. The package's classification
heads are not kept (their class names are not shipped).

The front end re-implements the paper's Essentia recipe in torch: audio clipped to [-1, 1]
(as Essentia's loader does), Essentia's ``FrameCutter``
(2048-sample frames, hop 1024, the first frame centred on sample 0, zero padding at the
edges), a symmetric Hann window, power spectrum, 96 HTK-mel bands 0-22,050 Hz with
"warping" weighting and unit-sum normalisation, ``log10(1e4 * x + 1)``, then the package's
"original" min-max scaling (divide by 9.4578). Blocks of 100 frames are taken with a hop of
50 frames, the last partial block dropped, and clips shorter than one block zero-padded,
exactly as ``aisfx.preprocessing.blocking`` does.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE = 44100
FRAME_SIZE = 2048
HOP_SIZE = 1024
N_MELS = 96
F_MIN, F_MAX = 0.0, 22050.0
SPEC_MAX = 9.457798957824707  # aisfx.preprocessing.spectrogram_normalize(spec_norm="original")
BLOCK_FRAMES = 100
BLOCK_HOP = 50
EMBEDDING_DIM = 512

WEIGHTS_NAME = "aisfx.safetensors"
CONFIG_NAME = "aisfx.json"


def default_weights_path() -> Path:
    """``<cache>/eval/aisfx.safetensors``: converted from the aisfx package, not kept in git."""
    from ..cache import cache_root

    return cache_root() / "eval" / WEIGHTS_NAME


# --------------------------------------------------------------------------------------
# Front end


def _hz_to_htk_mel(f):
    return 1127.01048 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


@functools.lru_cache(maxsize=2)
def mel_filterbank(n_mels: int = N_MELS, n_fft: int = FRAME_SIZE, sample_rate: int = SAMPLE_RATE,
                   fmin: float = F_MIN, fmax: float = F_MAX) -> torch.Tensor:
    """Essentia ``MelBands(warpingFormula='htkMel', weighting='warping', normalize='unit_sum')``.

    Triangles are linear in mel (not in Hz) between equally spaced mel edges and each band's
    weights sum to one. Matches Essentia's own matrix to 7e-7. Shape (n_mels, n_fft//2+1).
    """
    n_bins = n_fft // 2 + 1
    edges = np.linspace(_hz_to_htk_mel(fmin), _hz_to_htk_mel(fmax), n_mels + 2)
    mel_of_bin = _hz_to_htk_mel(np.arange(n_bins) * sample_rate / n_fft)
    fb = np.zeros((n_mels, n_bins))
    for i in range(n_mels):
        lo, centre, hi = edges[i:i + 3]
        fb[i] = np.maximum(0.0, np.minimum((mel_of_bin - lo) / (centre - lo), (hi - mel_of_bin) / (hi - centre)))
    sums = fb.sum(1, keepdims=True)
    fb = fb / np.where(sums > 0, sums, 1.0)
    return torch.from_numpy(fb.astype(np.float32))


def _to_mono_44k(waveform, sample_rate: int) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(waveform) if not torch.is_tensor(waveform) else waveform).float()
    if x.ndim == 2:  # (channels, samples), Essentia's EasyLoader averages the channels
        x = x.mean(0)
    if x.ndim != 1:
        raise ValueError(f"expected a 1-D waveform or (channels, samples), got shape {tuple(x.shape)}")
    if int(sample_rate) != SAMPLE_RATE:
        import torchaudio.functional as AF

        x = AF.resample(x, int(sample_rate), SAMPLE_RATE)
    return x.clamp(-1.0, 1.0)  # Essentia's loader clips to full scale, as a PCM file would


def aisfx_spectrogram(waveform, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """The normalised aiSFX log-mel spectrogram, shape (frames, 96); silence is 0."""
    x = _to_mono_44k(waveform, sample_rate)
    n = x.shape[0]
    n_frames = (max(n, 1) - 1) // HOP_SIZE + 2  # Essentia: frames start at k*hop - 1024 while start < n
    total = (n_frames - 1) * HOP_SIZE + FRAME_SIZE
    padded = F.pad(x, (FRAME_SIZE // 2, total - FRAME_SIZE // 2 - n))
    frames = padded.unfold(0, FRAME_SIZE, HOP_SIZE)[:n_frames]
    window = torch.hann_window(FRAME_SIZE, periodic=False, dtype=torch.float64).float()
    power = torch.fft.rfft(frames * window, dim=-1).abs().pow(2)
    mel = power @ mel_filterbank().T
    return torch.log10(mel * 1e4 + 1.0) / SPEC_MAX


def blocks_from_spectrogram(spec: torch.Tensor, block: int = BLOCK_FRAMES, hop: int = BLOCK_HOP) -> torch.Tensor:
    """``aisfx.preprocessing.blocking(..., drop_partial_block=True)``: (n_blocks, block, 96)."""
    t = spec.shape[0]
    n_blocks = int(np.ceil((t - block) / hop + 1))
    if (t - block) % hop != 0:
        n_blocks -= 1
    n_blocks = max(n_blocks, 1)
    padded = torch.cat([spec, spec.new_zeros(block, spec.shape[1])], 0)
    return torch.stack([padded[i * hop:i * hop + block] for i in range(n_blocks)])


# --------------------------------------------------------------------------------------
# Network


class _ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.max_pool2d(x, pool) if pool > 1 else x


class AisfxNet(nn.Module):
    """The embedding CNN; input (batch, 100 frames, 96 mels), output (batch, 512)."""

    def __init__(self, width: int = 64):
        super().__init__()
        w = [1, width, width * 2, width * 4, width * 8]
        for i in range(4):
            setattr(self, f"conv_block{i + 1}", _ConvBlock(w[i], w[i + 1]))

    def forward(self, spec_blocks: torch.Tensor) -> torch.Tensor:
        x = spec_blocks.unsqueeze(1)
        x = self.conv_block1(x, 2)
        x = self.conv_block2(x, 2)
        x = self.conv_block3(x, 2)
        x = self.conv_block4(x, 1)
        return x.mean(dim=3).amax(dim=2)


class AisfxEmbedding:
    """Load once, then ``embed(waveform, sr)`` -> (n_blocks, 512) or ``embed_clip`` -> (512,).

    Deterministic; runs on CPU by default. Raises FileNotFoundError when the converted weights
    are missing (run ``python scripts/convert_aisfx.py`` with ``aisfx`` installed).
    """

    def __init__(self, path: str | Path | None = None, device: str | torch.device = "cpu"):
        from safetensors.torch import load_file

        path = Path(path) if path is not None else default_weights_path()
        if not path.is_file():
            raise FileNotFoundError(
                f"aiSFX embedding weights not found at {path}; run `pip install --no-deps aisfx && "
                "python scripts/convert_aisfx.py`")
        config_path = path.with_suffix(".json")
        self.config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        state = {k: v.float() for k, v in load_file(str(path)).items()}
        self.net = AisfxNet(width=int(self.config.get("width", 64)))
        missing, unexpected = self.net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
        self.device = torch.device(device)
        self.net.to(self.device).eval()

    @torch.no_grad()
    def embed_blocks(self, spec_blocks: torch.Tensor, batch_size: int = 32) -> torch.Tensor:
        outs = [self.net(spec_blocks[i:i + batch_size].to(self.device)).cpu()
                for i in range(0, spec_blocks.shape[0], batch_size)]
        return torch.cat(outs, 0)

    def embed(self, waveform, sample_rate: int) -> np.ndarray:
        """One 512-d embedding per ~2.3 s block (1.16 s hop), float32 array (n_blocks, 512)."""
        blocks = blocks_from_spectrogram(aisfx_spectrogram(waveform, sample_rate))
        return self.embed_blocks(blocks).numpy()

    def embed_clip(self, waveform, sample_rate: int) -> np.ndarray:
        """The mean of the block embeddings: one (512,) vector per clip."""
        return self.embed(waveform, sample_rate).mean(0)
