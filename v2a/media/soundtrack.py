"""The new audio track of an output: the generated sound placed at its span, over silence or over
the input's own audio, or mixed under that audio.

Generated sound is mono at the vocoder's rate. A track that carries the input's audio keeps that
audio's rate and (down-mixed to at most stereo) its channels, so the parts outside the span sound
as they did; the generated sound is resampled and spread over those channels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import V2AError
from .audio import decode_audio_stream
from .decode import open_container, video_streams


@dataclass(frozen=True)
class Track:
    """An audio track to encode: ``(channels, samples)`` float32 starting at the first video frame."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self):
        assert self.samples.ndim == 2 and self.samples.shape[0] in (1, 2), f"{self.samples.shape=}"


def compose_track(waveform: np.ndarray, sample_rate: int, *, duration: float, start: float = 0.0,
                  original: Track | None = None, mix_db: float | None = None) -> Track:
    """The track ``duration`` seconds long with ``waveform`` (mono) from ``start`` seconds on.

    Args:
        waveform: the generated sound, mono float32 at ``sample_rate``.
        duration: seconds of video the track covers.
        start: where the generated sound begins.
        original: the input's own audio (see :func:`input_audio`); outside the generated sound it
            stays, and inside it is replaced, or mixed with the generated sound if ``mix_db`` is
            given. None: silence around the generated sound.
        mix_db: the level in dB of the generated sound under ``original`` (-6 is half as loud).
    """
    if original is None:
        rate, channels, base = sample_rate, 1, None
    else:
        rate, channels, base = original.sample_rate, original.samples.shape[0], original.samples
    from ..signal.audio import resample

    sound = resample(np.asarray(waveform, dtype=np.float32), sample_rate, rate)
    length = int(round(duration * rate))
    samples = np.zeros((channels, length), np.float32)
    if base is not None:
        samples[:, : base.shape[1]] = base[:, :length]
    begin = min(length, int(round(start * rate)))
    stop = min(length, begin + len(sound))
    part = sound[: stop - begin]
    if mix_db is not None:
        if original is None:
            raise V2AError("there is no audio of the input to mix the new sound under")
        samples[:, begin:stop] += part * np.float32(10.0 ** (mix_db / 20.0))
    else:
        samples[:, begin:stop] = part
    return Track(np.clip(samples, -1.0, 1.0), rate)


def input_audio(video_path: str | os.PathLike) -> Track | None:
    """The first audio stream of ``video_path`` as a track aligned with its first video frame
    (mono stays mono, more channels are mixed down to stereo), or None if it has no audio."""
    path = Path(video_path)
    with open_container(path) as container:
        if not container.streams.audio:
            return None
        video = video_streams(container, path)[0]
        stream = container.streams.audio[0]
        layout = "mono" if stream.codec_context.channels == 1 else "stereo"
        samples, rate, first = decode_audio_stream(container, stream, layout)
    video_start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
    # audio that starts after the first frame is preceded by silence; audio from before it is cut
    offset = int(round(((first if first is not None else video_start) - video_start) * rate))
    if offset > 0:
        samples = np.pad(samples, ((0, 0), (offset, 0)))
    elif offset < 0:
        samples = samples[:, -offset:]
    return Track(samples, rate)
