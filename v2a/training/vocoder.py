"""Fine-tuning the HiFi-GAN vocoder on sound effects (adversarial + spectral losses).

The packaged universal HiFi-GAN was trained on speech. Here it keeps training on the sound
library with HiFi-GAN's own recipe, made lighter for CPUs: a multi-period discriminator
(periods 2, 3, 5, 7, 11) and a multi-resolution spectrogram discriminator, least-squares GAN
losses, feature matching (``adversarial.lsgan_terms``), and mel L1 plus multi-resolution STFT
losses.

In the pipeline the vocoder never hears a true mel: it hears the autoencoder's decoder output,
which lacks some of the grain and noise of the real thing. With ``autoencoder`` given, the
vocoder is fine-tuned on mels passed through that autoencoder (with the latent noise its
decoder was trained with) against the real waveform ("ground-truth-aligned" fine-tuning, as
TTS vocoders are fine-tuned on their acoustic model's output), so it learns to put back what
the decoder smooths away.

With a ``teacher`` (a trained HiFi-GAN, such as the shipped V1), a generator first learns by
distillation: for its first ``distill_steps`` steps it learns to reproduce the frozen teacher's
waveform for the same mel, with the spectral losses and a waveform L1 and no discriminator (a
target that a randomly initialised generator can follow from the first step, where a
discriminator's verdicts would say little yet), then carries on with the GAN recipe against the
recordings. That is how a light generator (``models.vocoder.LIGHT_HIFIGAN``) is trained from
scratch. On one CPU thread (beside another training job) a distillation step of the light
generator at batch 8 took 2.6 s, 1.8 s of it the teacher's forward pass; a GAN step 3.5 s. So
the teacher's waveform for each training clip is computed once, before the first step, and kept
in the run folder (``teacher_targets``, in shards, so an interrupted run keeps what it had);
crops then start on a mel frame so that the crop's mel is the whole clip's mel there and the
teacher's waveform for it is a slice of the clip's. With an ``autoencoder`` as well, half of
each batch's mels are true and half come through the autoencoder (with fresh latent noise at
every step, so nothing to keep): the teacher then runs at every step on both.

With a feature cache instead of a library (``features``), the vocoder learns from mels alone: the
teacher renders every clip's whole mel once, at the start, and those renders stand in for the
recordings (the distillation target, and the real side of the GAN phase). That is how a GPU
machine, which can carry a few hours of mels but not their audio, distils a light vocoder:
rendering hours of sound takes a GPU seconds. Validation then measures the distance to the
teacher's rendering; the distance to the recordings (``benchmarks/judge_chain.py``) is measured
where the library is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.vocoder import HifiGan, vocode
from ..signal.audio import DEFAULT_AUDIO, log_mel
from .adversarial import PatchDiscriminator, lsgan_terms
from .autoencoder import noisy_round_trip
from .loop import TrainSettings, ema_model, train, training_device

logger = logging.getLogger(__name__)

SEGMENT = 8192  # samples per training crop (0.37 s), as in HiFi-GAN
# samples the autoencoder sees on each side of a crop: 64 mel frames, most of its receptive field
# (its group norms see the whole window, so a crop is reconstructed nearly as inside a clip)
CONTEXT = 64 * DEFAULT_AUDIO.hop_length
MEL_WEIGHT = 45.0  # HiFi-GAN's weighting of the mel loss against the adversarial terms
STFT_WEIGHT = 2.0
FM_WEIGHT = 2.0
# distillation: a waveform L1 beside the spectral terms, weighted well below them (the teacher's
# phase is a function of the mel, so the student can follow it, but the spectral terms are what
# is heard); the mel and STFT terms keep their GAN-recipe weights
DISTILL_WAVE_WEIGHT = 10.0


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


class DistilledVocoderGAN(VocoderGAN):
    """A ``VocoderGAN`` whose generator learns from a teacher for its first ``distill_steps``
    training steps (``distilled_gan_loss``), then as in ``VocoderGAN``.

    The step count is a buffer, so it is checkpointed with the weights and a resumed run carries
    on in the phase it stopped in. The teacher is not part of the module (the loss holds it):
    neither the checkpoints nor the EMA carry its weights.
    """

    def __init__(self, generator: nn.Module, distill_steps: int):
        super().__init__(generator)
        self.distill_steps = distill_steps
        self.register_buffer("steps_seen", torch.zeros((), dtype=torch.long))


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


def distillation_loss(student: nn.Module, mel: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Mel L1, multi-resolution STFT and waveform L1 between ``student(mel)`` and the teacher's
    waveform ``target`` for the same mel, weighted as in ``gan_loss`` (the waveform term by
    ``DISTILL_WAVE_WEIGHT``)."""
    fake = student(mel).float()  # float32 for the STFTs, as in gan_loss
    target = target.float()
    assert fake.shape == target.shape, f"{fake.shape=} {target.shape=}"
    mel_l1 = F.l1_loss(log_mel(fake), log_mel(target))
    spectral = stft_loss(fake, target)
    wave = F.l1_loss(fake, target)
    loss = MEL_WEIGHT * mel_l1 + STFT_WEIGHT * spectral + DISTILL_WAVE_WEIGHT * wave
    return loss, {"distill_mel_l1": mel_l1.item(), "distill_stft": spectral.item(), "distill_wave_l1": wave.item()}


