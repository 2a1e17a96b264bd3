"""Decoding video into frames with their presentation times (PyAV).

Frames are kept at a small analysis size (the model never needs more than 224 px) and in
display orientation: rotation metadata is applied. Times come from each frame's timestamp,
so variable-frame-rate video keeps its real timing.

A video is read as a stream: :class:`VideoFile` decodes its frames (or a span's) chunk by chunk
as they are asked for, so a ten-minute video is never held whole; :class:`VideoClip` holds
frames already in memory and hands them out the same way. The pipeline takes either.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import V2AError

logger = logging.getLogger(__name__)

VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp", ".ogv",
                    ".gif", ".webp"}

ANALYSIS_SHORT_SIDE = 224  # the frame encoder's input size; smaller frames are not upscaled
# frames handed on at a time: 6.5 MB at 398x224, and enough for the motion features' tensors to
# be worth their set-up
CHUNK_FRAMES = 24


@dataclass
class VideoClip:
    """Decoded frames and their timing.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8 RGB frames in display orientation.
        times: ``(T,)`` presentation time of each frame in seconds, counted from the clip start.
        duration: seconds of video the soundtrack has to cover.
    """

    frames: np.ndarray
    times: np.ndarray
    duration: float

    def __post_init__(self):
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3:
            raise V2AError(f"frames must have shape (T, H, W, 3), got {tuple(self.frames.shape)}")
        if len(self.frames) == 0:
            raise V2AError("the video has no frames")
        if len(self.times) != len(self.frames):
            raise V2AError(f"{len(self.times)} frame times for {len(self.frames)} frames")
        if not self.duration > 0:
            raise V2AError(f"video duration must be positive, got {self.duration}")

    @classmethod
    def from_array(cls, frames: np.ndarray, fps: float | None = None, times: np.ndarray | None = None,
                   duration: float | None = None) -> "VideoClip":
        """Wraps in-memory frames (``(T, H, W, 3)`` uint8, or float in [0, 1]).

        Give either a constant ``fps`` or per-frame ``times`` in seconds (variable frame rate).
        ``duration`` defaults to the last frame's time plus one frame interval.
        """
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise V2AError(f"frames must have shape (T, H, W, 3), got {tuple(frames.shape)}")
        if frames.dtype != np.uint8:
            frames = (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if times is None:
            if fps is None or not fps > 0:
                raise V2AError("give the frame rate (fps > 0) or the time of every frame")
            times = np.arange(len(frames), dtype=np.float64) / fps
        times = np.asarray(times, dtype=np.float64)
        if len(times) > 1 and np.any(np.diff(times) <= 0):
            raise V2AError("frame times must increase")
        if duration is None:
            step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / (fps or 25.0)
            duration = float(times[-1] + step)
        return cls(frames=_resize_frames(frames), times=times - times[0], duration=float(duration))

    def chunks(self, size: int = CHUNK_FRAMES) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(frames, times)`` of at most ``size`` frames at a time, in order (as :meth:`VideoFile.chunks`)."""
        for start in range(0, len(self.frames), size):
            yield self.frames[start : start + size], self.times[start : start + size]

    def cut(self, start: float, end: float) -> "VideoClip":
        """The part from ``start`` to ``end`` seconds (a span from :func:`check_span`) as a clip of its own.

        Its first frame is the one on screen at ``start`` (see :func:`span_frames`).
        """
        kept = list(span_frames(zip(self.frames, self.times), start, end))
        return VideoClip(frames=np.stack([f for f, _ in kept]), times=np.array([t for _, t in kept]),
                         duration=end - start)


def span_frames(frames: Iterable[tuple[np.ndarray, float]], start: float, end: float | None
                ) -> Iterator[tuple[np.ndarray, float]]:
    """The ``(frame, time)`` pairs of the span from ``start`` to ``end`` seconds (None: to the last
    frame), with times counted from ``start``; stops reading at the first frame past the span.

    The span's first frame is the one on screen at ``start``, so a span that begins between two
    frames still sees the picture shown then.
    """
    held = None  # the latest frame at or before start
    for frame, t in frames:
        if t <= start:
            held = frame
            continue
        if end is not None and t >= end:
            break
        if held is not None:
            yield held, 0.0
            held = None
        yield frame, t - start
    if held is not None:
        yield held, 0.0


