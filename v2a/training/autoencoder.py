"""Training the mel autoencoder on the sound library.

Random crops of real recordings' log-mels; loss = L1 reconstruction, plus L1 on the mel's
differences along time and frequency (an L1 alone lets the decoder blur onsets and
harmonics, which the vocoder then renders as noise: the judge named only 7.5 % of
autoencoded test recordings correctly against 40 % for the true mels), plus a small
penalty on the latent's size. Gaussian noise is added to the latent in training so the
decoder tolerates the small errors a diffusion model leaves. After training, per-channel
latent statistics over the train split are stored in the model so the transformer sees
unit-variance latents.

L1 terms still make the decoder predict the average texture where the latent cannot say
exactly which grain or noise was there. ``--adversarial`` adds a patch discriminator over the
log-mel (``adversarial.lsgan_terms``) that makes it put plausible texture back; with
``--init`` and ``--decoder-only`` this fine-tunes the decoder of a trained autoencoder and
leaves its encoder and latent statistics alone, so a transformer trained on that latent space
keeps working (as the Stable Diffusion VAE's decoder was fine-tuned). A decoder that is already
trained fools one small discriminator within a hundred steps, after which its scores sit at
chance; ``--discriminator-scales`` adds wider discriminators over time-averaged mels, and
``--discriminator-warmup`` trains them alone first so their first scores mean something.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..signal.audio import DEFAULT_AUDIO, log_mel
from ..models.autoencoder import MelAutoencoder, MelPatches
from .adversarial import PatchDiscriminator, lsgan_discriminator_loss, lsgan_terms
from .loop import TrainSettings, ema_model, train

logger = logging.getLogger(__name__)

LATENT_NOISE = 0.1
LATENT_PENALTY = 1e-3
EDGE_WEIGHT = 1.0  # weight of the time- and frequency-difference L1 terms
FM_WEIGHT = 2.0  # discriminator feature matching, relative to its score term (as in HiFi-GAN)


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


def feature_cache_mels(folder: Path, split: str) -> list[np.ndarray]:
    """The log-mels stored in a feature cache (``v2a train features``): the same recordings,
    cut to the cache's length, already computed (what a GPU machine without the library gets)."""
    from ..data.cache import iter_feature_cache

    mels = [arrays["mel"].astype(np.float16) for _, arrays in iter_feature_cache(folder, split=split)]
    logger.info("%s: %d clips, %.1f min", split, len(mels), sum(len(m) for m in mels) / DEFAULT_AUDIO.mel_rate / 60)
    return mels


def training_mels(source: Path, split: str) -> list[np.ndarray]:
    """Log-mels of a split from a sound library folder or from a feature cache folder."""
    from ..data.cache import INDEX

    if (Path(source) / INDEX).exists():
        return feature_cache_mels(source, split)
    return library_mels(source, split)


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


