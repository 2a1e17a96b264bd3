"""Writing new media files with PyAV: H.264 video (with optional mono audio) and the audio frames
every encoder here is fed.

For test clips, examples and inspection copies of rendered training videos; the tool's own output
copies the video's packets (:func:`v2a.media.mux.mux_soundtrack`, which re-encodes only when asked).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np


def audio_frames(waveform: np.ndarray, sample_rate: int, codec_ctx, start_pts: int = 0) -> Iterator:
    """Cuts float audio, mono ``(samples,)`` or ``(channels, samples)`` with 1 or 2 channels, into
    encoder-sized ``av.AudioFrame``s in the codec's sample format."""
    import av

    audio = np.asarray(waveform, dtype=np.float32)
    audio = audio[None] if audio.ndim == 1 else audio  # (channels, samples)
    layout = "mono" if len(audio) == 1 else "stereo"
    frame_size = codec_ctx.frame_size or 1024
    fmt = codec_ctx.format
    for offset in range(0, audio.shape[1], frame_size):
        chunk = audio[:, offset : offset + frame_size]
        if fmt.name.startswith("s16"):
            chunk = (np.clip(chunk, -1, 1) * 32767).astype(np.int16)
        elif fmt.name.startswith("s32"):
            chunk = (np.clip(chunk, -1, 1).astype(np.float64) * 2147483647).astype(np.int32)  # float32 rounds 2**31-1 up
        if not fmt.is_planar:  # packed formats interleave the channels in one plane
            chunk = chunk.T.reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=fmt.name, layout=layout)
        frame.sample_rate = sample_rate
        frame.pts = start_pts + offset
        frame.time_base = Fraction(1, sample_rate)
        yield frame


def encode_audio(container, stream, waveform: np.ndarray, sample_rate: int, start_pts: int = 0) -> None:
    """Encodes mono float audio into ``stream`` of ``container`` and flushes the encoder."""
    for frame in audio_frames(waveform, sample_rate, stream.codec_context, start_pts):
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, *, audio: np.ndarray | None = None,
                sample_rate: int = 22050, crf: int = 23, codec: str = "libx264", pts: list[int] | None = None,
                time_base: Fraction | None = None, rotation: int | None = None) -> Path:
    """Writes ``(N, H, W, 3)`` uint8 RGB frames as a yuv420p video, plus optional mono AAC audio.

    Args:
        path: the file to write (its folder is created); the extension picks the container.
        frames: the images; H and W must be even (yuv420p).
        fps: the nominal frame rate; each frame lasts one frame unless ``pts`` is given.
        audio: mono float audio in [-1, 1] at ``sample_rate``, starting with the first frame.
        crf: H.264 quality (libx264 only; lower is better and larger).
        codec: the video encoder, e.g. ``libvpx-vp9`` for WebM.
        pts: per-frame presentation times in ``time_base`` units (variable frame rate).
        time_base: the stream's time base for ``pts``.
        rotation: display rotation metadata in degrees.
    """
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        video.width, video.height = frames.shape[2], frames.shape[1]
        video.pix_fmt = "yuv420p"
        if codec == "libx264":
            video.options = {"crf": str(crf), "preset": "veryfast"}
        if time_base is not None:
            video.time_base = video.codec_context.time_base = time_base
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = container.add_stream("aac", rate=sample_rate, layout="mono") if audio is not None else None
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            if time_base is not None:
                frame.time_base = time_base
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            encode_audio(container, sound, np.clip(audio, -1, 1).astype(np.float32), sample_rate)
    return path