def distilled_gan_loss(model: DistilledVocoderGAN, batch: dict, teacher: nn.Module) -> tuple[torch.Tensor, dict]:
    """``distillation_loss`` for the model's first ``distill_steps`` training steps, ``gan_loss``
    after them. The target is the batch's ``teacher_audio`` (kept from ``teacher_targets``) where
    it has one; otherwise ``teacher`` renders the mels the student hears: half the batch's true
    mels (``true_mel``, when the batch's ``mel`` came through an autoencoder) and half its ``mel``."""
    distilling = bool(model.steps_seen < model.distill_steps)
    if model.training:
        model.steps_seen += 1
    if not distilling:
        return gan_loss(model, batch)
    mel = batch["mel"]
    if "teacher_audio" in batch:
        target = batch["teacher_audio"]
    else:
        if "true_mel" in batch:
            half = len(mel) // 2
            mel = torch.cat([batch["true_mel"][:half], mel[half:]])
        with torch.no_grad():
            target = teacher(mel)
    loss, logs = distillation_loss(model.generator, mel, target)
    # the discriminators rest (their gradient is zero; only weight decay moves them), but a graph
    # without them would stall DistributedDataParallel
    resting = sum(p.sum() for p in model.discriminators.parameters())
    return loss + 0.0 * resting, logs


