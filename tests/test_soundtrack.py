"""Segments for editors: sound for a span only, the input's audio around it or mixed under it."""

import av
import numpy as np
import pytest

from conftest import moving_square_frames, write_video
from v2a.api import check_job, generate, write_result
from v2a.errors import V2AError
from v2a.media.decode import VideoClip, check_span, parse_time
from v2a.media.soundtrack import Track, compose_track, input_audio

RATE = 22050


def tone(seconds: float, freq: float) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * freq * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def decoded_tracks(path) -> list[tuple[np.ndarray, int]]:
    """Every audio stream of ``path`` as mono float and its rate."""
    with av.open(str(path)) as container:
        tracks = []
        for stream in container.streams.audio:
            container.seek(0)
            to_float = av.AudioResampler(format="flt", layout="mono")
            chunks = [out.to_ndarray()[0] for frame in container.decode(stream) for out in to_float.resample(frame)]
            tracks.append((np.concatenate(chunks), stream.codec_context.sample_rate))
    return tracks


def level(audio: np.ndarray, rate: int, freq: float, start: float, end: float) -> float:
    """Amplitude of ``freq`` between ``start`` and ``end`` seconds (a tone of amplitude a gives a)."""
    part = audio[int(start * rate) : int(end * rate)]
    t = np.arange(len(part)) / rate
    return float(2 * np.abs(np.mean(part * np.exp(-2j * np.pi * freq * t))))


@pytest.mark.parametrize("text, seconds", [("12.5", 12.5), (3, 3.0), ("1:02.5", 62.5), ("01:00:00.250", 3600.25),
                                           ("00:00:07", 7.0)])
def test_times(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["abc", "1:60", "1.5:00", "-2", "1:2:3:4", "", "1::2", "nan"])
def test_bad_times_are_one_line_errors(text):
    with pytest.raises(V2AError, match="start"):
        parse_time(text, "start")


@pytest.mark.parametrize("start, end, fragment", [(5, 3, "must come after start"), (12, None, "not before the end"),
                                                  (1, 11, "past the end"), (2, 2, "must come after")])
def test_bad_spans(start, end, fragment):
    with pytest.raises(V2AError, match=fragment):
        check_span(start, end, 10.0)


def test_spans():
    assert check_span(None, None, 10.0) is None
    assert check_span("0:02", None, 10.0) == (2.0, 10.0)
    assert check_span(None, 10.05, 10.0) == (0.0, 10.0)  # a frame past the end is the end


def test_cut_keeps_the_picture_on_screen_at_the_start():
    clip = VideoClip.from_array(moving_square_frames(10), fps=10)  # frames at 0, 0.1, ... 0.9
    part = clip.cut(0.25, 0.6)
    assert part.duration == pytest.approx(0.35)
    assert np.array_equal(part.frames, clip.frames[2:6])  # the frame shown at 0.25 came at 0.2
    assert part.times == pytest.approx([0.0, 0.05, 0.15, 0.25])


def test_compose_track():
    sound = np.ones(RATE, np.float32) * 0.5  # 1 s
    silent = compose_track(sound, RATE, duration=3.0, start=1.0)
    assert silent.samples.shape == (1, 3 * RATE) and silent.sample_rate == RATE
    assert not silent.samples[:, :RATE].any() and (silent.samples[:, RATE : 2 * RATE] == 0.5).all()
    assert not silent.samples[:, 2 * RATE :].any()
    original = Track(np.full((2, 3 * 8000), 0.25, np.float32), 8000)  # stereo at another rate
    replaced = compose_track(sound, RATE, duration=3.0, start=1.0, original=original)
    assert replaced.samples.shape == (2, 3 * 8000)
    assert replaced.samples[:, 1000] == pytest.approx(0.25) and replaced.samples[:, 12000] == pytest.approx(0.5)
    mixed = compose_track(sound, RATE, duration=3.0, start=1.0, original=original, mix_db=-6.0)
    assert mixed.samples[:, 12000] == pytest.approx(0.25 + 0.5 * 10 ** (-6 / 20), abs=1e-3)
    assert mixed.samples[:, 20000] == pytest.approx(0.25)


