"""The Python API for editing tools and scripts.

    import v2a
    pipe = v2a.load_pipeline()                        # shipped default, CPU (bfloat16 where the CPU has it)
    waveform, rate = v2a.generate("clip.mp4", prompt="drums", pipeline=pipe)
    v2a.add_sound("clip.mp4", "clip.v2a.mp4", prompt="drums", pipeline=pipe)

``generate`` also takes frames already in memory: ``v2a.generate(frames, fps=30)`` with
``frames`` a ``(T, H, W, 3)`` uint8 array.

torch and the models load inside the functions that need them, so the CLI can run
:func:`check_job` (every check that needs no model) before paying for them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from .errors import V2AError
from .media.audio import load_references
from .media.decode import VideoClip, VideoFile, check_span, parse_time, probe_video
from .media.mux import AUDIO_EXTENSIONS, check_container, check_output, keeps_tags, mux_soundtrack, write_audio
from .media.soundtrack import compose_track, input_audio
from .provenance import provenance_record, sidecar_path, to_metadata, write_sidecar
from .settings import DEFAULTS, GenerationSettings

def default_output_path(video_path: str | os.PathLike) -> Path:
    """``clip.mp4`` -> ``clip.v2a.mp4`` in the same folder."""
    path = Path(video_path)
    return path.with_name(f"{path.stem}.v2a{path.suffix}")


def _as_video(video, fps: float | None, times, start, end) -> VideoClip | VideoFile:
    """What the pipeline reads: a file as a stream of the span's frames (checked against its header
    first, so that a bad span fails before any model loads), frames in memory cut to the span."""
    if isinstance(video, (str, os.PathLike)):
        span = check_span(start, end, probe_video(video).duration)
        if span is None:
            return VideoFile(video)
        # the span's end is the decoded video's if it comes first, as it would be for frames in memory
        return VideoFile(video, span[0], parse_time(end, "end") if end is not None else None)
    clip = video if isinstance(video, VideoClip) else VideoClip.from_array(np.asarray(video), fps=fps, times=times)
    span = check_span(start, end, clip.duration)
    return clip.cut(*span) if span is not None else clip


def generate(
    video: str | os.PathLike | np.ndarray | VideoClip,
    *,
    fps: float | None = None,
    times: np.ndarray | None = None,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    reference=None,
    bank=None,
    start: float | str | None = None,
    end: float | str | None = None,
    pipeline=None,
    settings: GenerationSettings = DEFAULTS,
    **overrides,
) -> tuple[np.ndarray, int]:
    """Generates a soundtrack for one video, or for a span of it.

    Args:
        video: a video file path (read as a stream: a long video is never held in memory whole), a
            ``VideoClip``, or ``(T, H, W, 3)`` uint8 frames.
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
        start, end: the span to make sound for, in seconds or as ``"HH:MM:SS.mmm"``; None: from
            the beginning, to the end. The model sees only the frames of the span.
        pipeline: a loaded pipeline (``load_pipeline()``); loaded on first use if None.
        settings: the sampler settings (:class:`v2a.settings.GenerationSettings`).
        **overrides: fields of ``settings`` to change for this call: ``seed`` (the same seed gives
            the same waveform), ``steps`` (fewer is faster), ``guidance`` (how hard to follow the
            video), ``text_guidance`` (how hard to follow the prompt; None: as ``guidance``),
            ``window_seconds``, ``use_bank``, ``bank_entries``.

    Returns:
        ``(waveform, sample_rate)``: mono float32 in [-1, 1], exactly as long as the video (or span).
    """
    out, *_ = _sample(video, fps=fps, times=times, prompt=prompt, negative_prompt=negative_prompt,
                        reference=reference, bank=bank, start=start, end=end, pipeline=pipeline,
                        settings=replace(settings, **overrides))
    return out.waveforms[0], out.sample_rate


def _sample(video, *, fps=None, times=None, prompt, negative_prompt, reference, bank, start, end, pipeline,
            settings: GenerationSettings):
    """:func:`generate`'s work: the pipeline's whole output (with what it retrieved from a bank), the
    bank it retrieved from (None: none), the video as read (its ``span`` says where it was cut) and
    the pipeline. References, the bank and the span are checked before the model loads."""
    import torch

    from .bank import open_bank, select_bank
    from .presets import load_pipeline
    from .signal.audio import DEFAULT_AUDIO

    sound = load_references(reference, DEFAULT_AUDIO.sample_rate)  # a bad reference fails before the model loads
    bank = open_bank(bank)  # and so does a bad bank
    clip = _as_video(video, fps, times, start, end)
    pipe = pipeline if pipeline is not None else load_pipeline()
    bank = select_bank(bank, pipe, settings.use_bank)
    generator = torch.Generator("cpu").manual_seed(int(settings.seed))
    out = pipe(clip, prompt=prompt, negative_prompt=negative_prompt, reference=sound, bank=bank, generator=generator,
               **settings.pipeline_kwargs())
    return out, bank, clip, pipe


def check_job(video_path: str | os.PathLike, output_path: str | os.PathLike, *, start=None, end=None,
              mix_db: float | None = None, keep_original_audio: bool = False, reencode: bool = False,
              sidecar: bool = False, overwrite: bool = False) -> tuple[float, float] | None:
    """Every check of an :func:`add_sound` job that needs no model, in milliseconds: the input holds
    a decodable video stream, the output may be written and its container can hold that stream
    (or ``reencode``), the span lies within the video, ``mix_db`` has audio to mix under. Raises a
    one-line V2AError for the first that fails; returns the span ``(start, end)`` in seconds (None:
    the whole video), as the container's header measures the video."""
    video_path, output_path = Path(video_path), Path(output_path)
    info = probe_video(video_path)
    check_output(output_path, overwrite, source=video_path)
    if sidecar or not keeps_tags(output_path):
        check_output(sidecar_path(output_path), overwrite)
    return check_streams(video_path, output_path, info, start=start, end=end, mix_db=mix_db,
                         keep_original_audio=keep_original_audio, reencode=reencode)