def segments(waves: list[np.ndarray], batch_size: int, seed: int, autoencoder=None,
             targets: list[np.ndarray] | None = None) -> Iterator[dict]:
    """Random ``SEGMENT``-sample crops and their log-mels (through ``autoencoder`` when given,
    which sees ``CONTEXT`` more samples on each side: silence beyond the clip's ends; the true
    log-mels are then ``true_mel``). With ``targets`` (one waveform per clip, ``teacher_targets``)
    the crops start on a mel frame and carry the same samples of their clip's target as
    ``teacher_audio``."""
    rng = np.random.default_rng(seed)
    noise = torch.Generator().manual_seed(seed)  # the decoder's latent noise: a resumed run sees the same
    lengths = np.array([len(w) for w in waves], dtype=np.float64)
    p = lengths / lengths.sum()
    context = CONTEXT if autoencoder is not None else 0
    hop = DEFAULT_AUDIO.hop_length
    while True:
        batch = np.zeros((batch_size, SEGMENT + 2 * context), np.float32)
        taught = np.zeros((batch_size, SEGMENT), np.float32) if targets is not None else None
        for i, index in enumerate(rng.choice(len(waves), size=batch_size, p=p)):
            w = waves[index]
            if targets is None:
                start = rng.integers(0, max(1, len(w) - SEGMENT + 1))  # the crop's first sample
            else:  # on a frame of the clip's mel, so the crop's mel frames are the clip's
                start = hop * rng.integers(0, max(1, (len(w) - SEGMENT) // hop + 1))
                target = targets[index][start : start + SEGMENT]
                taught[i, : len(target)] = target
            first = max(0, start - context)
            piece = w[first : start + SEGMENT + context]
            batch[i, context - (start - first) :][: len(piece)] = piece
        window = torch.from_numpy(batch)
        mel = log_mel(window)
        crop = {"audio": window[:, context : context + SEGMENT], "mel": mel}
        if targets is not None:
            crop["teacher_audio"] = torch.from_numpy(taught)
        if autoencoder is not None:
            with torch.no_grad():
                decoded = noisy_round_trip(autoencoder, mel, noise)[1]
            frames = slice(context // DEFAULT_AUDIO.hop_length, (context + SEGMENT) // DEFAULT_AUDIO.hop_length)
            crop.update(mel=decoded[:, frames], true_mel=mel[:, frames])
        yield crop


TARGET_SHARD = 200  # clips per file of kept teacher waveforms


def _fingerprint(teacher: nn.Module, waves: list[np.ndarray]) -> str:
    """Changes when the teacher's weights or the clips change, so stale targets are never reused."""
    digest = hashlib.sha256()
    for name, tensor in teacher.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    for w in waves:
        digest.update(np.float64(len(w)).tobytes())
        digest.update(w[:: max(1, len(w) // 64)].tobytes())
    return digest.hexdigest()


@torch.no_grad()
def teacher_targets(teacher: nn.Module, waves: list[np.ndarray], folder: Path) -> list[np.ndarray]:
    """The teacher's waveform for each clip's whole log-mel (float16, as long as the clip; zeros in
    the last partial frame), computed once and kept in ``folder`` in shards of ``TARGET_SHARD``
    clips: an interrupted computation resumes at its first missing shard, and a folder made with
    another teacher or other clips is emptied first."""
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "fingerprint.json"
    fingerprint = _fingerprint(teacher, waves)
    if not key.is_file() or json.loads(key.read_text()).get("fingerprint") != fingerprint:
        for stale in folder.glob("shard-*.npz"):
            stale.unlink()
        key.write_text(json.dumps({"fingerprint": fingerprint, "clips": len(waves)}))
    hop, device = DEFAULT_AUDIO.hop_length, next(teacher.parameters()).device
    targets: list[np.ndarray] = []
    for first in range(0, len(waves), TARGET_SHARD):
        shard = folder / f"shard-{first // TARGET_SHARD:05d}.npz"
        clips = waves[first : first + TARGET_SHARD]
        if not shard.is_file():
            rendered = []
            for w in clips:
                target = np.zeros(len(w), np.float16)
                usable = len(w) // hop * hop
                if usable:
                    mel = log_mel(torch.from_numpy(w[:usable]))[None].to(device)  # (1, frames, n_mels)
                    target[:usable] = vocode(teacher, mel, DEFAULT_AUDIO.mel_rate)[0].cpu().numpy()
                rendered.append(target)
            partial = shard.with_suffix(".partial.npz")
            np.savez(partial, audio=np.concatenate(rendered), lengths=np.array([len(t) for t in rendered]))
            partial.replace(shard)
            logger.info("teacher waveforms: %d of %d clips", first + len(clips), len(waves))
        with np.load(shard, allow_pickle=False) as kept:
            audio, lengths = kept["audio"], kept["lengths"]
        if list(lengths) != [len(w) for w in clips]:
            raise ValueError(f"{shard}: its clips are not these (delete the folder to recompute)")
        targets.extend(np.split(audio, np.cumsum(lengths)[:-1]))
    return targets


def feature_mels(features: Path, split: str) -> list[np.ndarray]:
    """The log-mels (float32) of a feature cache's ``split``."""
    from ..data.cache import iter_feature_cache

    return [arrays["mel"].astype(np.float32) for _, arrays in iter_feature_cache(features, split=split)]


RENDER_BATCH = 32  # clips the teacher renders at once (one at a time, a GPU spends minutes on launches)


@torch.no_grad()
def teacher_renders(teacher: HifiGan, mels: list[np.ndarray]) -> list[np.ndarray]:
    """The teacher's waveform (float32, ``frames * hop`` samples) for each whole mel.

    Rendered in batches of clips of similar lengths, each padded with silence to its longest: the
    last few frames of a shorter clip then hear silence after it instead of nothing, which is
    what follows a clip's end anyway."""
    device = teacher.device
    hop = DEFAULT_AUDIO.hop_length
    order = sorted(range(len(mels)), key=lambda i: len(mels[i]))
    renders: list[np.ndarray] = [np.zeros(0, np.float32)] * len(mels)
    for first in range(0, len(order), RENDER_BATCH):
        group = order[first : first + RENDER_BATCH]
        batch = np.full((len(group), max(len(mels[i]) for i in group), mels[group[0]].shape[1]),
                        DEFAULT_AUDIO.silence_level, np.float32)
        for row, i in enumerate(group):
            batch[row, : len(mels[i])] = mels[i]
        audio = vocode(teacher, torch.from_numpy(batch).to(device), DEFAULT_AUDIO.mel_rate).cpu().numpy()
        for row, i in enumerate(group):
            renders[i] = audio[row, : len(mels[i]) * hop]
    return renders


def mel_segments(mels: list[np.ndarray], renders: list[np.ndarray], batch_size: int, seed: int) -> Iterator[dict]:
    """Random crops of ``SEGMENT`` samples, starting on a mel frame: each clip's own mel frames
    there, and the teacher's rendering of the clip there as both ``audio`` and ``teacher_audio``."""
    rng = np.random.default_rng(seed)
    hop = DEFAULT_AUDIO.hop_length
    frames = SEGMENT // hop
    lengths = np.array([len(m) for m in mels], dtype=np.float64)
    p = lengths / lengths.sum()
    while True:
        mel = np.full((batch_size, frames, mels[0].shape[1]), DEFAULT_AUDIO.silence_level, np.float32)
        audio = np.zeros((batch_size, SEGMENT), np.float32)
        for i, index in enumerate(rng.choice(len(mels), size=batch_size, p=p)):
            first = int(rng.integers(0, max(1, len(mels[index]) - frames + 1)))
            piece = mels[index][first : first + frames]
            mel[i, : len(piece)] = piece
            audio[i, : len(piece) * hop] = renders[index][first * hop : (first + len(piece)) * hop]
        audio_t = torch.from_numpy(audio)
        yield {"mel": torch.from_numpy(mel), "audio": audio_t, "teacher_audio": audio_t}


def library_waves(library: Path, split: str) -> list[np.ndarray]:
    from ..data.library import load_clip, read_manifest

    return [load_clip(library, r) for r in read_manifest(library) if r.get("split") == split]


@torch.no_grad()
def _held_out_mel(w: np.ndarray, autoencoder=None) -> tuple[np.ndarray, torch.Tensor]:
    """``(audio, mel)`` of a whole held-out clip cut to whole mel frames (to whole latent frames and
    through ``autoencoder`` when given, without training noise: how the pipeline decodes)."""
    hop = DEFAULT_AUDIO.hop_length * (DEFAULT_AUDIO.latent_downsample if autoencoder is not None else 1)
    usable = len(w) // hop * hop
    mel = log_mel(torch.from_numpy(w[:usable]))[None]
    return w[:usable], (autoencoder(mel) if autoencoder is not None else mel)


@torch.no_grad()
def resynthesis_distance(generator: HifiGan, pairs: list[tuple[np.ndarray, torch.Tensor]]) -> float:
    """Mean multi-resolution STFT distance of ``generator(mel)`` to ``audio`` over held-out
    ``(audio, mel)`` pairs (``_held_out_mel``'s, or the teacher's renderings of feature-cache mels)."""
    from ..evaluation.metrics import multi_resolution_stft_distance

    device = generator.device
    scores = []
    for audio, mel in pairs:
        if len(audio) < 2048:
            continue
        y = generator(mel.to(device))[0].float().cpu().numpy()
        scores.append(multi_resolution_stft_distance(y, audio, DEFAULT_AUDIO.sample_rate)["total"])
    return float(np.mean(scores))


VALIDATION_CLIPS = 64  # held-out clips the validation distance is averaged over


def train_vocoder(library: Path | None, settings: TrainSettings, generator, autoencoder=None, teacher=None,
                  distill_steps: int | None = None, features: Path | None = None,
                  audio_samples: bool = True) -> nn.Module:
    """Trains ``generator`` (a ``HifiGan``); writes the EMA generator to ``run_dir/model``.

    ``autoencoder``: a frozen ``MelAutoencoder`` whose reconstructions the vocoder learns to
    render (validation then measures the same chain). ``teacher``: a ``HifiGan`` with the same
    hop whose waveform the generator learns to reproduce for the first ``distill_steps`` steps
    (default: all of them) before the GAN recipe; it stays frozen and out of the checkpoints.
    ``features``: a feature cache to learn from instead of ``library``, mels only (needs
    ``teacher``; see the module's docstring). ``audio_samples``: validation writes three clips."""
    if (library is None) == (features is None):
        raise ValueError("give a library or a feature cache")
    if features is not None and (teacher is None or autoencoder is not None):
        raise ValueError("a feature cache has mels only: it needs a teacher, and takes no autoencoder")
    loss = gan_loss
    if teacher is None:
        if distill_steps is not None:
            raise ValueError("distillation steps need a teacher")
        model = VocoderGAN(generator)
    else:
        hops = [math.prod(g.config.upsample_rates) for g in (generator, teacher)]
        if hops[0] != hops[1] or generator.config.model_in_dim != teacher.config.model_in_dim:
            raise ValueError(f"the teacher maps {teacher.config.model_in_dim}-bin mels to {hops[1]} samples a frame, "
                             f"the generator {generator.config.model_in_dim}-bin mels to {hops[0]}")
        model = DistilledVocoderGAN(generator, settings.steps if distill_steps is None else distill_steps)
        teacher = teacher.float().eval().requires_grad_(False).to(training_device())
        loss = functools.partial(distilled_gan_loss, teacher=teacher)
    if features is not None:
        train_mels = feature_mels(features, "train")
        renders = teacher_renders(teacher, train_mels)
        val_mels = feature_mels(features, "val")[:VALIDATION_CLIPS]
        val_pairs = [(audio, torch.from_numpy(mel)[None])
                     for audio, mel in zip(teacher_renders(teacher, val_mels), val_mels)]
        crops = functools.partial(mel_segments, train_mels, renders, settings.batch_size)
    else:
        train_waves = library_waves(library, "train")
        targets = None
        if autoencoder is not None:
            autoencoder = autoencoder.float().eval().requires_grad_(False)
        elif teacher is not None and model.distill_steps > 0:
            targets = teacher_targets(teacher, train_waves, Path(settings.run_dir) / "teacher")
        crops = functools.partial(segments, train_waves, settings.batch_size, autoencoder=autoencoder, targets=targets)
        # after the autoencoder is frozen: the pairs are its eval-mode reconstructions, as the pipeline's
        val_pairs = [_held_out_mel(w, autoencoder) for w in library_waves(library, "val")[:VALIDATION_CLIPS]]

    def validate(ema, step: int, folder: Path) -> dict:
        distance = resynthesis_distance(ema.generator, val_pairs)
        if audio_samples:
            import soundfile as sf

            device = ema.generator.device
            for i, (_, mel) in enumerate(val_pairs[:3]):
                sf.write(folder / f"clip{i}.wav", ema.generator(mel.to(device))[0].float().cpu().numpy(),
                         DEFAULT_AUDIO.sample_rate)
        logger.info("step %d: validation MR-STFT distance %.4f", step, distance)
        return {"mr_stft": distance}

    model, ema = train(settings, model, crops, loss, validate)
    final = ema_model(model, ema).generator
    final.save_pretrained(str(Path(settings.run_dir) / "model"))
    return final