@pytest.fixture
def clip_with_audio(tmp_path):
    """3 s at 10 fps with a 440 Hz tone."""
    return write_video(tmp_path / "in.mp4", moving_square_frames(30), fps=10, audio_seconds=3.0)


def test_input_audio_is_aligned_with_the_first_frame(clip_with_audio):
    track = input_audio(clip_with_audio)
    assert track.samples.shape[0] == 1 and track.sample_rate == RATE
    assert track.samples.shape[1] / RATE == pytest.approx(3.0, abs=0.05)
    # AAC's priming is cut, not left as a delay: the tone is there from the first milliseconds
    assert level(track.samples[0], RATE, 440, 0.0, 0.1) == pytest.approx(0.3, abs=0.05)


def test_a_span_replaces_the_input_audio_only_there(tmp_path, clip_with_audio):
    out = write_result(clip_with_audio, tmp_path / "out.mp4", tone(1.0, 1000), RATE, span=(1.0, 2.0), duration=3.0)
    [(audio, rate)] = decoded_tracks(out)
    assert len(audio) / rate == pytest.approx(3.0, abs=0.05)
    for start, end in ((0.1, 0.9), (2.1, 2.9)):  # outside the span the input's tone stays
        assert level(audio, rate, 440, start, end) == pytest.approx(0.3, abs=0.05)
        assert level(audio, rate, 1000, start, end) < 0.02
    assert level(audio, rate, 1000, 1.1, 1.9) == pytest.approx(0.3, abs=0.05)  # inside, the new sound alone
    assert level(audio, rate, 440, 1.1, 1.9) < 0.02


def test_mix_keeps_the_input_audio_under_the_new_sound(tmp_path, clip_with_audio):
    out = write_result(clip_with_audio, tmp_path / "out.mkv", tone(3.0, 1000), RATE, mix_db=-6.0)
    [(audio, rate)] = decoded_tracks(out)
    assert level(audio, rate, 440, 0.2, 2.8) == pytest.approx(0.3, abs=0.05)
    assert level(audio, rate, 1000, 0.2, 2.8) == pytest.approx(0.3 * 10 ** (-6 / 20), abs=0.03)


def test_keep_original_audio_with_a_span_gives_a_new_track_of_the_span_only(tmp_path, clip_with_audio):
    out = write_result(clip_with_audio, tmp_path / "out.mp4", tone(1.0, 1000), RATE, span=(1.0, 2.0), duration=3.0,
                       keep_original_audio=True)
    (new, rate), (kept, kept_rate) = decoded_tracks(out)
    assert np.abs(new[int(0.1 * rate) : int(0.9 * rate)]).max() < 0.01  # silence before the span
    assert level(new, rate, 1000, 1.1, 1.9) == pytest.approx(0.3, abs=0.05)
    assert level(kept, kept_rate, 440, 1.1, 1.9) == pytest.approx(0.3, abs=0.05)  # the input's own track, whole


def test_a_span_of_a_silent_video_leaves_silence_around_it(tmp_path, clip_path):
    out = write_result(clip_path, tmp_path / "out.wav", tone(0.5, 1000), RATE, span=(1.0, 1.5), duration=2.0)
    [(audio, rate)] = decoded_tracks(out)
    assert len(audio) == 2 * RATE and np.abs(audio[: RATE - 10]).max() < 1e-3
    assert level(audio, rate, 1000, 1.05, 1.45) == pytest.approx(0.3, abs=0.02)


def test_generate_makes_sound_for_the_span_only(debug_pipe, clip_path):
    waveform, rate = generate(clip_path, start=0.5, end="00:00:01.500", pipeline=debug_pipe, steps=2)
    assert len(waveform) == rate  # one second
    with pytest.raises(V2AError, match="past the end"):
        generate(clip_path, end=9, pipeline=debug_pipe, steps=2)


def test_check_job_refuses_before_any_model(tmp_path, clip_path, clip_with_audio):
    assert check_job(clip_with_audio, tmp_path / "a.mp4", start="0:01", mix_db=-6) == (1.0, 3.0)
    with pytest.raises(V2AError, match="has no audio to mix"):
        check_job(clip_path, tmp_path / "b.mp4", mix_db=-6)
    with pytest.raises(V2AError, match="must come after"):
        check_job(clip_path, tmp_path / "b.mp4", start=1.5, end=1)
