"""Writing results: audio files and videos with the new soundtrack, always atomically.

The video stream is copied packet by packet (no re-encode, so it stays bit-for-bit what
the user gave us); only the new audio is encoded. Whether a container can hold the copied
stream is decided before any generation (:func:`check_container`) by writing the first packets
the way the real write does, and a stream that does not fit is refused at once with the
containers that do hold it, or re-encoded when the caller asks. Every write goes to a hidden
temporary file beside the target that is renamed over it at the very end, so an interrupted
run leaves either no output or the complete one.

Streams are copied the way ``ffmpeg -c copy`` copies them: the codec parameters (tag, extradata)
go to the container's own muxer, which alone says whether it can store them. PyAV asks a
stricter question first (``avformat_query_codec`` at normal compliance), which refuses, for
instance, MS Video 1 or Cinepak in Matroska although the Matroska muxer stores them (as
``V_MS/VFW/FOURCC``, as ffmpeg does). So every output is written through FFmpeg's ``tee``
muxer, which makes no such query, with the real container as its one output.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from pathlib import Path

import numpy as np

from ..errors import V2AError
from .decode import codec_name, ffmpeg_reason, open_container, video_streams
from .write import audio_frames

AUDIO_EXTENSIONS = {".wav": "WAV", ".flac": "FLAC"}
# Output extensions and their FFmpeg muxers.
OUTPUT_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
                  ".avi": "avi", ".ts": "mpegts", ".3gp": "3gp", ".flv": "flv", ".ogv": "ogg", ".ogg": "ogg",
                  ".mpg": "mpeg", ".mpeg": "mpeg", ".wmv": "asf"}
# Where a stream that does not fit may go instead, in the order they are named: Matroska holds
# almost anything, QuickTime most of the rest.
_ALTERNATIVES = (".mkv", ".mov", ".mp4", ".webm", ".avi", ".ogv")
# Muxers whose usual audio codec is not AAC.
_AUDIO_CODEC = {"webm": "libopus", "ogg": "libopus", "avi": "libmp3lame", "mpeg": "mp2", "asf": "wmav2"}
# --reencode: encoder and options per muxer (default H.264; Ogg takes neither, nor does this FFmpeg
# build encode Theora). CRF 18 for x264 and 20 for VP9 (constant quality: b=0) are close to
# visually lossless; x264's "medium" and libvpx's cpu-used 4 are the usual balance of speed and size.
_REENCODE = {"webm": ("libvpx-vp9", {"crf": "20", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}),
             None: ("libx264", {"crf": "18", "preset": "medium"})}
# Muxers with no tag that keeps the provenance record (MPEG-TS and -PS have none, 3GP only a few
# fixed ones): their outputs always get a sidecar.
_NO_TAGS = {"mpegts", "mpeg", "3gp"}
_TRIAL_PACKETS = 8  # video packets a trial write muxes: enough for errors that only the packets show
# Options for the container's own muxer. AVI counts video time in frames and stores no audio
# times: shifting every stream by the MP3 encoder's priming (50 ms of negative time), as FFmpeg
# does by default, would show the first picture 50 ms too long; unshifted, the priming just plays
# first, as in any AVI.
_MUXER_OPTIONS = {"avi": "avoid_negative_ts=disabled"}
_AVFMT_GLOBALHEADER = 0x0040  # the muxer wants codec headers in the stream header, not in-band


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


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, overwrite: bool = False,
                metadata: dict[str, str] | None = None) -> Path:
    """Writes float audio (mono ``(samples,)`` or ``(channels, samples)``) as 16-bit WAV or FLAC,
    chosen by the extension; ``metadata`` may carry a ``comment`` (the provenance record)."""
    import soundfile as sf

    path = Path(path)
    fmt = AUDIO_EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise V2AError(f"{path}: audio output must end in {' or '.join(AUDIO_EXTENSIONS)}")
    audio = np.asarray(audio, dtype=np.float32)
    audio = audio[None] if audio.ndim == 1 else audio
    with atomic_output(path, overwrite) as tmp:
        with sf.SoundFile(str(tmp), "w", sample_rate, len(audio), format=fmt, subtype="PCM_16") as handle:
            if metadata and "comment" in metadata:
                handle.comment = metadata["comment"]  # WAV: a LIST/INFO chunk; FLAC: a Vorbis comment
            handle.write(np.clip(audio, -1.0, 1.0).T)
    return path


def container_format(path: str | os.PathLike) -> str:
    """The FFmpeg muxer for an output path; a one-line V2AError for an extension v2a does not write."""
    path = Path(path)
    fmt = OUTPUT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise V2AError(f"{path}: unsupported output type '{path.suffix}' (use .mp4, .mov, .mkv, .webm, .avi, "
                       f".wav or .flac)")
    return fmt


def keeps_tags(output_path: str | os.PathLike) -> bool:
    """Whether the output's container keeps the provenance record in its tags."""
    output_path = Path(output_path)
    return output_path.suffix.lower() in AUDIO_EXTENSIONS or container_format(output_path) not in _NO_TAGS