def _chunked(frames: Iterable[tuple[np.ndarray, float]], size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(frame, time)`` pairs stacked ``size`` at a time into ``(frames, times)``."""
    images, times = [], []
    for frame, t in frames:
        images.append(frame)
        times.append(t)
        if len(images) == size:
            yield np.stack(images), np.array(times)
            images, times = [], []
    if images:
        yield np.stack(images), np.array(times)


def _analysis_size(width: int, height: int, short_side: int = ANALYSIS_SHORT_SIDE) -> tuple[int, int]:
    scale = min(1.0, short_side / min(width, height))
    # even sizes keep swscale happy with chroma-subsampled formats
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def _resize_frames(frames: np.ndarray) -> np.ndarray:
    height, width = frames.shape[1:3]
    new_w, new_h = _analysis_size(width, height)
    if (new_w, new_h) == (width, height):
        return frames
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(new_h, new_w), mode="area")
    return x.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


def check_readable_file(path: Path) -> None:
    """Raises a one-line V2AError if ``path`` is not an existing, non-empty regular file."""
    if not path.exists():
        raise V2AError(f"{path}: no such file")
    if path.is_dir():
        raise V2AError(f"{path}: is a folder, not a video file")
    if not os.access(path, os.R_OK):
        raise V2AError(f"{path}: permission denied")
    if path.stat().st_size == 0:
        raise V2AError(f"{path}: the file is empty")


def open_container(path: Path):
    """Opens a media file with PyAV, turning its errors into one readable line."""
    import av

    check_readable_file(path)
    try:
        return av.open(str(path), mode="r")
    except av.FFmpegError as err:
        raise V2AError(f"{path}: not a readable video file ({ffmpeg_reason(err)})") from None


def ffmpeg_reason(err: Exception) -> str:
    """The short reason inside a PyAV error, for one-line messages."""
    return getattr(err, "strerror", None) or str(err).split(":")[-1].strip() or type(err).__name__


def video_streams(container, path: Path) -> list:
    """The video streams of an open container, cover pictures left out (an mp3's album art is no
    video); a one-line V2AError if there is none."""
    import av

    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        raise V2AError(f"{path}: has no video stream")
    return streams


def codec_name(stream) -> str:
    """A stream's codec by its FFmpeg name ("h264", "msmpeg4v3", "av1"), not its decoder's ("libdav1d")."""
    context = stream.codec_context
    return context.codec.canonical_name if context is not None else "unknown"


@dataclass(frozen=True)
class VideoInfo:
    """What the checks before model loading need to know of an input (see :func:`probe_video`)."""

    codec: str  # the first video stream's codec, e.g. "h264"
    duration: float  # seconds, from the container's header (the decoded frames may differ by a frame)
    has_audio: bool


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Checks cheaply that ``path`` holds a video stream FFmpeg can decode: reads the header and
    decodes the first frame only, so that an undecodable stream (animated WebP, a codec this FFmpeg
    build lacks) is refused before any model loads, not after."""
    import av

    path = Path(path)
    with open_container(path) as container:
        stream = video_streams(container, path)[0]
        codec = codec_name(stream)
        try:
            decoded = next(iter(container.decode(stream)), None)
        except av.FFmpegError as err:
            raise V2AError(f"{path}: cannot decode its {codec} video ({ffmpeg_reason(err)})") from None
        if decoded is None:
            raise V2AError(f"{path}: the video stream holds no decodable frames")
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = _packet_duration(container, path)
        return VideoInfo(codec=codec, duration=duration, has_audio=bool(container.streams.audio))


def _packet_duration(container, path: Path) -> float:
    """The first video stream's length from its packets' timestamps, for files whose header has none
    (some GIFs, raw streams): demuxing reads no pictures, so it is cheap."""
    container.seek(0)
    stream = video_streams(container, path)[0]
    first, end = None, 0.0
    for packet in container.demux(stream):
        if packet.pts is None or packet.time_base is None:
            continue
        t = float(packet.pts * packet.time_base)
        first = t if first is None else min(first, t)
        end = max(end, t + float((packet.duration or 0) * packet.time_base))
    return end - (first or 0.0)


# A span's end this far past the video's end is taken as its end: a container's duration and the
# decoded frames' may differ by a frame.
SPAN_SLACK = 0.1


def parse_time(value: float | str, name: str = "time") -> float:
    """Seconds from a number, ``"12.5"``, ``"MM:SS.mmm"`` or ``"HH:MM:SS.mmm"``."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        parts = str(value).strip().split(":")
        try:
            if len(parts) > 3 or any(not p.strip() for p in parts):
                raise ValueError
            seconds = 0.0
            for i, part in enumerate(parts):
                number = float(part)
                if i and not 0 <= number < 60 or i < len(parts) - 1 and number != int(number):
                    raise ValueError  # minutes and seconds below 60, only the last field with a fraction
                seconds = seconds * 60 + number
        except ValueError:
            raise V2AError(f"{name} {value!r}: not a time (give seconds, or HH:MM:SS.mmm)") from None
    if not np.isfinite(seconds) or seconds < 0:
        raise V2AError(f"{name} {value!r}: must be a time of 0 s or more")
    return seconds


def check_span(start: float | str | None, end: float | str | None, duration: float) -> tuple[float, float] | None:
    """``(start, end)`` in seconds for a span of a video ``duration`` seconds long, or None for the
    whole video; a one-line V2AError for a span that is empty or outside the video."""
    if start is None and end is None:
        return None
    first = 0.0 if start is None else parse_time(start, "start")
    last = duration if end is None else parse_time(end, "end")
    if first >= duration:
        raise V2AError(f"start {first:g} s is not before the end of the video ({duration:g} s)")
    if last > duration + SPAN_SLACK:
        raise V2AError(f"end {last:g} s is past the end of the video ({duration:g} s)")
    if last <= first:
        raise V2AError(f"end {last:g} s must come after start {first:g} s")
    return first, min(last, duration)


class VideoFile:
    """The first video stream of a file, or a span of it, decoded as it is read.

    :meth:`chunks` decodes the frames (at the analysis size, in display orientation) a few at a
    time, as they are asked for; ``duration`` (and ``end``) are known once they have all been
    read. Reading again decodes again.

    Args:
        path: the video file.
        start, end: the span in seconds (from :func:`check_span`); ``end`` None is the video's end.
    """

    def __init__(self, path: str | os.PathLike, start: float = 0.0, end: float | None = None):
        self.path, self.start, self.end = Path(path), float(start), end
        self.video_duration: float | None = None  # the whole video's, once read to its end
        self.span: tuple[float, float] | None = None  # (start, end) seconds read, once read
        self.duration: float | None = None  # the span's, once read

    def chunks(self, size: int = CHUNK_FRAMES) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(frames, times)`` of at most ``size`` frames at a time: ``(t, H, W, 3)`` uint8 and their
        times in seconds from the span's start.

        Raises:
            V2AError: the file is missing, empty, not a video, has no video stream or is corrupt.
        """
        self.span = self.duration = None
        frames = self._frames() if self.start == 0 and self.end is None else span_frames(
            self._frames(), self.start, self.end)
        yield from _chunked(frames, size)
        # the span ends at its end, or at the video's if the video ended first
        end = self.video_duration if self.end is None else min(self.end, self.video_duration or math.inf)
        self.span, self.duration = (self.start, end), end - self.start

    def load(self) -> VideoClip:
        """Every frame of the span at once."""
        chunks = list(self.chunks())
        return VideoClip(frames=np.concatenate([f for f, _ in chunks]), times=np.concatenate([t for _, t in chunks]),
                         duration=self.duration)

    def _frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """Every frame with its time from the first frame; sets ``video_duration`` after the last."""
        import av
        from av.video.reformatter import VideoReformatter

        self.video_duration = None
        path = self.path
        # one converter for every frame: frame.to_ndarray(...) set up swscale anew for each frame,
        # which took 7x longer than the conversion itself (1.4 s for 200 frames of 640x360)
        reformatter = VideoReformatter()
        times, dropped = [], 0
        first = previous = last_frame_duration = None
        with open_container(path) as container:
            stream = video_streams(container, path)[0]
            stream.thread_type = "AUTO"
            nominal = float(stream.average_rate or stream.guessed_rate or 0) or None
            decoded = 0
            try:
                for frame in container.decode(stream):
                    t = frame.time
                    if t is None:  # no timestamps at all (rare raw streams): fall back to the nominal rate
                        t = decoded / (nominal or 25.0)
                    decoded += 1
                    if frame.duration and frame.time_base:
                        last_frame_duration = float(frame.duration * frame.time_base)
                    # frames with equal or backwards timestamps (broken muxers) would break time alignment
                    if previous is not None and t <= previous:
                        previous, dropped = t, dropped + 1
                        continue
                    previous = t
                    first = t if first is None else first
                    rotation = int(round((frame.rotation or 0) / 90.0)) % 4
                    width, height = (frame.height, frame.width) if rotation % 2 else (frame.width, frame.height)
                    out_w, out_h = _analysis_size(width, height)
                    if rotation % 2:
                        out_w, out_h = out_h, out_w
                    image = reformatter.reformat(frame, width=out_w, height=out_h, format="rgb24").to_ndarray()
                    if rotation:
                        # display matrices rotate counter-clockwise, as np.rot90 does
                        image = np.ascontiguousarray(np.rot90(image, k=rotation))
                    times.append(t - first)
                    yield image, t - first
            except av.FFmpegError as err:
                raise V2AError(f"{path}: the video stream is corrupt ({ffmpeg_reason(err)})") from None
        if not times:
            raise V2AError(f"{path}: the video stream holds no decodable frames")
        if dropped:
            logger.warning("%s: dropped %d frames with non-increasing timestamps", path, dropped)
        if last_frame_duration is None:
            last_frame_duration = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / (nominal or 25.0)
        self.video_duration = float(times[-1] + last_frame_duration)


def decode_video(path: str | os.PathLike) -> VideoClip:
    """Decodes every frame of the first video stream of ``path`` into memory (see :class:`VideoFile`).

    Raises:
        V2AError: the file is missing, empty, not a video, has no video stream or is corrupt.
    """
    return VideoFile(path).load()


def is_video_path(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS
