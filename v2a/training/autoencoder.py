"""Training the mel autoencoder on the sound library.

Random crops of real recordings' log-mels; loss = L1 reconstruction, plus L1 on the mel's
differences along time and frequency (an L1 alone lets the decoder blur onsets and
harmonics, which the vocoder then renders as noise: the judge named only 7.5 % of
autoencoded test recordings correctly against 40 % for the true mels), plus a small
penalty on the latent's size. Gaussian noise is added to the latent in training so the
decoder tolerates the small errors a diffusion model leaves. After training, per-channel
latent statistics over the train split are stored in the model so the transformer sees
unit-variance latents.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..audio import DEFAULT_AUDIO, log_mel
from ..autoencoder import MelAutoencoder
from .loop import TrainSettings, ema_model, train

logger = logging.getLogger(__name__)

LATENT_NOISE = 0.1
LATENT_PENALTY = 1e-3
EDGE_WEIGHT = 1.0  # weight of the time- and frequency-difference L1 terms


def edge_loss(decoded: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
    """L1 between the (B, T, n_mels) spectrograms' differences along time and along frequency."""
    time = F.l1_loss(decoded.diff(dim=1), mel.diff(dim=1))
    frequency = F.l1_loss(decoded.diff(dim=2), mel.diff(dim=2))
    return time + frequency


def library_mels(library: Path, split: str, limit: int | None = None) -> list[np.ndarray]:
    """Log-mels ``(frames, 80)`` float16 of every clip of a split of the library."""
    from ..data.library import load_clip, read_manifest

    records = [r for r in read_manifest(library) if r.get("split") == split][:limit]
    mels = []
    for r in records:
        wav = torch.from_numpy(load_clip(library, r))
        mels.append(log_mel(wav).numpy().astype(np.float16))
    logger.info("%s: %d clips, %.1f min", split, len(mels), sum(len(m) for m in mels) / DEFAULT_AUDIO.mel_rate / 60)
    return mels


def mel_crops(mels: list[np.ndarray], crop: int, batch_size: int, seed: int) -> Iterator[dict]:
    """Random ``crop``-frame windows (clips shorter than a crop are padded with silence)."""
    rng = np.random.default_rng(seed)
    weights = np.array([max(len(m), crop // 4) for m in mels], dtype=np.float64)
    weights /= weights.sum()  # longer clips give more crops
    silence = DEFAULT_AUDIO.silence_level
    while True:
        batch = np.full((batch_size, crop, mels[0].shape[1]), silence, dtype=np.float32)
        for i, index in enumerate(rng.choice(len(mels), size=batch_size, p=weights)):
            mel = mels[index]
            start = rng.integers(0, max(1, len(mel) - crop + 1))
            piece = mel[start : start + crop]
            offset = rng.integers(0, crop - len(piece) + 1)
            batch[i, offset : offset + len(piece)] = piece
        yield {"mel": torch.from_numpy(batch)}


def autoencoder_loss(model: MelAutoencoder, batch: dict) -> tuple[torch.Tensor, dict]:
    mel = batch["mel"]
    z = model.encode(mel)
    decoded = model.decode(z + LATENT_NOISE * torch.randn_like(z))
    recon = F.l1_loss(decoded, mel)
    edges = edge_loss(decoded, mel)
    penalty = z.pow(2).mean()
    return recon + EDGE_WEIGHT * edges + LATENT_PENALTY * penalty, {"recon": recon.item(), "edges": edges.item(),
                                                                     "latent_rms": penalty.sqrt().item()}


@torch.no_grad()
def reconstruction_error(model: MelAutoencoder, mels: list[np.ndarray]) -> float:
    """Mean absolute log-mel error over whole clips (trimmed to a multiple of the stride)."""
    errors, frames = 0.0, 0
    stride = model.config.downsample
    for mel in mels:
        usable = len(mel) // stride * stride
        if usable == 0:
            continue
        x = torch.from_numpy(mel[:usable].astype(np.float32))[None].to(model.device)
        errors += (model(x) - x).abs().sum().item() / x.shape[-1]
        frames += usable
    return errors / max(1, frames)


@torch.no_grad()
def set_latent_statistics(model: MelAutoencoder, mels: list[np.ndarray]) -> None:
    """Stores per-channel mean and std of the raw latent over ``mels``."""
    model.latent_mean.zero_()
    model.latent_std.fill_(1.0)
    latents = []
    stride = model.config.downsample
    for mel in mels:
        usable = len(mel) // stride * stride
        if usable:
            latents.append(model.encode(torch.from_numpy(mel[:usable].astype(np.float32))[None].to(model.device))[0])
    z = torch.cat(latents)
    model.latent_mean.copy_(z.mean(0))
    model.latent_std.copy_(z.std(0).clamp(min=1e-3))


def train_autoencoder(library: Path, settings: TrainSettings, crop_frames: int = 128, hidden: int = 160,
                      latent_channels: int = 32, vocoder=None) -> MelAutoencoder:
    """Trains (or resumes) an autoencoder run and writes the EMA model to ``run_dir/model``."""
    train_mels = library_mels(library, "train")
    val_mels = library_mels(library, "val")
    model = MelAutoencoder(hidden=hidden, latent_channels=latent_channels)

    def validate(ema, step: int, folder: Path) -> dict:
        from ..evaluation.pictures import spectrogram_grid

        error = reconstruction_error(ema, val_mels)
        rows = []
        for mel in val_mels[:: max(1, len(val_mels) // 4)][:4]:
            usable = len(mel) // 4 * 4
            x = torch.from_numpy(mel[:usable].astype(np.float32))[None].to(ema.device)
            rows.append([("reference", mel[:usable].astype(np.float32)), ("reconstructed", ema(x)[0].cpu().numpy())])
            if vocoder is not None:
                import soundfile as sf

                sf.write(folder / f"clip{len(rows)}.wav", vocoder(ema(x).cpu())[0].numpy(), DEFAULT_AUDIO.sample_rate)
        spectrogram_grid(rows, folder / "spectrograms.png", DEFAULT_AUDIO.mel_rate)
        logger.info("step %d: validation mel L1 %.4f", step, error)
        return {"mel_l1": error}

    model, ema = train(settings, model, lambda seed: mel_crops(train_mels, crop_frames, settings.batch_size, seed),
                       autoencoder_loss, validate)
    final = ema_model(model, ema)
    set_latent_statistics(final, train_mels)
    final.save_pretrained(str(Path(settings.run_dir) / "model"))
    logger.info("validation mel L1 %.4f", reconstruction_error(final, val_mels))
    return final
