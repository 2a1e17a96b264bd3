"""Training the diffusion transformer with flow matching.

Examples come from ``features.build_transformer_features`` (rendered video + real recording,
encoded by the pipeline's own encoders); the audio latents come from the trained, frozen
autoencoder. Each step takes random crops of ``crop_seconds``, draws a noise level
``sigma`` (logit-normal, as in SD3: most steps at mid noise where the decisions are made) and
regresses the velocity ``noise - latent`` of ``x = (1 - sigma) * latent + sigma * noise``.
Conditions are dropped at random (prompt, video, or both) so that one network also gives the
unconditional and single-condition predictions that guidance and the ablations use.

A transformer with reference tokens (``reference_tokens`` in its config) also gets a reference
sound with each crop: a different recording of the crop's category where the cache has one
(else another stretch of the same recording), 1-4 s of it, at a random gain and shifted by up to
two mel bins in pitch, so the reference says what the category sounds like and copying it is
never the answer. It is dropped as often as ``DropoutSettings.reference`` says, so that no
reference stays a valid condition.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from ..data.cache import iter_feature_cache
from ..data.render import STATIC
from ..models.transformer import SoundTransformer, frame_tokens_in_window
from ..scheduler import shift_sigmas
from ..signal.audio import DEFAULT_AUDIO
from .loop import TrainSettings, ema_model, train

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DropoutSettings:
    text: float = 0.3  # no prompt: the video alone must say what sounds (label embeddings)
    video: float = 0.15  # no video: the prompt alone
    caption_mix: bool = True  # pick one of the clip's captions at random
    reference: float = 0.5  # no reference sound (for transformers that take one)
    # a silent still shot: the video of an ambience render (a static scene: nothing happens) with
    # another category's prompt and reference and a silent latent. Ambience renders are the only
    # still shots in the data and always sound, so without these the model fills every still shot
    # with sound; with them, the prompt decides (an ambience prompt: sound; an event's: silence)
    still_silence: float = 0.0
    # the share of those silent still shots that show the event's own picture instead (one of its
    # frames, held): the evaluation's silent scenes show the source itself, which an ambience
    # render's picture never taught; with it on screen and nothing moving, silence all the same
    still_own_picture: float = 0.0


REFERENCE_SECONDS = (1.0, 4.0)  # length of a training reference, drawn uniformly
REFERENCE_GAIN_DB = 10.0  # reference level drawn within +-this
REFERENCE_PITCH_BINS = 2  # reference shifted by up to this many mel bins up or down


@dataclass
class Example:
    latent: torch.Tensor  # (K, C) normalised autoencoder latent
    motion: torch.Tensor  # (K, F)
    frame_features: torch.Tensor  # (N, Df)
    frame_labels: torch.Tensor  # (N, Dt)
    frame_times: torch.Tensor  # (N,)
    text: list[torch.Tensor]  # per caption (L_i, Dt)
    category: str
    still: bool = False  # a static render: nothing moves (the ambience scenes)


@torch.no_grad()
def load_examples(folder: Path, split: str, autoencoder) -> list[Example]:
    """Reads a feature cache split and encodes its mels with the frozen autoencoder."""
    examples = []
    stride = autoencoder.config.downsample
    for meta, arrays in iter_feature_cache(folder, split=split):
        mel = torch.from_numpy(arrays["mel"].astype(np.float32))
        usable = len(mel) // stride * stride
        latent = autoencoder.encode(mel[None, :usable].to(autoencoder.device))[0].cpu()
        if abs(len(latent) - len(arrays["motion"])) > 1:  # one frame of rounding at the clip's end
            raise ValueError(f"{folder}: motion features at {len(arrays['motion'])} frames for {len(latent)} latent "
                             "frames; build the features with this latent (v2a train features --latent)")
        k = min(len(latent), len(arrays["motion"]))
        lengths = arrays["text_lengths"]
        text = [torch.from_numpy(arrays["text"][i, : lengths[i]].astype(np.float32)) for i in range(len(lengths))]
        examples.append(Example(latent[:k], torch.from_numpy(arrays["motion"][:k].astype(np.float32)),
                                torch.from_numpy(arrays["frame_features"].astype(np.float32)),
                                torch.from_numpy(arrays["frame_labels"].astype(np.float32)),
                                torch.from_numpy(arrays["frame_times"].astype(np.float32)), text, meta.get("category", ""),
                                meta.get("style") == STATIC))
    logger.info("%s: %d examples", split, len(examples))
    return examples


def _pad_stack(arrays: list[np.ndarray], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    out = np.zeros((len(arrays), length, *arrays[0].shape[1:]), dtype=np.float32)
    mask = np.zeros((len(arrays), length), dtype=bool)
    for i, a in enumerate(arrays):
        n = min(len(a), length)
        out[i, :n] = a[:n]
        mask[i, :n] = True
    return torch.from_numpy(out), torch.from_numpy(mask)


def reference_augmenter(autoencoder):
    """``augment(latent, rng)``: the reference latent at a random gain and pitch shift, applied to the
    log-mel the latent stands for (decoded, changed, encoded again), so it works for any latent."""
    silence = DEFAULT_AUDIO.silence_level

    @torch.no_grad()
    def augment(latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mel = autoencoder.decode(torch.from_numpy(latent)[None].to(autoencoder.device))[0].float()
        gain = rng.uniform(-REFERENCE_GAIN_DB, REFERENCE_GAIN_DB) / 20.0 * np.log(10.0)  # log-magnitude units
        mel = torch.clamp(mel + gain, min=silence)
        shift = int(rng.integers(-REFERENCE_PITCH_BINS, REFERENCE_PITCH_BINS + 1))
        if shift:  # the bins moved out are lost, the edge bin fills the ones moved in
            mel = torch.roll(mel, shift, dims=1)
            edge = slice(0, shift) if shift > 0 else slice(shift, None)
            mel[:, edge] = mel[:, shift if shift > 0 else shift - 1, None]
        return autoencoder.encode(mel[None].to(autoencoder.dtype))[0].float().cpu().numpy()

    return augment


def pick_reference(index: int, crop_start: int, categories: list[str], by_category: dict[str, list[int]],
                   lengths: list[int], frames: int, rng: np.random.Generator) -> tuple[int, int]:
    """``(example, start)`` of a reference for a crop of example ``index`` at ``crop_start``: another
    recording of the same category when there is one, else a stretch of the same recording that
    starts elsewhere."""
    others = [i for i in by_category.get(categories[index], []) if i != index] if categories[index] else []
    if others:
        chosen = others[int(rng.integers(len(others)))]
        return chosen, int(rng.integers(0, max(1, lengths[chosen] - frames + 1)))
    starts = [s for s in range(max(1, lengths[index] - frames + 1)) if s != crop_start] or [0]
    return index, starts[int(rng.integers(len(starts)))]


def batches(examples: list[Example], batch_size: int, crop_frames: int, latent_rate: float, dropout: DropoutSettings,
            seed: int, augment_reference=None, silent_latent: np.ndarray | None = None) -> Iterator[dict]:
    """Random crops of random examples, collated with masks; condition dropout decided here. With
    ``augment_reference`` (``reference_augmenter``) each crop also gets a reference sound. With
    ``dropout.still_silence`` and ``silent_latent`` (one latent frame of silence), that share of the
    crops are silent still shots (see ``DropoutSettings``): their prompt is never dropped, since
    the still picture alone may show an ambience source.

    Works on numpy views of the examples: at batch 128 the per-crop work in torch's small-op
    overhead took longer than a GPU training step.
    """
    rng = np.random.default_rng(seed)
    views = [(ex.latent.numpy(), ex.motion.numpy(), ex.frame_features.numpy(), ex.frame_labels.numpy(),
              ex.frame_times.numpy(), [t.numpy() for t in ex.text]) for ex in examples]
    categories = [ex.category for ex in examples]
    by_category: dict[str, list[int]] = {}
    for i, category in enumerate(categories):
        by_category.setdefault(category, []).append(i)
    lengths = [len(ex.latent) for ex in examples]
    still_scenes = [i for i, ex in enumerate(examples) if ex.still]
    events = [i for i, ex in enumerate(examples) if not ex.still]
    stills = dropout.still_silence if silent_latent is not None and still_scenes and events else 0.0
    while True:
        picks = rng.integers(0, len(examples), size=batch_size)
        # only drawn when asked for, so runs without them see the same crops as before
        silent = rng.random(batch_size) < stills if stills else np.zeros(batch_size, bool)
        latents, motions, frames, labels, times, texts, references = [], [], [], [], [], [], []
        for row, index in enumerate(picks):
            scene = index
            if silent[row]:  # the still shot's video, the event's prompt and reference, silence
                scene, index = still_scenes[int(rng.integers(len(still_scenes)))], events[int(rng.integers(len(events)))]
            latent, motion, frame_features, frame_labels, frame_times, _ = views[scene]
            text = views[index][5]
            start = int(rng.integers(0, max(1, len(latent) - crop_frames + 1)))
            end = start + crop_frames
            crop = latent[start:end]
            latents.append(np.broadcast_to(silent_latent, crop.shape) if silent[row] else crop)
            motions.append(motion[start:end])
            t0, t1 = start / latent_rate, end / latent_rate
            keep = frame_tokens_in_window(frame_times, t0, t1)
            if silent[row] and dropout.still_own_picture and rng.random() < dropout.still_own_picture \
                    and len(views[index][2]):
                held = int(rng.integers(len(views[index][2])))  # one of the event's frames, on every frame token
                frames.append(np.repeat(views[index][2][held : held + 1], int(keep.sum()), axis=0))
                labels.append(np.repeat(views[index][3][held : held + 1], int(keep.sum()), axis=0))
            else:
                frames.append(frame_features[keep])
                labels.append(frame_labels[keep])
            times.append(np.maximum(frame_times[keep] - t0, 0))
            texts.append(text[int(rng.integers(0, len(text)))] if dropout.caption_mix else text[0])
            if augment_reference is not None:
                length = int(round(rng.uniform(*REFERENCE_SECONDS) * latent_rate))
                chosen, ref_start = pick_reference(int(index), -1 if silent[row] else start, categories, by_category,
                                                   lengths, length, rng)
                references.append(augment_reference(views[chosen][0][ref_start : ref_start + length], rng))
        latent, token_mask = _pad_stack(latents, crop_frames)
        motion, _ = _pad_stack(motions, crop_frames)
        n_frames = max(len(f) for f in frames)
        frame_features, frame_mask = _pad_stack(frames, n_frames)
        frame_labels, _ = _pad_stack(labels, n_frames)
        frame_times, _ = _pad_stack([t[:, None] for t in times], n_frames)
        text, text_mask = _pad_stack(texts, max(len(t) for t in texts))
        batch = {
            "latent": latent, "token_mask": token_mask, "motion": motion,
            "frame_features": frame_features, "frame_labels": frame_labels, "frame_times": frame_times[..., 0],
            "frame_mask": frame_mask, "text": text, "text_mask": text_mask,
            "drop_text": torch.from_numpy((rng.random(batch_size) < dropout.text) & ~silent),
            "drop_video": torch.from_numpy(rng.random(batch_size) < dropout.video),
        }
        if references:
            batch["reference"], batch["reference_mask"] = _pad_stack(references, max(len(r) for r in references))
            batch["drop_reference"] = torch.from_numpy(rng.random(batch_size) < dropout.reference)
        yield batch


def conditions_for_batch(model: SoundTransformer, batch: dict):
    """The batch's conditions, with its dropped prompts and videos the model's learned empty embeddings."""
    b, k = batch["latent"].shape[:2]
    return model.prepare_conditions(batch["text"], batch["text_mask"], batch["frame_features"], batch["frame_labels"],
                                    batch["frame_times"], batch["motion"], k, b, frame_mask=batch["frame_mask"],
                                    drop_text=batch["drop_text"], drop_video=batch["drop_video"],
                                    reference=batch.get("reference"), reference_mask=batch.get("reference_mask"),
                                    drop_reference=batch.get("drop_reference"))


def draw_sigma(b: int, shift: float = 1.0, device=None) -> torch.Tensor:
    """Training noise levels: logit-normal(0, 1), shifted toward noise as the sampler's scheduler
    shifts its steps (``shift * s / (1 + (shift - 1) * s)``, SD3's resolution shift).

    A latent with more values per second (the mel patches: 160 per frame at half the mel rate)
    keeps its structure visible at higher noise, so the levels where the conditions must decide
    what sounds sit nearer 1; unshifted, levels above 0.95 are 0.2 % of the draws.
    """
    return shift_sigmas(torch.sigmoid(torch.randn(b, device=device)), shift)


def training_noise(latent: torch.Tensor, offset_noise: float = 0.0) -> torch.Tensor:
    """Gaussian noise like ``latent`` ``(B, T, C)``, plus ``offset_noise`` times one Gaussian value
    per crop and channel, the same on every frame (see ``flow_matching_loss``)."""
    noise = torch.randn_like(latent)
    if offset_noise:
        noise = noise + offset_noise * torch.randn(latent.shape[0], 1, latent.shape[-1], device=latent.device)
    return noise


def flow_matching_loss(model: SoundTransformer, batch: dict, sigma: torch.Tensor | None = None,
                       noise: torch.Tensor | None = None, sigma_shift: float = 1.0,
                       offset_noise: float = 0.0) -> tuple[torch.Tensor, dict]:
    """Velocity regression loss; ``sigma`` (B,) (``draw_sigma(sigma_shift)``) and ``noise`` are drawn
    at random unless given.

    ``offset_noise`` adds to the drawn noise one value per crop and channel, on all its frames,
    this many standard deviations wide (``training_noise``). Near pure noise a crop's per-channel
    mean is the last trace of its loudness (a silent crop's sits well below a sounding one's), so a
    model learns to read it there; at the first sampling step that mean is the noise's alone, and
    the seed, not the prompt and the picture, decided sound or silence (seed 0's noise, a little
    below zero on average, left still shots of a hammer, a train and sparks silent alike). With
    offsets as wide as that trace, the mean says nothing at high noise and the conditions decide.
    """
    latent, token_mask = batch["latent"], batch["token_mask"]
    b = latent.shape[0]
    if sigma is None:
        sigma = draw_sigma(b, sigma_shift, latent.device)
    if noise is None:
        noise = training_noise(latent, offset_noise)
    s = sigma[:, None, None]
    noisy = (1 - s) * latent + s * noise
    cond = conditions_for_batch(model, batch)
    predicted = model(noisy, sigma, cond, token_mask)
    err = ((predicted - (noise - latent)) ** 2).mean(-1)
    loss = (err * token_mask).sum() / token_mask.sum()
    return loss, {}


HELDOUT_SIGMAS = (0.2, 0.4, 0.6, 0.8)


@torch.no_grad()
def heldout_loss(model: SoundTransformer, examples: list[Example], crop_frames: int, latent_rate: float,
                 batch_size: int = 16, n_batches: int = 4, augment_reference=None) -> float:
    """Flow-matching loss on validation examples with fixed crops, noise and noise levels.

    The training loss is a noisy single draw on training crops; this one is the same number
    for the same weights, so its curve shows when a run stops improving or starts to overfit.
    All conditions are kept (no dropout): it measures the conditional prediction.
    """
    model_was_training = model.training
    model.eval()
    crops = batches(examples, batch_size, crop_frames, latent_rate, DropoutSettings(0.0, 0.0, False, 0.0), seed=1234,
                    augment_reference=augment_reference)
    generator = torch.Generator().manual_seed(1234)
    device = next(model.parameters()).device
    total, count = 0.0, 0
    try:
        for _, batch in zip(range(n_batches), crops):
            batch = {k: v.to(device) for k, v in batch.items()}
            for level in HELDOUT_SIGMAS:
                noise = torch.randn(batch["latent"].shape, generator=generator).to(device)
                sigma = torch.full((batch_size,), level, device=device)
                loss, _ = flow_matching_loss(model, batch, sigma, noise)
                total, count = total + loss.item(), count + 1
    finally:
        model.train(model_was_training)
    return total / max(1, count)


def warm_start(model: SoundTransformer, previous: SoundTransformer) -> list[str]:
    """Copies every weight of ``previous`` whose name and shape match into ``model``.

    Lets a new run start from an earlier transformer even when the autoencoder changed (the
    latent projections then differ in shape and start fresh, while the text, video and timing
    paths keep what they learned). Returns the names that were not copied.
    """
    mine, theirs = model.state_dict(), previous.state_dict()
    copied = {k: v for k, v in theirs.items() if k in mine and mine[k].shape == v.shape}
    model.load_state_dict(copied, strict=False)
    fresh = sorted(set(mine) - set(copied))
    logger.info("warm start: %d tensors copied, %d fresh (%s)", len(copied), len(fresh), ", ".join(fresh[:8]))
    return fresh


def train_transformer(features: Path, autoencoder, settings: TrainSettings, config: dict, crop_seconds: float = 4.0,
                      dropout: DropoutSettings = DropoutSettings(), validate=None, init: Path | None = None,
                      sigma_shift: float = 1.0, offset_noise: float = 0.0) -> SoundTransformer:
    """Trains (or resumes) a transformer run; writes the EMA model to ``run_dir/model``.
    ``sigma_shift``: see ``draw_sigma``; the pipeline that uses the model samples with the same shift.
    ``offset_noise``: see ``flow_matching_loss``; the sampler starts from plain noise all the same."""
    from ..signal.audio import AudioSettings

    audio = AudioSettings(latent_downsample=autoencoder.config.downsample)
    train_examples = load_examples(features, "train", autoencoder)
    model = SoundTransformer(**config)
    if init:
        warm_start(model, SoundTransformer.from_pretrained(str(init)))
    crop = int(round(crop_seconds * audio.latent_rate))
    val_examples = load_examples(features, "val", autoencoder)
    # mel patches (no parameters, a reshape) are augmented on the CPU: on a GPU the data thread would
    # otherwise wait for the training stream once per crop
    reshape_only = next(autoencoder.parameters(), None) is None
    augment = (reference_augmenter(copy.deepcopy(autoencoder).cpu() if reshape_only else autoencoder)
               if model.config.reference_tokens else None)
    with torch.no_grad():  # one latent frame of a silent log-mel, for the silent still shots
        silence = torch.full((1, 4 * autoencoder.config.downsample, audio.n_mels), audio.silence_level)
        silent_latent = autoencoder.encode(silence.to(autoencoder.device))[0, 1].float().cpu().numpy()

    def validate_with_loss(ema, step: int, folder: Path) -> dict:
        numbers = ({"loss": heldout_loss(ema, val_examples, crop, audio.latent_rate, augment_reference=augment)}
                   if val_examples else {})
        logger.info("step %d: held-out flow-matching loss %.4f", step, numbers.get("loss", float("nan")))
        return numbers | (validate(ema, step, folder) if validate is not None else {})

    model, ema = train(settings, model,
                       lambda seed: batches(train_examples, settings.batch_size, crop, audio.latent_rate, dropout, seed,
                                            augment, silent_latent),
                       partial(flow_matching_loss, sigma_shift=sigma_shift, offset_noise=offset_noise), validate_with_loss)
    final = ema_model(model, ema)
    final.save_pretrained(str(Path(settings.run_dir) / "model"))
    return final