def check_streams(video_path: str | os.PathLike, output_path: str | os.PathLike, info=None, *, start=None,
                  end=None, mix_db: float | None = None, keep_original_audio: bool = False,
                  reencode: bool = False) -> tuple[float, float] | None:
    """The checks of :func:`check_job` that look at the input and the output's type but not at the
    output's place: folder mode's dry run makes them where the output folders do not exist yet.
    ``info`` is the input's :func:`v2a.media.decode.probe_video` if already read."""
    info = info if info is not None else probe_video(video_path)
    check_container(video_path, output_path, keep_original_audio=keep_original_audio, reencode=reencode)
    if mix_db is not None and not info.has_audio:
        raise V2AError(f"{video_path}: has no audio to mix the new sound under (leave out --mix)")
    return check_span(start, end, info.duration)


def write_result(video_path: str | os.PathLike, output_path: str | os.PathLike, waveform: np.ndarray,
                 sample_rate: int, *, span: tuple[float, float] | None = None, duration: float | None = None,
                 keep_original_audio: bool = False, mix_db: float | None = None, reencode: bool = False,
                 provenance: dict | None = None, sidecar: bool = False, overwrite: bool = False,
                 progress: bool = False) -> Path:
    """Writes a generated waveform: muxed into a copy of the video, or alone for .wav/.flac.

    Args:
        waveform: mono audio for the whole video, or for ``span`` if given.
        span: ``(start, end)`` seconds the waveform was made for. Outside it the input's own audio
            stays (silence if it has none, or with ``keep_original_audio``).
        duration: seconds of video (for a span; default: as the container's header says).
        keep_original_audio: also keep the input's audio as it is, as an extra track.
        mix_db: mix the waveform at this level (dB) under the input's own audio instead of
            replacing that audio.
        reencode: re-encode the video if the output's container cannot hold it as it is.
        provenance: the record of how the waveform was made (:func:`v2a.provenance.provenance_record`),
            written into the output's tags.
        sidecar: also write ``provenance`` as JSON beside the output (always done for containers
            that keep no tags).
        progress: show a progress bar while re-encoding.
    """
    output_path = Path(output_path)
    if span is None:
        duration = len(waveform) / sample_rate
    elif duration is None:
        duration = probe_video(video_path).duration
    replaces = span is not None and not keep_original_audio  # the input's audio stays outside the span
    original = input_audio(video_path) if mix_db is not None or replaces else None
    track = compose_track(waveform, sample_rate, duration=duration, start=span[0] if span else 0.0,
                          original=original, mix_db=mix_db)
    metadata = to_metadata(provenance) if provenance is not None else None
    if output_path.suffix.lower() in AUDIO_EXTENSIONS:
        written = write_audio(output_path, track.samples, track.sample_rate, overwrite=overwrite, metadata=metadata)
    else:
        written = mux_soundtrack(video_path, output_path, track.samples, track.sample_rate,
                                 keep_original_audio=keep_original_audio, overwrite=overwrite, reencode=reencode,
                                 metadata=metadata, progress=progress)
    if provenance is not None and (sidecar or not keeps_tags(output_path)):
        write_sidecar(output_path, provenance, overwrite=overwrite)
    return written


