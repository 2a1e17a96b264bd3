"""The v2a diffusion pipeline: video frames + prompts -> soundtrack waveform.

Reads as the data flow: encode the prompts, encode the video (sampled frames and motion
features), prepare noise on the audio-latent clock, denoise with classifier-free guidance
(the negative prompt is the unconditional branch), decode the latent to a log-mel, vocode.

Guidance can weigh the prompt and the video apart: with a separate text scale each step runs a
third branch, the video with the negative prompt, and the velocity becomes
``v(neg) + g_video * (v(video, neg) - v(neg)) + g_text * (v(video, prompt) - v(video, neg))``,
a weighted sum of the branches (``guidance_branches``). With equal scales the middle branch's
weight is 0 and it is the ordinary two-branch guidance; branches that would see the same
conditions are merged, so no step runs a pass it does not need.

Clips longer than ``GenerationSettings.window_seconds`` (4 s) are denoised in half-overlapping windows of
that length (``latent_windows``): the transformer was trained on 4 s crops and only ever saw
positions within them; sampled whole, a 46 s clip's onsets did not land on the events and
its sound faded out, and even 4-8 s clips landed fewer onsets than in windows. Every step runs
every window, each seeing its own frames and motion from position 0, and the windows'
velocities are cross-faded where they overlap, so there are no seams to hide afterwards (as in
MultiDiffusion). A clip no longer than a window is one window: sampled whole.

Memory stays flat whatever the length: the video is read once as a stream (``analyse_video``:
frames sampled for the frame encoder and motion features computed as the frames arrive, a
batch of frames at a time), each step runs the windows ``WINDOW_BATCH`` at a time, and the
vocoder takes the mel a chunk at a time. What grows with the length is small: the sampled
frames' features (2 per second), the latent (43 frames of 160 numbers per second for version 6),
the windows' conditions and the waveform itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .bank import SoundBank, check_bank, retrieve
from .signal.audio import AudioSettings, log_mel
from .models.autoencoder import AudioLatent
from .settings import DEFAULTS
from .errors import V2AError
from .models.frame_encoder import FrameEncoder
from .models.text_encoder import TextEncoder
from .signal.motion import MotionStream
from .models.transformer import Conditions, SoundTransformer, frame_tokens_in_window
from .models.vocoder import vocode_stream
from .media.audio import REFERENCE_MAX_SECONDS
from .media.decode import VideoClip, VideoFile
from .pipeline_base import FolderPipeline
from .scheduler import FlowMatchEulerScheduler

logger = logging.getLogger(__name__)

MAX_PROMPT_TOKENS = 64
# Sampled frames the frame encoder takes at once (16 s of video at 2 frames per second) and
# windows one transformer pass takes (34 s of audio in 4 s windows): what bounds memory on long
# clips (the frame encoder's batch sets most of the peak). A smaller batch may round apart: the
# kernels pick their method by batch size; batches of 16 frames moved a 30 s clip's waveform by
# 5e-5, while with these sizes every example up to 60 s came out bit for bit as in one pass.
FRAME_BATCH = 32
WINDOW_BATCH = 16

Video = VideoClip | VideoFile  # frames in memory, or a file read as a stream


@dataclass
class VideoFeatures:
    """A video as the transformer sees it (``V2APipeline.analyse_video``)."""

    features: torch.Tensor  # (F, frame_dim) frame encoder features of the frames sampled at frame_token_rate
    labels: torch.Tensor  # (F, text_dim) their ImageNet label embeddings
    times: torch.Tensor  # (F,) their sample times in seconds
    motion: torch.Tensor | None  # (T, NUM_MOTION_FEATURES) motion features on the latent clock
    duration: float  # seconds of video


@dataclass
class Prompts:
    """Encoded prompts of a batch."""

    tokens: torch.Tensor  # (B, L, text_dim) token embeddings
    mask: torch.Tensor  # (B, L) True for real tokens
    empty: torch.Tensor  # (B,) True where a clip has no prompt

    def rows(self, which: list[int]) -> dict:
        """``prepare_conditions`` keywords for the clips ``which`` (one row per window)."""
        return dict(text_tokens=self.tokens[which], text_mask=self.mask[which], drop_text=self.empty[which])


NO_PROMPT = dict(text_tokens=None, text_mask=None)


@dataclass
class References:
    """Encoded reference sounds of a batch (latents as the transformer denoises them)."""

    latents: torch.Tensor  # (B, R, latent_channels)
    mask: torch.Tensor  # (B, R) True for real frames
    empty: torch.Tensor  # (B,) True where a clip has no reference

    def rows(self, which: list[int]) -> dict:
        """``prepare_conditions`` keywords for the clips ``which`` (one row per window)."""
        return dict(reference=self.latents[which], reference_mask=self.mask[which], drop_reference=self.empty[which])


@dataclass
class SoundtrackOutput:
    """Generated audio: one mono float32 waveform per clip, each exactly as long as its clip."""

    waveforms: list[np.ndarray]
    sample_rate: int
    # per clip, the sound bank entries retrieved as its reference (empty: none were)
    retrieved: list[list[int]] = field(default_factory=list)


class V2APipeline(FolderPipeline):
    """Generates a soundtrack for video clips.

    Components: ``frame_encoder`` (EfficientNet-lite), ``text_encoder`` + ``tokenizer``
    (MiniLM), ``transformer`` (flow-matching denoiser), ``scheduler`` (flow-matching Euler),
    ``autoencoder`` (mel latent decoder) and ``vocoder`` (HiFi-GAN, 22,050 Hz).
    """

    def __init__(self, frame_encoder: FrameEncoder, text_encoder: TextEncoder, tokenizer,
                 transformer: SoundTransformer, scheduler: FlowMatchEulerScheduler,
                 autoencoder: AudioLatent, vocoder):
        super().__init__()
        self.register_modules(frame_encoder=frame_encoder, text_encoder=text_encoder, tokenizer=tokenizer,
                              transformer=transformer, scheduler=scheduler, autoencoder=autoencoder, vocoder=vocoder)
        self.vocoder_name_or_path: str | None = None  # a vocoder folder that replaced the model's own (load_pipeline)

    @property
    def takes_reference(self) -> bool:
        """Whether the transformer has reference tokens: only then can a clip get a reference sound."""
        return bool(self.transformer.config.get("reference_tokens", 0))

    @property
    def audio_settings(self) -> AudioSettings:
        return AudioSettings(sample_rate=self.vocoder.config.sampling_rate, n_mels=self.autoencoder.config.n_mels,
                             latent_downsample=self.autoencoder.config.downsample)

    # -- conditioning -------------------------------------------------------------------

    def encode_prompts(self, prompts: list[str | None]) -> Prompts | None:
        """Token embeddings of the prompts, or None when no clip has one.

        Rows without a prompt in a batch with others are marked ``empty``; the transformer's
        ``prepare_conditions`` gives them its learned empty-prompt embedding, so "no prompt"
        means the same thing alone or in a batch.
        """
        if all(p is None or not p.strip() for p in prompts):
            return None
        texts = [p if p and p.strip() else "" for p in prompts]
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=MAX_PROMPT_TOKENS, return_tensors="pt")
        ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device).bool()
        empty = torch.tensor([not (p and p.strip()) for p in prompts], device=self.device)
        return Prompts(self.text_encoder(ids, mask), mask, empty)

    def reference_mel(self, sound: np.ndarray, is_mel: bool = False) -> torch.Tensor:
        """A reference sound as the log-mel its latent is encoded from: its first 10 s, cut to whole
        latent frames. ``sound`` is a mono waveform at the vocoder's rate, or with ``is_mel`` a
        log-mel ``(frames, n_mels)`` already (a bank's)."""
        settings = self.audio_settings
        if is_mel:
            mel = torch.as_tensor(np.asarray(sound, dtype=np.float32))
        else:
            wave = np.asarray(sound, dtype=np.float32)[: int(REFERENCE_MAX_SECONDS * settings.sample_rate)]
            mel = log_mel(torch.from_numpy(wave), settings)  # (frames, n_mels)
        mel = mel[: int(REFERENCE_MAX_SECONDS * settings.mel_rate)]
        usable = len(mel) // settings.latent_downsample * settings.latent_downsample
        if usable == 0:
            raise V2AError("a reference sound is too short (under 25 ms)")
        return mel[:usable]

    def encode_references(self, mels: list[torch.Tensor | None]) -> References | None:
        """Reference log-mels (``reference_mel``; None for no reference) encoded into the audio latent,
        or None when no clip has one."""
        if all(m is None for m in mels):
            return None
        if not self.takes_reference:
            raise V2AError("this model takes no reference sound (its transformer has no reference tokens)")
        latents = []
        for mel in mels:
            if mel is None:
                latents.append(None)
                continue
            latents.append(self.autoencoder.encode(mel[None].to(self.device, self.autoencoder.dtype))[0])
        frames = max(len(z) for z in latents if z is not None)
        channels = self.transformer.config.latent_channels
        stacked = torch.zeros(len(latents), frames, channels, device=self.device)
        mask = torch.zeros(len(latents), frames, dtype=torch.bool, device=self.device)
        for i, z in enumerate(latents):
            if z is not None:
                stacked[i, : len(z)], mask[i, : len(z)] = z.float(), True
        empty = torch.tensor([z is None for z in latents], device=self.device)
        return References(stacked, mask, empty)

    @torch.no_grad()
    def analyse_video(self, video: Video, motion: bool = True, num_latent_frames: int | None = None) -> VideoFeatures:
        """Reads ``video`` once, as a stream: the frames shown at each ``transformer.config.frame_token_rate``
        sample time go through the frame encoder ``FRAME_BATCH`` at a time and the motion features
        (``num_latent_frames`` of them; default: the video's latent length) are computed as the frames
        arrive, so no more than a chunk of frames and a batch of samples is held at once."""
        rate = self.transformer.config.frame_token_rate
        moves = MotionStream(self.audio_settings.latent_rate) if motion else None
        waiting, encoded, sampled = [], [], 0  # frames for the encoder, its outputs, frames sampled so far
        latest = None  # the last frame read

        def encode(frames: list[np.ndarray]):
            with _substage("frame encoder"):
                features, _, labels = self.frame_encoder(self.frame_encoder.preprocess(np.stack(frames)))
            encoded.append((features, labels))

        chunks = video.chunks()
        while True:
            with _substage("video decode"):
                chunk = next(chunks, None)
            if chunk is None:
                break
            for frame, t in zip(*chunk):
                # a sample's frame is the latest shown at its time: known once a later one arrives
                while latest is not None and (sampled + 0.5) / rate < t:
                    waiting.append(latest.copy())  # a copy: a view would keep its whole chunk alive
                    sampled += 1
                    if len(waiting) == FRAME_BATCH:
                        encode(waiting)
                        waiting = []
                latest = frame
            if moves is not None:
                with _substage("motion"):
                    moves.add(*chunk)
        count = max(1, int(np.ceil(video.duration * rate - 1e-6)))
        waiting += [latest] * (count - sampled)  # the last frame stays on screen to the end
        for start in range(0, len(waiting), FRAME_BATCH):
            encode(waiting[start : start + FRAME_BATCH])
        if num_latent_frames is None:
            num_latent_frames = self.audio_settings.latent_frames(video.duration)
        return VideoFeatures(
            features=torch.cat([f for f, _ in encoded]), labels=torch.cat([lab for _, lab in encoded]),
            times=torch.tensor((np.arange(count) + 0.5) / rate, dtype=torch.float32, device=self.device),
            motion=torch.from_numpy(moves.features(num_latent_frames)).to(self.device) if moves else None,
            duration=video.duration)

    def encode_frames(self, clip: Video) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features, label embeddings and times of frames sampled at ``transformer.config.frame_token_rate``."""
        video = self.analyse_video(clip, motion=False)
        return video.features, video.labels, video.times

    def encode_video(self, clip: Video, num_latent_frames: int):
        """``encode_frames`` plus motion features on the latent clock."""
        video = self.analyse_video(clip, num_latent_frames=num_latent_frames)
        return video.features, video.labels, video.times, video.motion

    def retrieve_references(self, bank: SoundBank | None, k: int, prompts: list[str | None],
                            negatives: list[str | None], videos, given: list) -> list[list[int]]:
        """Per clip, the ``k`` bank entries its prompt (without one: its pictures, from ``videos``)
        retrieves (:func:`v2a.bank.retrieve`); none for a clip that has a reference (``given``)."""
        if bank is None:
            return [[] for _ in prompts]
        return [[] if have is not None else
                [i for i, _ in retrieve(self, bank, k, prompt, negative, videos[c].labels if videos else None)]
                for c, (prompt, negative, have) in enumerate(zip(prompts, negatives, given))]

    # -- generation ---------------------------------------------------------------------

    @torch.inference_mode()
    def __call__(
        self,
        clips: Video | list[Video],
        prompt: str | list[str | None] | None = None,
        negative_prompt: str | list[str | None] | None = None,
        num_inference_steps: int = DEFAULTS.steps,
        guidance_scale: float = DEFAULTS.guidance,
        text_guidance_scale: float | None = DEFAULTS.text_guidance,
        generator: torch.Generator | list[torch.Generator] | None = None,
        use_video: bool = True,
        window_seconds: float = DEFAULTS.window_seconds,
        stage_seconds: dict[str, float] | None = None,
        reference: np.ndarray | list[np.ndarray | None] | None = None,
        bank: SoundBank | None = None,
        bank_entries: int = DEFAULTS.bank_entries,
    ) -> SoundtrackOutput:
        """Generates one soundtrack per clip.

        Args:
            clips: a decoded clip, a video file read as a stream (``VideoFile``), or a list of
                them (they may differ in length).
            prompt: what should be heard; one string for all clips or one per clip.
            negative_prompt: what should not be heard; replaces the unconditional branch
                of classifier-free guidance.
            num_inference_steps: Euler steps of the flow-matching sampler.
            guidance_scale: how hard to follow the video, and the prompt too when
                ``text_guidance_scale`` is None; larger follows them harder.
            text_guidance_scale: how hard to follow the prompt, when that differs from
                ``guidance_scale`` it costs one more transformer pass per step. Both at 1.0 (or
                ``guidance_scale`` 1.0 and this None) turns guidance off.
            generator: a ``torch.Generator`` or one per clip, for reproducible noise.
            use_video: False ignores the frames (an ablation for evaluation).
            window_seconds: longer clips are denoised in half-overlapping windows this long.
            stage_seconds: if a dict is given, the seconds spent in each stage ("encode",
                "denoise", "latent decode", "vocoder") are added to it (for benchmarks), and those
                of parts of a stage under "stage/part" ("encode/frame encoder", "encode/motion").
            reference: a reference sound (mono waveform at the vocoder's rate; its first 10 s are
                used) for all clips, or one per clip (None: no reference). Like the prompt, it is
                heard only in the conditional branch: guidance steers towards it.
            bank: a sound bank; each clip without a ``reference`` takes the ``bank_entries`` entries
                its prompt (without one: its pictures) retrieves, joined, as its reference; the
                negative prompt leaves out entries close to it. Needs a model with reference tokens.
            bank_entries: how many entries a clip retrieves.
        """
        # 1. check inputs
        clips = [clips] if isinstance(clips, (VideoClip, VideoFile)) else list(clips)
        n = len(clips)
        prompts = self._per_clip(prompt, n, "prompt")
        negatives = self._per_clip(negative_prompt, n, "negative_prompt")
        references = (list(reference) if isinstance(reference, (list, tuple)) else [reference] * n)
        if len(references) != n:
            raise V2AError(f"{len(references)} reference sounds for {n} clips")
        if num_inference_steps < 1:
            raise V2AError(f"steps must be at least 1, got {num_inference_steps}")
        if not window_seconds > 0:
            raise V2AError(f"window_seconds must be positive, got {window_seconds}")
        if isinstance(generator, list) and len(generator) != n:
            raise V2AError(f"{len(generator)} generators for {n} clips")
        if bank is not None:
            check_bank(self, bank)
            if bank_entries < 1:
                raise V2AError(f"bank_entries must be at least 1, got {bank_entries}")
        mels = [None if r is None else self.reference_mel(r) for r in references]
        settings = self.audio_settings
        timer = _StageTimer(stage_seconds, self.device)

        # 2. encode conditions: each video is read once, as a stream, which also tells its length;
        #    the conditional branch sees prompt + video (+ reference), the other the negative prompt
        #    alone; a clip without a reference retrieves one from the bank, once
        with timer("encode"):
            text, negative = self.encode_prompts(prompts), self.encode_prompts(negatives)
            videos = [self.analyse_video(c) for c in clips] if use_video else None
            durations = [v.duration for v in videos] if use_video else [_read_duration(c) for c in clips]
            lengths = [settings.latent_frames(d) for d in durations]
            windows = latent_windows(lengths, max(1, settings.latent_frames(window_seconds)))
            batches = [windows[i : i + WINDOW_BATCH] for i in range(0, len(windows), WINDOW_BATCH)]
            retrieved = self.retrieve_references(bank, bank_entries, prompts, negatives, videos, mels)
            mels = [self.reference_mel(bank.reference_mel(hits), is_mel=True) if hits else mel
                    for mel, hits in zip(mels, retrieved)]
            sounds = self.encode_references(mels)
            conditions = []
            for batch in batches:
                which, t_window = [clip for clip, _, _ in batch], max(end - start for _, start, end in batch)
                branches, weights = guidance_branches(
                    {"conditional": lambda: self._conditions(text, videos, batch, sounds),
                     "video_only": lambda: self._conditions(negative, videos, batch),
                     "unconditional": lambda: self.transformer.prepare_conditions(
                         frame_features=None, frame_labels=None, frame_times=None, motion=None,
                         num_latent_frames=t_window, batch_size=len(batch), **_rows(negative, which))},
                    guidance_scale, text_guidance_scale, prompt_differs=prompts != negatives or sounds is not None,
                    has_video=use_video)
                conditions.append(branches)

        # 3-5. prepare noise, denoise, decode
        with timer("denoise"):
            latents = self.denoise(conditions, lengths, generator, num_inference_steps, weights, batches)
        output = self.decode(latents, lengths, durations, timer)
        output.retrieved = retrieved
        return output

    def denoise(self, conditions: Sequence[Conditions], lengths: list[int], generator, num_inference_steps: int,
                weights: Sequence[float], batches: Sequence[list[tuple[int, int, int]]]) -> torch.Tensor:
        """Samples latents ``(B, max(lengths), C)``.

        ``batches`` are the sampling windows ``(clip, start, end)`` (``latent_windows``) in the
        groups one transformer pass takes, and ``conditions`` one per batch: per guidance branch,
        one row per window. The velocity is the branches' velocities summed with ``weights``
        (``guidance_branches``), cross-faded where windows overlap. Noise is drawn per clip at its
        own length, so batching never changes a clip's result.
        """
        n = len(lengths)
        channels = self.transformer.config.latent_channels
        gens = generator if isinstance(generator, list) else [generator] * n
        latents = torch.zeros(n, max(lengths), channels, device=self.device)
        token_mask = torch.zeros(n, max(lengths), dtype=torch.bool, device=self.device)
        for i, (length, g) in enumerate(zip(lengths, gens)):
            noise = torch.randn(length, channels, generator=g, device=g.device if g is not None else "cpu")
            latents[i, :length] = noise.to(self.device)
            token_mask[i, :length] = True
        velocity = self._windowed_velocity(conditions, weights, batches, lengths)
        return euler_sample(velocity, latents, self.scheduler, num_inference_steps, token_mask, self.progress_bar)

    def _windowed_velocity(self, conditions: Sequence[Conditions], weights: Sequence[float],
                           batches: Sequence[list[tuple[int, int, int]]], lengths: list[int]
                           ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """``velocity(latents, t)`` of whole clips: one transformer pass per batch of windows for
        every guidance branch, the branches summed with ``weights``, the windows cross-faded."""
        branches = len(weights)
        channels = self.transformer.config.latent_channels
        fades = iter([f.to(self.device)[:, None] for f in crossfade_weights([w for b in batches for w in b], lengths)])
        passes = []  # per batch: its windows, their conditions, fades, longest window and token mask
        for batch, batch_conditions in zip(batches, conditions):
            t_window = max(end - start for _, start, end in batch)
            window_mask = torch.zeros(len(batch), t_window, dtype=torch.bool, device=self.device)
            for k, (_, start, end) in enumerate(batch):
                window_mask[k, : end - start] = True
            passes.append((batch, batch_conditions, [next(fades) for _ in batch], t_window,
                           window_mask.repeat(branches, 1)))

        def velocity(latents: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = torch.zeros_like(latents)
            for batch, batch_conditions, batch_fades, t_window, mask in passes:
                x = torch.zeros(len(batch), t_window, channels, device=self.device)
                for k, (clip, start, end) in enumerate(batch):
                    x[k, : end - start] = latents[clip, start:end]
                x = x.repeat(branches, 1, 1)
                sigma = (t / self.scheduler.config.num_train_timesteps).expand(x.shape[0]).to(self.device)
                per_branch = self.transformer(x.to(self.transformer.dtype), sigma, batch_conditions, mask).float()
                guided = sum(w * v for w, v in zip(weights, per_branch.chunk(branches)))
                # a clip that is one window has fade 1 everywhere: its velocity passes through unchanged
                for k, (clip, start, end) in enumerate(batch):
                    out[clip, start:end] += batch_fades[k] * guided[k, : end - start]
            return out

        return velocity

    def decode(self, latents: torch.Tensor, lengths: list[int], durations: list[float],
               timer: "_StageTimer | None" = None) -> SoundtrackOutput:
        """Latents -> log-mel -> waveform, each clip at its own length, trimmed to its duration; the
        vocoder's pieces are written into the waveform as they come, a chunk of the mel at a time.

        The latent decoder takes a clip's whole latent at once: its GroupNorm layers normalise over
        the whole length, so decoding in pieces would change the sound (the mel is small: 80
        numbers per 11.6 ms)."""
        settings = self.audio_settings
        timer = timer or _StageTimer(None, self.device)
        waveforms = []
        for i, (length, duration) in enumerate(zip(lengths, durations)):
            with timer("latent decode"):
                mel = self.autoencoder.decode(latents[i : i + 1, :length].to(self.autoencoder.dtype))
            wave = np.zeros(int(round(duration * settings.sample_rate)), np.float32)
            pieces, done = vocode_stream(self.vocoder, mel, settings.mel_rate), 0
            while done < len(wave):
                with timer("vocoder"):
                    piece = next(pieces, None)
                if piece is None:
                    break
                piece = piece[0, : len(wave) - done].cpu().numpy()
                wave[done : done + len(piece)] = piece
                done += len(piece)
            waveforms.append(wave)
        return SoundtrackOutput(waveforms=waveforms, sample_rate=settings.sample_rate)

    def _conditions(self, text: Prompts | None, videos, windows: list[tuple[int, int, int]],
                    sounds: References | None = None) -> Conditions:
        """One row per window ``(clip, start, end)``: the clip's prompt (and reference sound) with that
        span's frames and motion, placed as if the span started the clip."""
        t_window = max(end - start for _, start, end in windows)
        if videos is None:
            which = [clip for clip, _, _ in windows]
            return self.transformer.prepare_conditions(
                frame_features=None, frame_labels=None, frame_times=None, motion=None, num_latent_frames=t_window,
                batch_size=len(windows), **_rows(text, which), **(sounds.rows(which) if sounds else {}))
        # Windows of different lengths have different numbers of frame tokens and latent frames:
        # prepare each alone at its own length, then pad (padding is masked out of attention).
        rate = self.audio_settings.latent_rate
        per_window = []
        for clip, start, end in windows:
            video = videos[clip]
            features, labels, times, motion = video.features, video.labels, video.times, video.motion
            # a clip's last sampled frame may lie past its last latent frame: its last window keeps it
            until = end / rate if end < len(motion) else math.inf
            keep = torch.from_numpy(frame_tokens_in_window(times.cpu().numpy(), start / rate, until))
            keep = keep.to(times.device)
            per_window.append(self.transformer.prepare_conditions(
                frame_features=features[keep][None], frame_labels=labels[keep][None],
                frame_times=(times[keep] - start / rate).clamp(min=0)[None], motion=motion[start:end][None],
                num_latent_frames=end - start, batch_size=1, **_rows(text, [clip]),
                **(sounds.rows([clip]) if sounds else {})))
        return _cat_conditions(*per_window)

    @staticmethod
    def _per_clip(value, n: int, name: str) -> list[str | None]:
        if value is None or isinstance(value, str):
            return [value] * n
        value = list(value)
        if len(value) != n:
            raise V2AError(f"{len(value)} values of {name} for {n} clips")
        return value


def euler_sample(velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], latents: torch.Tensor,
                 scheduler: FlowMatchEulerScheduler, num_inference_steps: int,
                 token_mask: torch.Tensor | None = None, progress: Callable = iter) -> torch.Tensor:
    """Flow-matching Euler sampling: integrates ``velocity(latents, t)`` from noise ``latents``
    over the scheduler's timesteps; ``token_mask`` ``(B, T)`` keeps padding frames at zero."""
    scheduler.set_timesteps(num_inference_steps, device=latents.device)
    for t in progress(scheduler.timesteps):
        latents = scheduler.step(velocity(latents, t), t, latents).prev_sample
        if token_mask is not None:
            latents = latents * token_mask[..., None]
    return latents


