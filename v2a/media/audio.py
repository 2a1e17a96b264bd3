"""Audio files in: any container's audio decoded to float samples, and reference sounds for the
pipeline ("sound like this") from a file, a video's audio track or a waveform.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from ..errors import V2AError

AUDIO_FILE_EXTENSIONS = {".wav", ".ogg", ".oga", ".flac", ".aif", ".aiff", ".mp3", ".opus"}
REFERENCE_MAX_SECONDS = 10.0  # of all reference sounds together: only their start is used
SILENT_PEAK = 1e-4  # a reference whose peak stays below this holds nothing to imitate


def decode_audio_bytes(data: bytes, name: str = "<bytes>") -> tuple[np.ndarray, int]:
    """Decodes any audio file's bytes to ``(samples, channels)`` float32 and its sample rate.

    libsndfile (soundfile) covers WAV, FLAC, AIFF and Ogg Vorbis; anything else (MP3, Opus,
    odd WAV codecs) goes through FFmpeg via PyAV.
    """
    import soundfile as sf

    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
        return audio, int(rate)
    except Exception:  # noqa: BLE001 - libsndfile gives generic errors; fall back to FFmpeg
        pass
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise V2AError(f"{name}: has no audio stream")
            audio, rate, _ = decode_audio_stream(container, container.streams.audio[0])
    except av.FFmpegError as err:
        raise V2AError(f"{name}: not a readable audio file ({err})") from None
    if audio.shape[1] == 0:
        raise V2AError(f"{name}: holds no audio")
    return audio.T, rate


def decode_audio_stream(container, stream, layout: str | None = None) -> tuple[np.ndarray, int, float | None]:
    """Decodes one audio stream of an open PyAV container.

    Returns ``(channels, samples)`` float32 audio, its sample rate and the time in seconds of its
    first sample (None when the stream has no timestamps). ``layout`` (``"mono"``, ``"stereo"``)
    mixes the channels down or up with FFmpeg's own matrices; None keeps them as they are.
    """
    import av

    resampler = av.AudioResampler(format="fltp", layout=layout)  # planar float: (channels, samples) arrays
    chunks, rate, first = [], stream.codec_context.sample_rate, None
    for frame in container.decode(stream):
        if first is None and frame.time is not None:
            first = float(frame.time)
        rate = frame.sample_rate
        chunks += [out.to_ndarray() for out in resampler.resample(frame)]
    chunks += [out.to_ndarray() for out in resampler.resample(None)]
    if not chunks:
        channels = 1 if layout == "mono" else 2 if layout == "stereo" else max(1, stream.codec_context.channels)
        return np.zeros((channels, 0), np.float32), int(rate), first
    return np.concatenate(chunks, axis=1).astype(np.float32), int(rate), first


def load_reference(source, sample_rate: int, name: str | None = None) -> np.ndarray:
    """One reference sound as mono float32 at ``sample_rate``: ``source`` is an audio file, a video
    file (its first audio track), or ``(waveform, rate)``. Raises :class:`V2AError` with one line
    for a missing, unreadable, video-only or silent one."""
    from ..signal.audio import resample

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = name or str(path)
        if not path.is_file():
            raise V2AError(f"reference {name}: no such file")
        audio, rate = decode_audio_bytes(path.read_bytes(), f"reference {name}")
    else:
        try:
            audio, rate = source
        except (TypeError, ValueError):
            raise V2AError("a reference waveform must be given with its rate: (waveform, rate)") from None
        name = name or "waveform"
    audio = np.asarray(audio, dtype=np.float32)
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = np.nan_to_num(resample(mono[: int(REFERENCE_MAX_SECONDS * rate)], int(rate), sample_rate))
    if mono.size == 0 or np.abs(mono).max() < SILENT_PEAK:
        raise V2AError(f"reference {name}: silent")
    return mono.astype(np.float32)


def load_references(sources, sample_rate: int) -> np.ndarray | None:
    """A path, ``(waveform, rate)`` or a list of them joined into one reference waveform (each
    cut to an equal share of 10 s, so every one of them is heard); None for none."""
    if sources is None:
        return None
    if isinstance(sources, (str, os.PathLike, tuple)):
        sources = [sources]
    sounds = [load_reference(s, sample_rate) for s in sources]
    if not sounds:
        return None
    share = int(REFERENCE_MAX_SECONDS / len(sounds) * sample_rate)
    return np.concatenate([s[:share] for s in sounds])