def add_sound(
    video_path: str | os.PathLike,
    output_path: str | os.PathLike | None = None,
    *,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    reference=None,
    bank=None,
    start: float | str | None = None,
    end: float | str | None = None,
    mix_db: float | None = None,
    keep_original_audio: bool = False,
    reencode: bool = False,
    sidecar: bool = False,
    overwrite: bool = False,
    pipeline=None,
    settings: GenerationSettings = DEFAULTS,
    progress: bool = False,
    **overrides,
) -> Path:
    """Generates a soundtrack for ``video_path`` (or a span of it) and writes it to ``output_path``.

    The output defaults to ``<name>.v2a.<ext>`` beside the input. A ``.wav`` or ``.flac``
    output gets the audio alone; any video extension gets the original video stream copied
    bit for bit with the new soundtrack (the input's audio is replaced unless
    ``keep_original_audio``). The input is never modified; the output appears atomically, with
    the record of how it was made in its tags (``v2a info`` prints it).

    Every check that needs no model (:func:`check_job`) runs before anything is loaded or
    generated. ``start``/``end`` are as for :func:`generate`; ``mix_db``, ``keep_original_audio``,
    ``reencode``, ``sidecar`` and ``progress`` as for :func:`write_result`; ``reference``, ``bank``,
    ``settings`` and ``overrides`` as for :func:`generate`.
    """
    video_path = Path(video_path)
    output_path = Path(output_path) if output_path is not None else default_output_path(video_path)
    check_job(video_path, output_path, start=start, end=end, mix_db=mix_db, keep_original_audio=keep_original_audio,
              reencode=reencode, sidecar=sidecar, overwrite=overwrite)
    settings = replace(settings, **overrides)
    # the video is read as a stream, once, while the sound is made
    out, used_bank, video, pipe = _sample(video_path, prompt=prompt, negative_prompt=negative_prompt,
                                          reference=reference, bank=bank, start=start, end=end, pipeline=pipeline,
                                          settings=settings)
    span = video.span if (start, end) != (None, None) else None
    waveform, rate = out.waveforms[0], out.sample_rate
    record = provenance_record(pipe, video_path, prompt=prompt, negative_prompt=negative_prompt, reference=reference,
                               settings=settings, span=span, mix_db=mix_db, bank=used_bank,
                               retrieved=out.retrieved[0] if out.retrieved else [])
    # a span that ends before the video stops the reading there: the header then gives the video's length
    return write_result(video_path, output_path, waveform, rate, span=span, duration=video.video_duration,
                        keep_original_audio=keep_original_audio, mix_db=mix_db, reencode=reencode,
                        provenance=record, sidecar=sidecar, overwrite=overwrite, progress=progress)


__all__ = ["GenerationSettings", "add_sound", "check_job", "default_output_path", "generate", "write_result"]
