from fractions import Fraction

import numpy as np
import pytest

from conftest import moving_square_frames, write_audio_only, write_video
from v2a.errors import V2AError
from v2a.media.decode import VideoClip, VideoFile, decode_video


def test_decode_constant_rate(clip_path):
    clip = decode_video(clip_path)
    assert clip.frames.shape == (50, 48, 64, 3)
    assert clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.times, np.arange(50) / 25.0, atol=1e-6)
    assert clip.duration == pytest.approx(2.0, abs=1e-6)
    # the red marker survives encoding in the top-left corner
    assert clip.frames[0, :4, :4, 0].mean() > 200 and clip.frames[0, :4, :4, 2].mean() < 60


def test_decode_variable_frame_rate(tmp_path):
    # frame times in milliseconds: bursts and gaps, as phones record
    pts = [0, 20, 40, 100, 300, 310, 320, 700, 1000]
    path = write_video(tmp_path / "vfr.mp4", moving_square_frames(len(pts)), fps=50, pts=pts, time_base=Fraction(1, 1000))
    clip = decode_video(path)
    np.testing.assert_allclose(clip.times, np.array(pts) / 1000.0, atol=1e-3)
    assert clip.duration > 1.0


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotation_metadata_is_applied(tmp_path, rotation):
    path = write_video(tmp_path / "rot.mp4", moving_square_frames(5), rotation=rotation)
    clip = decode_video(path)
    red = clip.frames[0, :, :, 0].astype(float) - clip.frames[0, :, :, 2]
    y, x = np.unravel_index(np.argmax(red), red.shape)
    h, w = clip.frames.shape[1:3]
    if rotation == 180:
        assert (h, w) == (48, 64) and y > h / 2 and x > w / 2  # top-left marker ends bottom-right
    else:
        assert (h, w) == (64, 48)
        # counter-clockwise display rotation (90) moves the top-left corner to the bottom-left
        assert (y > h / 2) == (rotation == 90) and (x < w / 2) == (rotation == 90)


def test_large_frames_are_reduced_to_analysis_size(tmp_path):
    path = write_video(tmp_path / "big.mp4", np.zeros((3, 480, 640, 3), np.uint8))
    assert decode_video(path).frames.shape[1:3] == (224, 298)


def test_from_array_validates_and_times():
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    clip = VideoClip.from_array(frames, fps=5)
    assert clip.duration == pytest.approx(2.0)
    clip = VideoClip.from_array(frames.astype(np.float32), times=np.linspace(1.0, 2.0, 10))
    assert clip.times[0] == 0.0 and clip.frames.dtype == np.uint8
    with pytest.raises(V2AError, match="fps"):
        VideoClip.from_array(frames)
    with pytest.raises(V2AError, match="shape"):
        VideoClip.from_array(np.zeros((10, 32, 32)), fps=5)
    with pytest.raises(V2AError, match="increase"):
        VideoClip.from_array(frames, times=np.zeros(10))


def test_errors_are_one_line(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n" * 50)
    good = write_video(tmp_path / "good.mp4", moving_square_frames(30))
    (tmp_path / "truncated.mp4").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 3])
    write_audio_only(tmp_path / "audio.m4a")
    cases = {
        "missing.mp4": "no such file",
        "empty.mp4": "empty",
        "text.mp4": "not a readable video",
        "audio.m4a": "no video stream",
        "truncated.mp4": "",
    }
    for name, expected in cases.items():
        with pytest.raises(V2AError) as err:
            decode_video(tmp_path / name)
        message = str(err.value)
        assert "\n" not in message and expected in message, (name, message)
    with pytest.raises(V2AError, match="folder"):
        decode_video(tmp_path)


def test_a_file_read_as_a_stream_gives_the_frames_of_decode_video(clip_path):
    clip = decode_video(clip_path)
    video = VideoFile(clip_path)
    assert video.duration is None  # known once read
    chunks = list(video.chunks(size=7))
    assert max(len(f) for f, _ in chunks) == 7
    np.testing.assert_array_equal(np.concatenate([f for f, _ in chunks]), clip.frames)
    np.testing.assert_array_equal(np.concatenate([t for _, t in chunks]), clip.times)
    assert video.duration == clip.duration and video.span == (0.0, clip.duration)


def test_a_span_read_as_a_stream_is_the_cut_clip(clip_path):
    clip = decode_video(clip_path)  # 50 frames at 25 fps
    for start, end in [(0.3, 1.1), (0.31, 1.0), (0.0, 0.5), (1.5, None), (1.5, 2.05)]:
        video = VideoFile(clip_path, start, end)
        read = VideoClip(*(np.concatenate(part) for part in zip(*video.chunks(size=4))), video.duration)
        cut = clip.cut(start, min(end or clip.duration, clip.duration))
        np.testing.assert_array_equal(read.frames, cut.frames)
        np.testing.assert_allclose(read.times, cut.times, atol=1e-12)
        assert read.duration == pytest.approx(cut.duration, abs=1e-12)
    assert VideoFile(clip_path, 0.3, 1.1).video_duration is None  # reading stopped at the span's end