def _read_duration(video: Video) -> float:
    """A video's duration, reading it through if it is a file not read yet."""
    if video.duration is None:
        for _ in video.chunks():
            pass
    return video.duration


def latent_windows(lengths: list[int], window: int) -> list[tuple[int, int, int]]:
    """``(clip, start, end)`` latent-frame windows covering every clip.

    A clip that fits in ``window`` frames is one window; a longer one gets the fewest windows of
    exactly ``window`` frames, evenly spaced from its start to its end, that overlap by at least half.
    """
    windows = []
    for clip, length in enumerate(lengths):
        if length <= window:
            windows.append((clip, 0, length))
            continue
        count = math.ceil((length - window) / max(1, window // 2)) + 1
        windows += [(clip, start, start + window)
                    for start in (math.floor(k * (length - window) / (count - 1) + 0.5) for k in range(count))]
    return windows


def window_joins(duration: float, settings: AudioSettings, window_seconds: float = DEFAULTS.window_seconds
                 ) -> list[tuple[float, float]]:
    """Seconds ``(start, end)`` where consecutive sampling windows of a clip overlap and cross-fade."""
    length = settings.latent_frames(duration)
    windows = latent_windows([length], max(1, settings.latent_frames(window_seconds)))
    rate = settings.latent_rate
    return [(b[1] / rate, a[2] / rate) for a, b in zip(windows, windows[1:])]


def crossfade_weights(windows: list[tuple[int, int, int]], lengths: list[int]) -> list[torch.Tensor]:
    """Per window, a weight per latent frame; at every frame of a clip its windows' weights sum to 1.

    A window ramps linearly up from its start and down to its end over half its length, except
    at its clip's own ends, so where two windows overlap one fades out as the next fades in.
    """
    raw = []
    for clip, start, end in windows:
        position = torch.arange(end - start, dtype=torch.float32) + 0.5
        ramp = max(1.0, (end - start) / 2)
        weight = torch.ones(end - start)
        if start > 0:
            weight = torch.minimum(weight, position / ramp)
        if end < lengths[clip]:
            weight = torch.minimum(weight, (end - start - position) / ramp)
        raw.append(weight)
    totals = [torch.zeros(length) for length in lengths]
    for (clip, start, end), weight in zip(windows, raw):
        totals[clip][start:end] += weight
    return [weight / totals[clip][start:end] for (clip, start, end), weight in zip(windows, raw)]


def _rows(text: Prompts | None, which: list[int]) -> dict:
    """The prompt rows of the clips ``which`` (one per window), as ``prepare_conditions`` keywords."""
    return NO_PROMPT if text is None else text.rows(which)


def guidance_weights(guidance_scale: float, text_guidance_scale: float | None, *, prompt_differs: bool = True,
                     has_video: bool = True) -> dict[str, float]:
    """The weight of each guidance branch a step needs, by name; a branch of weight 0 is left out.

    The velocity ``v(neg) + g_video (v(video, neg) - v(neg)) + g_text (v(video, prompt) - v(video,
    neg))`` weighs ``conditional`` (the video with the prompt) ``g_text``, ``video_only`` (the video
    with the negative prompt) ``g_video - g_text`` and ``unconditional`` (the negative prompt alone)
    ``1 - g_video``. Without video the last two are the same branch; with the prompt equal to the
    negative the first two are. ``text_guidance_scale`` None weighs the prompt like the video.
    """
    g_video = guidance_scale
    g_text = guidance_scale if text_guidance_scale is None else text_guidance_scale
    if not prompt_differs:
        g_text = g_video  # v(video, prompt) is v(video, neg): its weight joins the video-only branch's
    if not has_video:
        g_video = 1.0  # v(video, neg) is v(neg): its weight joins the unconditional branch's
    named = {"conditional": g_text, "video_only": g_video - g_text, "unconditional": 1.0 - g_video}
    return {name: weight for name, weight in named.items() if weight != 0.0}


def guidance_branches(build: dict[str, Callable[[], Conditions]], guidance_scale: float,
                      text_guidance_scale: float | None, *, prompt_differs: bool = True,
                      has_video: bool = True) -> tuple[Conditions, list[float]]:
    """The conditions of the branches ``guidance_weights`` keeps, concatenated, and their weights.

    ``build`` maps each branch name to a function that prepares its conditions (called only for
    the branches that are kept).
    """
    weights = guidance_weights(guidance_scale, text_guidance_scale, prompt_differs=prompt_differs,
                               has_video=has_video)
    return _cat_conditions(*[build[name]() for name in weights]), list(weights.values())


_ACTIVE_TIMER: contextvars.ContextVar["_StageTimer | None"] = contextvars.ContextVar("v2a_stage_timer", default=None)


class _StageTimer:
    """Adds each stage's wall time to a dict (a no-op without one); waits for the GPU to finish.

    While a stage runs, code anywhere in it can time a part with ``_substage(name)``, recorded as
    ``"stage/name"`` (a part's time is also in its stage's)."""

    def __init__(self, seconds: dict[str, float] | None, device: torch.device):
        self.seconds, self.device = seconds, torch.device(device)
        self._open: list[str] = []

    @contextlib.contextmanager
    def __call__(self, stage: str):
        if self.seconds is None:
            yield
            return
        name = "/".join([*self._open, stage])
        self._open.append(stage)
        active = _ACTIVE_TIMER.set(self)
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self._open.pop()
            _ACTIVE_TIMER.reset(active)


def _substage(name: str):
    """Times a part of the running stage, if a timer is on (see ``_StageTimer``)."""
    timer = _ACTIVE_TIMER.get()
    return timer(name) if timer is not None else contextlib.nullcontext()


def _cat_conditions(*items: Conditions) -> Conditions:
    """Concatenates conditions along the batch, padding context tokens and latent frames."""
    pad = torch.nn.functional.pad
    width = max(c.context.shape[1] for c in items)
    frames = max(c.motion.shape[1] for c in items)
    padded = []
    for c in items:
        extra, later = width - c.context.shape[1], frames - c.motion.shape[1]
        padded.append(Conditions(pad(c.context, (0, 0, 0, extra)), pad(c.context_mask, (0, extra), value=False),
                                 c.summary, pad(c.motion, (0, 0, 0, later))))
    return Conditions.cat(padded)
