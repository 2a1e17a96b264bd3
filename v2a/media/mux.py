"""Writing results: audio files and videos with the new soundtrack, always atomically.

The video stream is copied packet by packet (no re-encode, so it stays bit-for-bit what
the user gave us); only the new audio is encoded. Every write goes to a hidden temporary
file beside the target that is renamed over it at the very end, so an interrupted run
leaves either no output or the complete one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import V2AError
from .decode import ffmpeg_reason, open_container
from .write import audio_frames

AUDIO_EXTENSIONS = {".wav": "WAV", ".flac": "FLAC"}
# Containers whose usual audio codec is not AAC.
_AUDIO_CODEC_BY_EXTENSION = {".webm": "libopus", ".ogv": "libopus", ".avi": "libmp3lame"}


def check_output(target: Path, overwrite: bool, source: Path | None = None) -> None:
    """Raises a one-line V2AError if ``target`` may not or cannot be written.

    Called before any slow work (model loading, generation) and again by ``atomic_output``.
    """
    target = Path(target)
    if source is not None and target.resolve() == Path(source).resolve():
        raise V2AError(f"{target}: output would overwrite the input")
    if target.exists() and not overwrite:
        raise V2AError(f"{target}: already exists (use --overwrite to replace it)")
    folder = target.parent
    if not folder.is_dir():
        raise V2AError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK):
        raise V2AError(f"{folder}: cannot write here (permission denied)")


@contextlib.contextmanager
def atomic_output(target: Path, overwrite: bool, source: Path | None = None):
    """Yields a temporary path beside ``target``; renames it onto ``target`` if the block succeeds."""
    target = Path(target)
    check_output(target, overwrite, source)
    folder = target.parent
    try:
        handle, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=folder)
    except OSError as err:
        raise V2AError(f"{folder}: cannot write here ({err.strerror})") from None
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; outputs get normal permissions
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_audio(path: str | os.PathLike, waveform: np.ndarray, sample_rate: int, overwrite: bool = False) -> Path:
    """Writes mono float audio as 16-bit WAV or FLAC (chosen by the extension)."""
    import soundfile as sf

    path = Path(path)
    fmt = AUDIO_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise V2AError(f"{path}: audio output must end in {' or '.join(AUDIO_EXTENSIONS)}")
    with atomic_output(path, overwrite) as tmp:
        sf.write(str(tmp), np.clip(waveform, -1.0, 1.0), sample_rate, format=fmt, subtype="PCM_16")
    return path


def mux_soundtrack(video_path: str | os.PathLike, output_path: str | os.PathLike, waveform: np.ndarray,
                   sample_rate: int, keep_original_audio: bool = False, overwrite: bool = False) -> Path:
    """Writes ``output_path``: the video streams of ``video_path`` copied as they are, plus ``waveform``.

    Args:
        video_path: the source video; it is only read.
        output_path: the new file; its extension picks the container (AAC audio in MP4/MOV/MKV,
            Opus in WebM, MP3 in AVI).
        waveform: mono float audio in [-1, 1] starting at the first video frame.
        keep_original_audio: keep the source's audio streams as extra tracks after the new one.
        overwrite: replace ``output_path`` if it exists.
    """
    import av

    from ..signal.audio import resample

    video_path, output_path = Path(video_path), Path(output_path)
    codec_name = _AUDIO_CODEC_BY_EXTENSION.get(output_path.suffix.lower(), "aac")
    with atomic_output(output_path, overwrite, source=video_path) as tmp, open_container(video_path) as source:
        video_in = [s for s in source.streams.video]
        if not video_in:
            raise V2AError(f"{video_path}: has no video stream")
        audio_in = list(source.streams.audio) if keep_original_audio else []
        try:
            sink = av.open(str(tmp), mode="w", format=_container_format(output_path))
        except (av.FFmpegError, ValueError) as err:
            raise V2AError(f"{output_path}: cannot create this kind of file ({ffmpeg_reason(err)})") from None
        with sink:
            try:
                copies = {s.index: sink.add_stream_from_template(s) for s in video_in}
                audio_out = sink.add_stream(codec_name, rate=_encoder_rate(codec_name, sample_rate), layout="mono")
                copies.update({s.index: sink.add_stream_from_template(s) for s in audio_in})
            except (av.FFmpegError, ValueError) as err:
                raise V2AError(f"{output_path}: this container cannot hold the video ({ffmpeg_reason(err)})") from None
            rate = audio_out.codec_context.sample_rate
            audio = resample(np.asarray(waveform, dtype=np.float32), sample_rate, rate)
            # The soundtrack starts with the first video frame, whatever the stream's start offset.
            first = video_in[0]
            start_seconds = float(first.start_time * first.time_base) if first.start_time is not None else 0.0
            start_pts = int(round(start_seconds * rate))
            try:
                audio_packets = []
                for frame in audio_frames(audio, rate, audio_out.codec_context, start_pts):
                    audio_packets.extend(audio_out.encode(frame))
                audio_packets.extend(audio_out.encode(None))
                pending = iter(audio_packets)
                next_audio = next(pending, None)
                for packet in source.demux(*video_in, *audio_in):
                    if packet.size == 0:  # demuxer flush packets carry no data
                        continue
                    # Matroska stores no dts, so the first B-frame packets may lack one
                    stamp = packet.dts if packet.dts is not None else packet.pts
                    t = float(stamp * packet.time_base) if stamp is not None else 0.0
                    # interleave: audio packets that start before this video packet go first
                    while next_audio is not None and float(next_audio.pts * next_audio.time_base) <= t:
                        sink.mux(next_audio)
                        next_audio = next(pending, None)
                    packet.stream = copies[packet.stream.index]
                    sink.mux(packet)
                while next_audio is not None:
                    sink.mux(next_audio)
                    next_audio = next(pending, None)
            except av.FFmpegError as err:
                raise V2AError(f"{output_path}: writing failed ({ffmpeg_reason(err)})") from None
    return output_path


def _encoder_rate(codec_name: str, sample_rate: int) -> int:
    import av

    rates = av.codec.Codec(codec_name, "w").audio_rates
    if not rates or sample_rate in rates:
        return sample_rate
    return min(rates, key=lambda r: (r < sample_rate, abs(r - sample_rate)))


def _container_format(path: Path) -> str:
    """FFmpeg muxer name for an output path (the temp file's own suffix must not decide it)."""
    ext = path.suffix.lower()
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
            ".avi": "avi", ".ts": "mpegts", ".3gp": "3gp", ".flv": "flv", ".ogv": "ogg",
            ".mpg": "mpeg", ".mpeg": "mpeg"}.get(ext) or _unsupported(path)


def _unsupported(path: Path) -> str:
    raise V2AError(f"{path}: unsupported output type '{path.suffix}' (use .mp4, .mov, .mkv, .webm, .avi, .wav or .flac)")