def check_container(video_path: str | os.PathLike, output_path: str | os.PathLike, *,
                    keep_original_audio: bool = False, reencode: bool = False) -> bool:
    """Decides, without generating anything, how ``output_path`` can hold the video of ``video_path``.

    Returns False when its video streams can be copied as they are (with the new audio, and the
    original audio with ``keep_original_audio``), True when they cannot and ``reencode`` allows
    re-encoding the video. Otherwise raises a one-line V2AError that names the containers that can
    hold the stream. Each decision is a trial write of the first packets into a temporary file,
    so it costs milliseconds and agrees with the real write.
    """
    output_path = Path(output_path)
    if output_path.suffix.lower() in AUDIO_EXTENSIONS:
        return False
    fmt = container_format(output_path)
    if _fits(video_path, fmt, keep_original_audio=keep_original_audio):
        return False
    if keep_original_audio and _fits(video_path, fmt):
        holders = _holders(video_path, output_path, keep_original_audio=True)
        advice = f"{_listed(holders)} can hold it, or " if holders else ""
        raise V2AError(f"{video_path}: its original {_codec(video_path, 'audio')} audio cannot be kept in "
                       f"{output_path.suffix}; {advice}leave out --keep-original-audio")
    if reencode:
        if _fits(video_path, fmt, keep_original_audio=keep_original_audio, reencode=True):
            return True
        raise V2AError(f"{output_path}: cannot write a {output_path.suffix} file even re-encoding the video")
    holders = _holders(video_path, output_path, keep_original_audio=keep_original_audio)
    advice = f"{_listed(holders)} can hold it (or pass --reencode)" if holders else \
        "no container holds it as it is: pass --reencode"
    raise V2AError(f"{video_path}: its {_codec(video_path, 'video')} video cannot be copied into "
                   f"{output_path.suffix} as it is; {advice}")


def _holders(video_path, output_path: Path, keep_original_audio: bool) -> list[str]:
    return [ext for ext in _ALTERNATIVES if ext != output_path.suffix.lower()
            and _fits(video_path, OUTPUT_FORMATS[ext], keep_original_audio=keep_original_audio)]


def _listed(extensions: list[str]) -> str:
    """``[".mkv", ".mov", ".avi"]`` -> ``".mkv, .mov and .avi"``."""
    return extensions[0] if len(extensions) == 1 else f"{', '.join(extensions[:-1])} and {extensions[-1]}"


def _codec(video_path, kind: str) -> str:
    video, audio = _stream_codecs(Path(video_path))
    return (video if kind == "video" else audio)[0]


def _stream_codecs(path: Path) -> tuple[list[str], list[str]]:
    """The codecs of a file's video streams (cover pictures left out) and of its audio streams."""
    with open_container(path) as container:
        names = [[codec_name(s) for s in streams]
                 for streams in (video_streams(container, path), container.streams.audio)]
    return names[0], names[1]


