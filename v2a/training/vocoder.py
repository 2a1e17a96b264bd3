"""Fine-tuning the HiFi-GAN vocoder on sound effects (adversarial + spectral losses).

The packaged universal HiFi-GAN was trained on speech. Here it keeps training on the sound
library with HiFi-GAN's own recipe, made lighter for CPUs: a multi-period discriminator
(periods 2, 3, 5, 7, 11) and a multi-resolution spectrogram discriminator, least-squares GAN
losses, feature matching (``adversarial.lsgan_terms``), and mel L1 plus multi-resolution STFT
losses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..audio import DEFAULT_AUDIO, log_mel
from .adversarial import PatchDiscriminator, lsgan_terms
from .loop import TrainSettings, ema_model, train

logger = logging.getLogger(__name__)

SEGMENT = 8192  # samples per training crop (0.37 s), as in HiFi-GAN
MEL_WEIGHT = 45.0  # HiFi-GAN's weighting of the mel loss against the adversarial terms
STFT_WEIGHT = 2.0
FM_WEIGHT = 2.0


class PeriodDiscriminator(nn.Module):
    def __init__(self, period: int, channels: int = 32):
        super().__init__()
        self.period = period
        widths = [1, channels, channels * 2, channels * 4, channels * 4]
        self.convs = nn.ModuleList([nn.utils.parametrizations.weight_norm(
            nn.Conv2d(widths[i], widths[i + 1], (5, 1), (3 if i < 3 else 1, 1), padding=(2, 0))) for i in range(4)])
        self.post = nn.utils.parametrizations.weight_norm(nn.Conv2d(widths[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, x):
        b, t = x.shape
        if t % self.period:
            x = F.pad(x, (0, self.period - t % self.period), mode="reflect")
        h = x.view(b, 1, -1, self.period)
        features = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            features.append(h)
        return self.post(h).flatten(1), features


class SpectrogramDiscriminator(PatchDiscriminator):
    def __init__(self, n_fft: int, channels: int = 32):
        super().__init__(widths=(channels,) * 4)
        self.n_fft = n_fft

    def forward(self, x):
        spec = torch.stft(x, self.n_fft, self.n_fft // 4, window=torch.hann_window(self.n_fft, device=x.device),
                          return_complex=True).abs()
        return super().forward(torch.log1p(spec)[:, None].transpose(2, 3))  # (B, 1, frames, bins)


class Discriminators(nn.Module):
    def __init__(self):
        super().__init__()
        self.all = nn.ModuleList([PeriodDiscriminator(p) for p in (2, 3, 5, 7, 11)] +
                                 [SpectrogramDiscriminator(n) for n in (512, 1024, 2048)])

    def forward(self, x):
        return [d(x) for d in self.all]


class VocoderGAN(nn.Module):
    """Generator plus discriminators, so one module carries both through the training loop."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator
        self.discriminators = Discriminators()


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    total = 0.0
    for n_fft in (512, 1024, 2048):
        window = torch.hann_window(n_fft, device=real.device)
        f = torch.stft(fake, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        r = torch.stft(real, n_fft, n_fft // 4, window=window, return_complex=True).abs()
        total = total + (r - f).norm() / r.norm().clamp(min=1e-7) + F.l1_loss(torch.log(f + 1e-5), torch.log(r + 1e-5))
    return total / 3


def gan_loss(model: VocoderGAN, batch: dict) -> tuple[torch.Tensor, dict]:
    real, mel = batch["audio"], batch["mel"]
    # float32 waveform: the spectral losses' STFTs reject bf16/fp16, and CUDA autocast leaves stft alone
    fake = model.generator(mel)[:, : real.shape[1]].float()
    d_loss, g_adv, fm = lsgan_terms(model.discriminators, real, fake)
    mel_l1 = F.l1_loss(log_mel(fake), log_mel(real))
    spectral = stft_loss(fake, real)
    g_loss = g_adv + FM_WEIGHT * fm + MEL_WEIGHT * mel_l1 + STFT_WEIGHT * spectral
    return g_loss + d_loss, {"mel_l1": mel_l1.item(), "stft": spectral.item(), "d": float(d_loss.detach()), "g_adv": float(g_adv.detach())}


def segments(waves: list[np.ndarray], batch_size: int, seed: int) -> Iterator[dict]:
    rng = np.random.default_rng(seed)
    lengths = np.array([len(w) for w in waves], dtype=np.float64)
    p = lengths / lengths.sum()
    while True:
        batch = np.zeros((batch_size, SEGMENT), np.float32)
        for i, index in enumerate(rng.choice(len(waves), size=batch_size, p=p)):
            w = waves[index]
            start = rng.integers(0, max(1, len(w) - SEGMENT + 1))
            piece = w[start : start + SEGMENT]
            batch[i, : len(piece)] = piece
        audio = torch.from_numpy(batch)
        yield {"audio": audio, "mel": log_mel(audio)}


def library_waves(library: Path, split: str) -> list[np.ndarray]:
    from ..data.library import load_clip, read_manifest

    return [load_clip(library, r) for r in read_manifest(library) if r.get("split") == split]


@torch.no_grad()
def resynthesis_distance(generator, waves: list[np.ndarray], limit: int = 64) -> float:
    """Mean multi-resolution STFT distance of ``generator(log_mel(x))`` to ``x`` over held-out clips."""
    from ..evaluation.metrics import multi_resolution_stft_distance

    scores = []
    for w in waves[:limit]:
        usable = len(w) // DEFAULT_AUDIO.hop_length * DEFAULT_AUDIO.hop_length
        if usable < 2048:
            continue
        x = torch.from_numpy(w[:usable])
        y = generator(log_mel(x)[None])[0].numpy()
        scores.append(multi_resolution_stft_distance(y, w[:usable], DEFAULT_AUDIO.sample_rate)["total"])
    return float(np.mean(scores))


def train_vocoder(library: Path, settings: TrainSettings, generator) -> nn.Module:
    """Fine-tunes ``generator`` (a SpeechT5HifiGan); writes the EMA generator to ``run_dir/model``."""
    train_waves = library_waves(library, "train")
    val_waves = library_waves(library, "val")
    model = VocoderGAN(generator)

    def validate(ema, step: int, folder: Path) -> dict:
        import soundfile as sf

        distance = resynthesis_distance(ema.generator, val_waves)
        for i, w in enumerate(val_waves[:3]):
            usable = len(w) // 256 * 256
            sf.write(folder / f"clip{i}.wav", ema.generator(log_mel(torch.from_numpy(w[:usable]))[None])[0].numpy(),
                     DEFAULT_AUDIO.sample_rate)
        logger.info("step %d: validation MR-STFT distance %.4f", step, distance)
        return {"mr_stft": distance}

    model, ema = train(settings, model, lambda seed: segments(train_waves, settings.batch_size, seed), gan_loss, validate)
    final = ema_model(model, ema).generator
    final.save_pretrained(str(Path(settings.run_dir) / "model"))
    return final