def noisy_round_trip(model: MelAutoencoder, mel: torch.Tensor,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(latent, decoded)``: the decoder sees the latent with training noise (from ``generator``) added."""
    z = model.encode(mel)
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    return z, model.decode(z + LATENT_NOISE * noise)


def autoencoder_loss(model: MelAutoencoder, batch: dict) -> tuple[torch.Tensor, dict]:
    mel = batch["mel"]
    z, decoded = noisy_round_trip(model, mel)
    recon = F.l1_loss(decoded, mel)
    edges = edge_loss(decoded, mel)
    penalty = z.pow(2).mean()
    return recon + EDGE_WEIGHT * edges + LATENT_PENALTY * penalty, {"recon": recon.item(), "edges": edges.item(),
                                                                     "latent_rms": penalty.sqrt().item()}


class MelDiscriminator(nn.Module):
    """Patch discriminators over the normalised log-mel image ``(B, 1, frames, bins)``, one per
    entry of ``time_scales``: for 1 a narrow one at full resolution, for each larger entry a wider
    one over the image averaged over that many frames (it sees envelopes over longer spans at
    about the same cost)."""

    def __init__(self, mel_mean: float, mel_std: float, time_scales: tuple[int, ...] = (1,)):
        super().__init__()
        self.mel_mean, self.mel_std = mel_mean, mel_std
        self.time_scales = tuple(time_scales)
        # narrow at full resolution (it must see single-bin texture), wider once strided: 32-channel
        # full-resolution layers would cost more than the autoencoder itself
        self.patches = nn.ModuleList(
            [PatchDiscriminator(widths=(16, 32, 64, 64), strides=(1, 2, 2, 2), kernel=(3, 3)) if scale == 1 else
             PatchDiscriminator(widths=(32, 64, 128, 128), strides=(1, 2, 2, 2), kernel=(3, 3))
             for scale in self.time_scales])

    def forward(self, mel: torch.Tensor):
        image = ((mel - self.mel_mean) / self.mel_std)[:, None]
        return [patches(F.avg_pool2d(image, (scale, 1)) if scale > 1 else image)
                for scale, patches in zip(self.time_scales, self.patches)]


class AdversarialAutoencoder(nn.Module):
    """Autoencoder plus discriminator, so one module carries both through the training loop.

    For its first ``discriminator_warmup`` training steps only the discriminator learns: a
    fresh discriminator's scores say nothing yet, and a trained decoder that follows them
    loses texture before they start to mean something. The step count is a buffer, so it is
    checkpointed with the weights and a resumed run carries on where it stopped.
    """

    def __init__(self, autoencoder: MelAutoencoder, weight: float, discriminator_warmup: int = 0,
                 discriminator_scales: tuple[int, ...] = (1,)):
        super().__init__()
        self.autoencoder = autoencoder
        self.discriminator = MelDiscriminator(autoencoder.config.mel_mean, autoencoder.config.mel_std,
                                              discriminator_scales)
        self.weight = weight
        self.discriminator_warmup = discriminator_warmup
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))


def adversarial_autoencoder_loss(model: AdversarialAutoencoder, batch: dict) -> tuple[torch.Tensor, dict]:
    mel = batch["mel"]
    warming_up = bool(model.steps_seen < model.discriminator_warmup)
    if model.training:
        model.steps_seen += 1
    z, decoded = noisy_round_trip(model.autoencoder, mel)
    if warming_up:
        d_loss, _ = lsgan_discriminator_loss(model.discriminator, mel, decoded)
        # the decoder's gradient is exactly zero (its Adam step is zero too; only weight decay
        # applies); a graph without the decoder in it would stall DistributedDataParallel
        return d_loss + 0.0 * decoded.sum(), {"d": float(d_loss.detach())}
    recon = F.l1_loss(decoded, mel)
    edges = edge_loss(decoded, mel)  # logged only: it rewards smooth output, which the discriminator is there to undo
    d_loss, g_adv, fm = lsgan_terms(model.discriminator, mel, decoded)
    g_loss = recon + model.weight * (g_adv + FM_WEIGHT * fm) + LATENT_PENALTY * z.pow(2).mean()
    logs = {"recon": recon.item(), "edges": edges.item(), "g_adv": float(g_adv.detach()), "fm": float(fm.detach()),
            "d": float(d_loss.detach())}
    return g_loss + d_loss, logs


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


def fit_mel_patches(source: Path, downsample: int = 2) -> MelPatches:
    """The no-compression latent: per-bin log-mel mean and spread over the train split's frames."""
    frames = np.concatenate(training_mels(source, "train")).astype(np.float64)
    model = MelPatches(n_mels=frames.shape[1], downsample=downsample)
    model.bin_mean.copy_(torch.from_numpy(frames.mean(0)))
    model.bin_std.copy_(torch.from_numpy(frames.std(0)).clamp(min=1e-3))
    return model


def train_autoencoder(source: Path, settings: TrainSettings, crop_frames: int = 128, hidden: int = 160,
                      latent_channels: int = 32, downsample: int = 4, vocoder=None, init: Path | None = None, decoder_only: bool = False,
                      adversarial: float = 0.0, blocks: int = 1, discriminator_lr_scale: float = 1.0,
                      discriminator_warmup: int = 0, discriminator_scales: tuple[int, ...] = (1,)) -> MelAutoencoder:
    """Trains (or resumes) an autoencoder run and writes the EMA model to ``run_dir/model``.

    ``source``: a sound library or a feature cache folder (``training_mels``); ``init``: start
    from this trained autoencoder (its sizes replace ``hidden``, ``latent_channels`` and
    ``blocks``); ``decoder_only``: train only its decoder; ``adversarial``: weight of the
    discriminator's terms (0: plain L1 training); ``discriminator_lr_scale``: its learning rate
    relative to the decoder's (trained in step at the same rate it stays at chance);
    ``discriminator_warmup``: steps at the start in which only the discriminator learns;
    ``discriminator_scales``: the time scales of its discriminators (``MelDiscriminator``).
    """
    if decoder_only and init is None:
        raise ValueError("decoder-only training needs a trained autoencoder to start from (init)")
    train_mels = training_mels(source, "train")
    val_mels = training_mels(source, "val")
    if init is not None:
        model = MelAutoencoder.from_pretrained(str(init)).float()
    else:
        model = MelAutoencoder(hidden=hidden, latent_channels=latent_channels, blocks=blocks, downsample=downsample)
    if decoder_only:
        model.encoder.requires_grad_(False)
    trained = (AdversarialAutoencoder(model, adversarial, discriminator_warmup, discriminator_scales)
               if adversarial > 0 else model)
    loss = adversarial_autoencoder_loss if adversarial > 0 else autoencoder_loss

    def validate(ema, step: int, folder: Path) -> dict:
        from ..evaluation.pictures import spectrogram_grid

        error = reconstruction_error(ema, val_mels)
        rows = []
        for mel in val_mels[:: max(1, len(val_mels) // 4)][:4]:
            usable = len(mel) // ema.config.downsample * ema.config.downsample
            x = torch.from_numpy(mel[:usable].astype(np.float32))[None].to(ema.device)
            rows.append([("reference", mel[:usable].astype(np.float32)), ("reconstructed", ema(x)[0].cpu().numpy())])
            if vocoder is not None:
                import soundfile as sf

                sf.write(folder / f"clip{len(rows)}.wav", vocoder(ema(x).cpu())[0].numpy(), DEFAULT_AUDIO.sample_rate)
        spectrogram_grid(rows, folder / "spectrograms.png", DEFAULT_AUDIO.mel_rate)
        logger.info("step %d: validation mel L1 %.4f", step, error)
        return {"mel_l1": error}

    def validate_autoencoder(ema, step: int, folder: Path) -> dict:
        return validate(ema.autoencoder if adversarial > 0 else ema, step, folder)

    trained, ema = train(settings, trained, lambda seed: mel_crops(train_mels, crop_frames, settings.batch_size, seed),
                         loss, validate_autoencoder,
                         lr_scales={"discriminator.": discriminator_lr_scale}
                         if adversarial > 0 and discriminator_lr_scale != 1.0 else None)
    final = ema_model(trained, ema)
    final = final.autoencoder if adversarial > 0 else final
    if not decoder_only:  # a frozen encoder keeps its latent statistics
        set_latent_statistics(final, train_mels)
    final.save_pretrained(str(Path(settings.run_dir) / "model"))
    logger.info("validation mel L1 %.4f", reconstruction_error(final, val_mels))
    return final
