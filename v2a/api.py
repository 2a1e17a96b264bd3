"""The Python API for editing tools and scripts.

    import v2a
    pipe = v2a.load_pipeline()                        # shipped default, CPU, float32
    waveform, rate = v2a.generate("clip.mp4", prompt="drums", pipeline=pipe)
    v2a.add_sound("clip.mp4", "clip.v2a.mp4", prompt="drums", pipeline=pipe)

``generate`` also takes frames already in memory: ``v2a.generate(frames, fps=30)`` with
``frames`` a ``(T, H, W, 3)`` uint8 array.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from .bank import open_bank, select_bank
from .media.audio import load_references
from .media.mux import AUDIO_EXTENSIONS, check_output, mux_soundtrack, write_audio
from .presets import load_pipeline
from .settings import DEFAULTS, GenerationSettings
from .signal.audio import DEFAULT_AUDIO
from .media.decode import VideoClip, decode_video


def default_output_path(video_path: str | os.PathLike) -> Path:
    """``clip.mp4`` -> ``clip.v2a.mp4`` in the same folder."""
    path = Path(video_path)
    return path.with_name(f"{path.stem}.v2a{path.suffix}")


def _as_clip(video, fps: float | None, times) -> VideoClip:
    if isinstance(video, VideoClip):
        return video
    if isinstance(video, (str, os.PathLike)):
        return decode_video(video)
    return VideoClip.from_array(np.asarray(video), fps=fps, times=times)


def generate(
    video: str | os.PathLike | np.ndarray | VideoClip,
    *,
    fps: float | None = None,
    times: np.ndarray | None = None,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    reference=None,
    bank=None,
    pipeline=None,
    settings: GenerationSettings = DEFAULTS,
    **overrides,
) -> tuple[np.ndarray, int]:
    """Generates a soundtrack for one video.

    Args:
        video: a video file path, a decoded ``VideoClip``, or ``(T, H, W, 3)`` uint8 frames.
        fps: frame rate of in-memory frames (or give ``times``, one per frame, in seconds).
        prompt: what should be heard, e.g. ``"drums"``; None lets the video decide.
        negative_prompt: what should not be heard, e.g. ``"music, speech"``.
        reference: a sound to imitate: an audio file, a video file (its audio track is used), a
            waveform with its rate ``(waveform, rate)``, or a list of these (joined, each cut to an
            equal share of the 10 s used). The video still decides when sounds happen.
        bank: where a clip without ``reference`` looks one up: None (default) follows
            ``settings.use_bank`` (the shipped bank, for a model that takes reference sounds), True
            is the shipped bank, a path or a :class:`v2a.bank.SoundBank` another, False none. The
            prompt (without one, the pictures) retrieves ``settings.bank_entries`` entries; the
            negative prompt leaves out entries close to it. A bank asked for by a model without
            reference tokens is a ``V2AError``.
        pipeline: a loaded pipeline (``load_pipeline()``); loaded on first use if None.
        settings: the sampler settings (:class:`v2a.settings.GenerationSettings`).
        **overrides: fields of ``settings`` to change for this call: ``seed`` (the same seed gives
            the same waveform), ``steps`` (fewer is faster), ``guidance`` (how hard to follow the
            video), ``text_guidance`` (how hard to follow the prompt; None: as ``guidance``),
            ``window_seconds``, ``use_bank``, ``bank_entries``.

    Returns:
        ``(waveform, sample_rate)``: mono float32 in [-1, 1], exactly as long as the video.
    """
    settings = replace(settings, **overrides)
    sound = load_references(reference, DEFAULT_AUDIO.sample_rate)  # a bad reference fails before the model loads
    bank = open_bank(bank)  # and so does a bad bank
    pipe = pipeline if pipeline is not None else load_pipeline()
    bank = select_bank(bank, pipe, settings.use_bank)
    clip = _as_clip(video, fps, times)
    generator = torch.Generator("cpu").manual_seed(int(settings.seed))
    out = pipe(clip, prompt=prompt, negative_prompt=negative_prompt, reference=sound, bank=bank, generator=generator,
               **settings.pipeline_kwargs())
    return out.waveforms[0], out.sample_rate


def write_result(video_path: str | os.PathLike, output_path: str | os.PathLike, waveform: np.ndarray,
                 sample_rate: int, *, keep_original_audio: bool = False, overwrite: bool = False) -> Path:
    """Writes a generated waveform: muxed into a copy of the video, or alone for .wav/.flac."""
    output_path = Path(output_path)
    if output_path.suffix.lower() in AUDIO_EXTENSIONS:
        return write_audio(output_path, waveform, sample_rate, overwrite=overwrite)
    return mux_soundtrack(video_path, output_path, waveform, sample_rate,
                          keep_original_audio=keep_original_audio, overwrite=overwrite)


def add_sound(
    video_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    *,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    reference=None,
    bank=None,
    keep_original_audio: bool = False,
    overwrite: bool = False,
    pipeline=None,
    settings: GenerationSettings = DEFAULTS,
    **overrides,
) -> Path:
    """Generates a soundtrack for ``video_path`` and writes it to ``output_path``.

    The output defaults to ``<name>.v2a.<ext>`` beside the input. A ``.wav`` or ``.flac``
    output gets the audio alone; any video extension gets the original video stream copied
    bit for bit with the new soundtrack (the input's audio is replaced unless
    ``keep_original_audio``). The input is never modified; the output appears atomically.
    ``reference``, ``bank``, ``settings`` and ``overrides`` are as for :func:`generate`.
    """
    video_path = Path(video_path)
    output_path = Path(output_path) if output_path is not None else default_output_path(video_path)
    check_output(output_path, overwrite, source=video_path)  # fail before the slow generation
    waveform, rate = generate(video_path, prompt=prompt, negative_prompt=negative_prompt, reference=reference,
                              bank=bank, pipeline=pipeline, settings=settings, **overrides)
    return write_result(video_path, output_path, waveform, rate, keep_original_audio=keep_original_audio,
                        overwrite=overwrite)


__all__ = ["GenerationSettings", "add_sound", "default_output_path", "generate", "load_pipeline", "write_result"]
