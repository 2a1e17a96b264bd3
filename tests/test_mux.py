from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from conftest import moving_square_frames, video_packets, write_video
from v2a.errors import V2AError
from v2a.media.mux import atomic_output, mux_soundtrack, write_audio

RATE = 22050


def tone(seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 330 * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def audio_streams(path):
    with av.open(str(path)) as container:
        return [(s.codec_context.name, float(s.duration * s.time_base) if s.duration else None)
                for s in container.streams.audio]


def decoded_audio_seconds(path, index=0):
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


@pytest.mark.parametrize("ext,codec", [(".mp4", "aac"), (".mov", "aac"), (".mkv", "aac"), (".webm", "opus")])
def test_mux_copies_video_and_covers_duration(tmp_path, ext, codec):
    source = write_video(tmp_path / f"in{ext}", moving_square_frames(50), codec="libvpx-vp9" if ext == ".webm" else "libx264")
    before = source.read_bytes()
    out = mux_soundtrack(source, tmp_path / f"out{ext}", tone(2.0), RATE)
    assert video_packets(out) == video_packets(source)  # bit-for-bit stream copy
    assert source.read_bytes() == before  # input untouched
    [(name, _)] = audio_streams(out)
    assert name == codec
    # the soundtrack covers the whole video (within one codec frame of priming/padding)
    assert decoded_audio_seconds(out) == pytest.approx(2.0, abs=0.05)
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_existing_audio_is_replaced_or_kept(tmp_path):
    source = write_video(tmp_path / "in.mp4", moving_square_frames(50), audio_seconds=2.0)
    replaced = mux_soundtrack(source, tmp_path / "replaced.mp4", tone(2.0), RATE)
    kept = mux_soundtrack(source, tmp_path / "kept.mp4", tone(2.0), RATE, keep_original_audio=True)
    assert len(audio_streams(replaced)) == 1
    assert len(audio_streams(kept)) == 2
    assert video_packets(kept) == video_packets(source)


def test_no_overwrite_without_permission(tmp_path, clip_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(V2AError, match="already exists"):
        mux_soundtrack(clip_path, target, tone(2.0), RATE)
    assert target.read_bytes() == b"keep me"
    mux_soundtrack(clip_path, target, tone(2.0), RATE, overwrite=True)
    assert video_packets(target) == video_packets(clip_path)


def test_refuses_to_write_over_input(clip_path):
    with pytest.raises(V2AError, match="input"):
        mux_soundtrack(clip_path, clip_path, tone(2.0), RATE, overwrite=True)


def test_failed_write_leaves_nothing(tmp_path, clip_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with atomic_output(target, overwrite=False) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == [clip_path]


def test_unwritable_or_missing_folder(tmp_path, clip_path):
    with pytest.raises(V2AError, match="does not exist"):
        mux_soundtrack(clip_path, tmp_path / "nope" / "out.mp4", tone(2.0), RATE)
    # /proc refuses new files even to root, which CI runs as (so chmod would not do)
    with pytest.raises(V2AError, match="cannot write"):
        mux_soundtrack(clip_path, Path("/proc/v2a-test.mp4"), tone(2.0), RATE)


def test_write_audio_formats(tmp_path):
    for ext in (".wav", ".flac"):
        path = write_audio(tmp_path / f"a{ext}", tone(1.0), RATE)
        data, rate = sf.read(path)
        assert rate == RATE and len(data) == RATE
        assert np.abs(data - tone(1.0)).max() < 1e-3
        assert oct(path.stat().st_mode & 0o777) != oct(0o600)
    with pytest.raises(V2AError, match="must end"):
        write_audio(tmp_path / "a.mp3", tone(1.0), RATE)


def test_unsupported_output_extension(tmp_path, clip_path):
    with pytest.raises(V2AError, match="unsupported output"):
        mux_soundtrack(clip_path, tmp_path / "out.xyz", tone(2.0), RATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


# -- every container and codec (issue 20) ---------------------------------------------------------

from v2a.media.mux import check_container  # noqa: E402

# encoder: (the container it is made in, pixel format, options), small clips PyAV can write here
ENCODERS = {
    "libvpx": (".webm", "yuv420p", {}),
    "libvpx-vp9": (".webm", "yuv420p", {}),
    "mpeg4": (".avi", "yuv420p", {}),
    "msmpeg4v2": (".avi", "yuv420p", {}),
    "msmpeg4": (".avi", "yuv420p", {}),  # MS-MPEG4 v3, "DIV3"
    "cinepak": (".avi", "rgb24", {}),
    "mjpeg": (".avi", "yuvj420p", {}),
    "prores_ks": (".mov", "yuv422p10le", {}),
    "libx265": (".mp4", "yuv420p", {"x265-params": "log-level=none"}),
    "libsvtav1": (".mkv", "yuv420p", {}),
    "msvideo1": (".avi", "rgb555le", {}),
    "gif": (".gif", "rgb8", {}),
    "wmv2": (".avi", "yuv420p", {}),
}
TARGETS = (".mkv", ".mov", ".mp4", ".webm", ".avi", ".ogv")


def encode_clip(path: Path, encoder: str, pix_fmt: str, options: dict, n: int = 12) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=12, options=options)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        for i, image in enumerate(moving_square_frames(n)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def codec_sources(tmp_path) -> dict[str, Path]:
    sources = {}
    for encoder, (ext, pix_fmt, options) in ENCODERS.items():
        if encoder in av.codecs_available:
            sources[encoder] = encode_clip(tmp_path / f"{encoder}{ext}", encoder, pix_fmt, options)
    # PyAV's FFmpeg has no Theora encoder: a 1 s 32x24 clip made with `ffmpeg -f lavfi -i
    # testsrc=size=32x24:rate=8 -t 1 -c:v libtheora`
    sources["theora"] = Path(__file__).parent / "data" / "theora.ogv"
    return sources


def same_video(a, b) -> bool:
    """The same video packets at the same times (to the millisecond: containers count time in
    different units; Ogg stores a position per page, not a time per packet, so its times are not
    compared)."""
    def packets(path):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return [(bytes(p), float(p.pts * p.time_base)) for p in container.demux(stream) if p.size > 0]

    first, second = packets(a), packets(b)
    timed = Path(a).suffix != ".ogv" and Path(b).suffix != ".ogv"
    return ([data for data, _ in first] == [data for data, _ in second]
            and (not timed or np.allclose([t for _, t in first], [t for _, t in second], atol=1.5e-3)))


def decoded_frames(path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(container.streams.video[0]))


def test_every_codec_is_copied_or_refused_with_the_containers_that_hold_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    copied = {}
    for name, source in codec_sources(tmp_path).items():
        copied[name] = set()
        for ext in TARGETS:
            target = out / f"{name}{ext}"
            try:
                assert check_container(source, target) is False  # False: copied, not re-encoded
            except V2AError as err:
                message = str(err)
                assert "\n" not in message and "cannot be copied into" in message and "--reencode" in message
                assert ".mkv" in message or name == "libvpx-vp9" and ext == ".ogv", message
                assert not target.exists()
                continue
            mux_soundtrack(source, target, tone(1.0), RATE)
            assert same_video(target, source), (name, ext)  # bit-for-bit
            assert decoded_frames(target) == decoded_frames(source), (name, ext)
            copied[name].add(ext)
    # Matroska holds every one of them, whatever PyAV's own codec query says (issue 20: MS Video 1,
    # Cinepak, MS-MPEG4 and GIF were refused), and each goes back into its own kind of file
    assert all(".mkv" in targets for targets in copied.values()), copied
    assert {".mkv", ".ogv"} <= copied["theora"]
    assert {".mkv", ".webm"} <= copied["libvpx-vp9"] and {".mkv", ".avi"} <= copied["msmpeg4v2"]
    for name in ("msvideo1", "cinepak", "msmpeg4v2", "msmpeg4", "gif", "theora", "prores_ks", "wmv2"):
        assert ".mp4" not in copied.get(name, {".none"}), name  # MP4 has no tag for them
    # an .mkv whose video is MS Video 1 (as game cut-scenes ship it) goes back into .mkv
    again = mux_soundtrack(out / "msvideo1.mkv", tmp_path / "again.mkv", tone(1.0), RATE)
    assert same_video(again, out / "msvideo1.mkv")


def test_a_refusal_names_where_the_stream_fits(tmp_path):
    source = encode_clip(tmp_path / "div3.avi", "msmpeg4", "yuv420p", {})
    with pytest.raises(V2AError) as err:
        check_container(source, tmp_path / "out.mp4")
    assert str(err.value) == (f"{source}: its msmpeg4v3 video cannot be copied into .mp4 as it is; "
                              ".mkv, .mov and .avi can hold it (or pass --reencode)")
    with pytest.raises(V2AError, match="unsupported output type '.png'"):
        check_container(source, tmp_path / "out.png")


def test_h264_in_mp4_does_not_go_into_avi_without_conversion(tmp_path, clip_path):
    # the AVI muxer takes the stream but its packets need Annex B start codes: the trial write's
    # packets catch what the header alone would not
    with pytest.raises(V2AError, match="cannot be copied into .avi"):
        check_container(clip_path, tmp_path / "out.avi")


@pytest.mark.parametrize("encoder, ext, target, codec", [("gif", ".gif", ".mp4", "h264"),
                                                         ("msvideo1", ".avi", ".webm", "vp9")])
def test_reencode_when_the_container_cannot_hold_the_stream(tmp_path, encoder, ext, target, codec):
    source = encode_clip(tmp_path / f"in{ext}", encoder, ENCODERS[encoder][1], {})
    output = tmp_path / f"out{target}"
    assert check_container(source, output, reencode=True) is True
    mux_soundtrack(source, output, tone(1.0), RATE, reencode=True)
    with av.open(str(output)) as container:
        video = container.streams.video[0]
        assert video.codec_context.codec.canonical_name == codec
        times = [float(f.time) for f in container.decode(video)]
    with av.open(str(source)) as container:
        source_times = [float(f.time) for f in container.decode(container.streams.video[0])]
    assert times == pytest.approx(source_times, abs=0.002)  # every frame, at its own time
    assert decoded_audio_seconds(output) == pytest.approx(1.0, abs=0.05)


def test_reencode_keeps_a_stream_that_fits_as_it_is(tmp_path, clip_path):
    out = mux_soundtrack(clip_path, tmp_path / "out.mkv", tone(2.0), RATE, reencode=True)
    assert same_video(out, clip_path)


def test_stereo_track_and_no_video_stream(tmp_path, clip_path):
    stereo = np.stack([tone(2.0), -tone(2.0)])
    out = mux_soundtrack(clip_path, tmp_path / "out.mp4", stereo, RATE)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.channels == 2
    from conftest import write_audio_only

    sound = write_audio_only(tmp_path / "sound.m4a")
    with pytest.raises(V2AError, match="has no video stream"):
        check_container(sound, tmp_path / "x.mkv")


def test_a_kept_audio_stream_that_does_not_fit_is_named(tmp_path):
    from v2a.media.write import encode_audio

    source = tmp_path / "wma.avi"  # MPEG-4 video (fits MP4) with WMA audio (does not)
    with av.open(str(source), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = container.add_stream("wmav2", rate=RATE, layout="mono")
        sound.bit_rate = 64000
        for i, image in enumerate(moving_square_frames(10)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        encode_audio(container, sound, tone(1.0), RATE)
    assert check_container(source, tmp_path / "out.mp4") is False  # the new audio alone: fine
    with pytest.raises(V2AError) as err:
        check_container(source, tmp_path / "out.mp4", keep_original_audio=True)
    assert str(err.value) == (f"{source}: its original wmav2 audio cannot be kept in .mp4; .mkv, .mov and .avi "
                              "can hold it, or leave out --keep-original-audio")