def _fits(video_path, fmt: str, *, keep_original_audio: bool = False, reencode: bool = False) -> bool:
    """Whether the muxer ``fmt`` takes the streams a real write would give it: a trial write, read
    back. Reading back matters: some muxers accept any stream and write what no demuxer reads as
    that codec (MPEG-TS stores unknown ones as private data, AVI GIF as raw pictures)."""
    import av

    handle, name = tempfile.mkstemp(prefix="v2a-trial-")
    os.close(handle)
    try:
        rate = 48000  # the trial's audio: a few silent frames; their content does not matter
        _write(Path(video_path), Path(name), fmt, np.zeros((1, rate // 10), np.float32), rate,
               keep_original_audio=keep_original_audio, reencode=reencode, trial=True)
        video, audio = _stream_codecs(Path(video_path))
        written_video, written_audio = _stream_codecs(Path(name))
        if reencode:
            return written_video[:1] == [av.codec.Codec(_REENCODE.get(fmt, _REENCODE[None])[0], "w").canonical_name]
        kept = audio if keep_original_audio else []
        return written_video == video and written_audio[1:] == kept
    except (av.FFmpegError, ValueError, V2AError):
        return False
    finally:
        Path(name).unlink(missing_ok=True)


def mux_soundtrack(video_path: str | os.PathLike, output_path: str | os.PathLike, audio: np.ndarray,
                   sample_rate: int, keep_original_audio: bool = False, overwrite: bool = False, *,
                   reencode: bool = False, metadata: dict[str, str] | None = None, progress: bool = False) -> Path:
    """Writes ``output_path``: the video streams of ``video_path`` copied as they are, plus ``audio``.

    Args:
        video_path: the source video; it is only read.
        output_path: the new file; its extension picks the container (AAC audio in MP4/MOV/MKV,
            Opus in WebM and Ogg, MP3 in AVI).
        audio: float audio in [-1, 1] starting at the first video frame, mono ``(samples,)`` or
            ``(channels, samples)`` with up to two channels.
        keep_original_audio: keep the source's audio streams as extra tracks after the new one.
        overwrite: replace ``output_path`` if it exists.
        reencode: if the container cannot hold the video stream as it is, re-encode it (H.264;
            VP9 in WebM) instead of refusing. A stream that fits is copied all the same.
        metadata: container metadata to write, e.g. ``{"comment": ...}``.
        progress: show a progress bar while re-encoding.
    """
    video_path, output_path = Path(video_path), Path(output_path)
    check_output(output_path, overwrite, source=video_path)
    fmt = container_format(output_path)
    needs_reencode = check_container(video_path, output_path, keep_original_audio=keep_original_audio,
                                     reencode=reencode)
    audio = np.asarray(audio, dtype=np.float32)
    with atomic_output(output_path, overwrite, source=video_path) as tmp:
        import av

        try:
            _write(video_path, tmp, fmt, audio[None] if audio.ndim == 1 else audio, sample_rate,
                   keep_original_audio=keep_original_audio, reencode=needs_reencode, metadata=metadata,
                   progress=progress)
        except av.FFmpegError as err:
            raise V2AError(f"{output_path}: writing failed ({ffmpeg_reason(err)})") from None
    return output_path


def _write(video_path: Path, target: Path, fmt: str, audio: np.ndarray, sample_rate: int, *,
           keep_original_audio: bool, reencode: bool, metadata: dict[str, str] | None = None,
           progress: bool = False, trial: bool = False) -> None:
    """Writes ``target`` as the muxer ``fmt``: the video streams copied (or the first re-encoded), the
    ``(channels, samples)`` audio encoded, the original audio copied if kept. A ``trial`` write
    stops after the first few video packets."""
    import av

    with open_container(video_path) as source:
        video_in = video_streams(source, video_path)
        if reencode:
            video_in = video_in[:1]  # the one the soundtrack was made for
        audio_in = list(source.streams.audio) if keep_original_audio else []
        global_header = bool(av.format.ContainerFormat(fmt, "w").flags & _AVFMT_GLOBALHEADER)
        with av.open(_tee_url(target, fmt), mode="w", format="tee") as sink:
            if reencode:
                outputs = {video_in[0].index: _add_encoder(sink, video_in[0], fmt, global_header)}
            else:
                # opaque: the stream takes the decoder's codec, so one FFmpeg decodes but cannot
                # encode (Theora, AV1) copies all the same
                outputs = {s.index: sink.add_stream_from_template(s, opaque=True) for s in video_in}
            codec_name = _AUDIO_CODEC.get(fmt, "aac")
            rate = _encoder_rate(codec_name, sample_rate)
            audio_out = sink.add_stream(codec_name, rate=rate, layout="mono" if len(audio) == 1 else "stereo")
            if global_header:
                audio_out.codec_context.flags |= av.codec.context.Flags.global_header
            outputs.update({s.index: sink.add_stream_from_template(s, opaque=True) for s in audio_in})
            sink.metadata.update(metadata or {})
            # Ogg keeps tags only per stream (in each stream's comment header), so the new audio
            # stream carries them too
            audio_out.metadata.update(metadata or {})
            if rate != sample_rate:
                from ..signal.audio import resample

                audio = resample(audio, sample_rate, rate)
            # The soundtrack starts with the first video frame, whatever the stream's start offset.
            first = video_in[0]
            start_seconds = float(first.start_time * first.time_base) if first.start_time is not None else 0.0
            audio_packets = [p for frame in audio_frames(audio, rate, audio_out.codec_context,
                                                         int(round(start_seconds * rate)))
                             for p in audio_out.encode(frame)] + list(audio_out.encode(None))
            packets = _video_packets(source, video_in, audio_in, outputs, reencode, progress and not trial)
            if trial:
                packets = itertools.islice(packets, _TRIAL_PACKETS)
                audio_packets = audio_packets[:1]
            _interleave(sink, packets, audio_packets)


def _tee_url(target: Path, fmt: str) -> str:
    """The ``tee`` muxer's name for one output of muxer ``fmt`` (with its ``_MUXER_OPTIONS``) at
    ``target`` (see the module's docstring); its separator, quote and escape characters are escaped
    in the path."""
    path = str(target.resolve())
    for special in ("\\", "'", "|"):
        path = path.replace(special, "\\" + special)
    options = ":".join([f"f={fmt}"] + ([_MUXER_OPTIONS[fmt]] if fmt in _MUXER_OPTIONS else []))
    return f"[{options}]{path}"


def _add_encoder(sink, template, fmt: str, global_header: bool):
    """An output stream that re-encodes ``template``'s pictures at their own timing and size."""
    import av

    codec_name, options = _REENCODE.get(fmt, _REENCODE[None])
    rate = template.average_rate or template.guessed_rate or 25
    stream = sink.add_stream(codec_name, rate=rate, options=dict(options))
    context = template.codec_context
    # 4:2:0 needs even sizes: an odd row or column is dropped by the scaler's resize
    stream.width, stream.height = context.width - context.width % 2, context.height - context.height % 2
    stream.pix_fmt = "yuv420p"  # what every player decodes
    stream.time_base = stream.codec_context.time_base = template.time_base
    if global_header:
        stream.codec_context.flags |= av.codec.context.Flags.global_header
    return stream


def _video_packets(source, video_in, audio_in, outputs: dict, reencode: bool, progress: bool):
    """The output's packets from the source's video (and kept audio) streams, in demuxing order:
    copied as they are, or, for a re-encoded video stream, decoded and encoded again."""
    from tqdm.auto import tqdm

    encoded = video_in[0].index if reencode else None
    stream = video_in[0]
    total = stream.frames or (int(stream.duration * stream.time_base * stream.average_rate)
                              if stream.duration and stream.average_rate else None)
    with tqdm(total=total, desc="re-encoding video", unit="frame", disable=not (progress and reencode),
              leave=False) as bar:
        last_pts = None
        for packet in source.demux(*video_in, *audio_in):
            if packet.stream.index == encoded:
                out = outputs[encoded]
                for frame in packet.decode():  # the empty packet at the end flushes the decoder
                    if frame.pts is None or (last_pts is not None and frame.pts <= last_pts):
                        continue  # the encoder needs increasing timestamps; a repeated one is a broken muxer's
                    if last_pts is None and frame.rotation:
                        out.set_display_rotation(frame.rotation)  # decoded pictures are stored unrotated
                    last_pts = frame.pts
                    picture = frame.reformat(width=out.width, height=out.height, format=out.pix_fmt)
                    picture.pts, picture.time_base = frame.pts, frame.time_base
                    bar.update(1)
                    yield from out.encode(picture)
                continue
            if packet.size == 0:  # demuxer flush packets carry no data
                continue
            packet.stream = outputs[packet.stream.index]
            yield packet
        if encoded is not None:
            yield from outputs[encoded].encode(None)


def _interleave(sink, packets, audio_packets: list) -> None:
    """Muxes ``packets`` with ``audio_packets`` in between, each audio packet before the first other
    packet that starts after it, so players never wait for one stream while reading the other."""
    pending = iter(audio_packets)
    next_audio = next(pending, None)
    for packet in packets:
        # Matroska stores no dts, so the first B-frame packets may lack one
        stamp = packet.dts if packet.dts is not None else packet.pts
        t = float(stamp * packet.time_base) if stamp is not None else 0.0
        while next_audio is not None and float(next_audio.pts * next_audio.time_base) <= t:
            sink.mux(next_audio)
            next_audio = next(pending, None)
        sink.mux(packet)
    while next_audio is not None:
        sink.mux(next_audio)
        next_audio = next(pending, None)


def _encoder_rate(codec_name: str, sample_rate: int) -> int:
    import av

    rates = av.codec.Codec(codec_name, "w").audio_rates
    if not rates or sample_rate in rates:
        return sample_rate
    return min(rates, key=lambda r: (r < sample_rate, abs(r - sample_rate)))
