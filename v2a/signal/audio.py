"""Audio format shared by every stage: 22,050 Hz mono and the 80-bin log-mel of HiFi-GAN.

The mel recipe is the one the packaged universal HiFi-GAN was trained with (magnitude
spectrogram, Slaney mel filters 0-8 kHz, natural log clamped at 1e-5, reflect padding of
(n_fft - hop) / 2 on each side and no centring), so that ``n_samples / hop`` mel frames come
out of a signal whose length is a multiple of the hop, and the vocoder gives it back.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AudioSettings:
    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 8000.0
    log_floor: float = 1e-5  # log(1e-5) = -11.5 is "silence" in mel space
    latent_downsample: int = 4  # mel frames per latent frame (autoencoder stride)

    @property
    def mel_rate(self) -> float:
        """Mel frames per second (86.13 at the defaults)."""
        return self.sample_rate / self.hop_length

    @property
    def latent_rate(self) -> float:
        """Audio-latent frames per second (21.53 at the defaults)."""
        return self.mel_rate / self.latent_downsample

    @property
    def samples_per_latent(self) -> int:
        return self.hop_length * self.latent_downsample

    def latent_frames(self, seconds: float) -> int:
        """Latent frames needed to cover ``seconds`` of audio (rounded up, at least one)."""
        return max(1, int(np.ceil(seconds * self.latent_rate - 1e-6)))

    @property
    def silence_level(self) -> float:
        return float(np.log(self.log_floor))


DEFAULT_AUDIO = AudioSettings()


@functools.lru_cache(maxsize=4)
def mel_filters(settings: AudioSettings) -> torch.Tensor:
    """``(n_mels, n_fft // 2 + 1)``: Slaney's mel scale and area normalisation, librosa's default
    and so the HiFi-GAN's (torchaudio's matches it to 1e-7 and, unlike librosa, is on GPU machines)."""
    from torchaudio.functional import melscale_fbanks

    return melscale_fbanks(settings.n_fft // 2 + 1, settings.fmin, settings.fmax, settings.n_mels, settings.sample_rate,
                           norm="slaney", mel_scale="slaney").T.float().contiguous()


def log_mel(waveform: torch.Tensor, settings: AudioSettings = DEFAULT_AUDIO) -> torch.Tensor:
    """Log-mel spectrogram in the vocoder's format.

    Args:
        waveform: ``(samples,)`` or ``(batch, samples)`` float audio at ``settings.sample_rate``.

    Returns:
        ``(batch, frames, n_mels)`` with ``frames = samples // hop_length``.
    """
    squeeze = waveform.dim() == 1
    wav = waveform[None] if squeeze else waveform
    pad = (settings.n_fft - settings.hop_length) // 2
    if wav.shape[-1] <= pad:  # reflect padding needs more samples than the pad width
        wav = F.pad(wav, (0, pad + 1 - wav.shape[-1]))
    wav = F.pad(wav[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(
        wav.float(),
        n_fft=settings.n_fft,
        hop_length=settings.hop_length,
        win_length=settings.win_length,
        window=torch.hann_window(settings.win_length, device=wav.device),
        center=False,
        return_complex=True,
    ).abs()
    mel = mel_filters(settings).to(wav.device) @ spec  # (B, n_mels, frames)
    mel = torch.log(torch.clamp(mel, min=settings.log_floor)).transpose(1, 2)
    return mel[0] if squeeze else mel


def resample(waveform: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling of ``(..., samples)`` float audio."""
    if orig_rate == target_rate:
        return waveform
    import librosa

    return librosa.resample(waveform, orig_sr=orig_rate, target_sr=target_rate, res_type="soxr_hq")
