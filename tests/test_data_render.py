"""Rendered videos: visible events land on the clip's onsets, seeds decide everything."""

from __future__ import annotations

import numpy as np
import pytest

from v2a.audio import DEFAULT_AUDIO
from v2a.data.render import ALL_STYLES, DROP, FLASH, PULSE, SHAKE, STRIKE, detect_onsets, render_pair, write_pair_mp4
from v2a.errors import V2AError
from v2a.timing import frame_motion, timing_features

SR = DEFAULT_AUDIO.sample_rate
HIT_TIMES = (0.25, 0.9, 1.5)


def clicks(times=HIT_TIMES, seconds: float = 2.0) -> np.ndarray:
    """Sharp noise bursts at known times."""
    wav = np.zeros(int(seconds * SR), dtype=np.float32)
    rng = np.random.default_rng(0)
    for t in times:
        i = int(t * SR)
        wav[i:i + 1500] += (rng.normal(size=1500) * np.exp(-np.arange(1500) / 250)).astype(np.float32) * 0.5
    return wav


def test_detect_onsets_finds_the_hits():
    onsets = detect_onsets(clicks())
    assert len(onsets) == len(HIT_TIMES)
    assert np.all(np.abs(onsets - np.array(HIT_TIMES)) < 0.015)


@pytest.mark.parametrize("style", ALL_STYLES)
def test_event_times_are_the_onsets_and_frames_show_them(style):
    pair = render_pair(clicks(), seed=4, styles=(style,), fps=25, short_side=96, clean=True)
    assert pair.style == style
    lead = pair.meta["lead_in"]
    # ground truth = audio onsets of the clip, shifted by the silence placed before it
    assert np.all(np.abs(pair.event_times - lead - np.array(HIT_TIMES)) < 0.03)
    assert np.array_equal(pair.event_frames, np.ceil(pair.event_times * pair.fps - 1e-6).astype(int))
    # the soundtrack has its hits at the event times
    env = np.abs(pair.audio)
    for t in pair.event_times:
        assert env[int((t - 0.01) * SR):int((t + 0.02) * SR)].max() > 0.05 > env[int((t - 0.05) * SR)]
    energy = frame_motion(pair.frames)[:, :16].mean(axis=1)
    for f in pair.event_frames:
        if style in (FLASH, PULSE, STRIKE):
            # nothing moves between events, so the event frame is the motion peak (within a frame)
            assert abs(int(np.argmax(energy[f - 3:f + 4])) - 3) <= 1
            assert energy[f] > 5 * np.median(energy) + 1e-4
        elif style == SHAKE:
            assert energy[f - 1] < 0.5 * energy[f:f + 2].max()  # still before, shaking from the event on


def test_dropped_picture_touches_the_floor_exactly_on_event_frames(tmp_path):
    from PIL import Image

    Image.new("RGBA", (40, 40), (255, 0, 255, 255)).save(tmp_path / "pic.png")
    pair = render_pair(clicks(), seed=4, styles=(DROP,), fps=25, short_side=96, clean=True, picture=tmp_path / "pic.png")
    magenta = (pair.frames[..., 0] > 200) & (pair.frames[..., 1] < 60) & (pair.frames[..., 2] > 200)
    bottom = np.array([np.nonzero(m.any(axis=1))[0].max() for m in magenta])
    floor = bottom.max()
    touching = np.nonzero(bottom >= floor - 1)[0]
    first, last = pair.event_frames[0], pair.event_frames[-1]
    # in the air before the first event and between events; on the floor at every event
    assert set(pair.event_frames) <= set(touching)
    between = [f for f in touching if f < last]
    assert all(min(abs(f - e) for e in pair.event_frames) <= 1 for f in between)  # only the squash frame next to it
    assert bottom[first - 3] < floor - 2


def test_timing_features_peak_on_events():
    """The features the model sees (binned on the latent clock) peak within a latent frame of each event."""
    pair = render_pair(clicks(), seed=11, styles=(FLASH,), fps=30, clean=True)
    n_latent = DEFAULT_AUDIO.latent_frames(pair.duration)
    feats = timing_features(pair.frames, pair.times, n_latent, DEFAULT_AUDIO.latent_rate)
    energy = feats[:, :16].mean(axis=1)
    for t in pair.event_times:
        b = int(np.floor(t * DEFAULT_AUDIO.latent_rate))
        assert abs(int(np.argmax(energy[b - 3:b + 4])) - 3) <= 1


def test_seed_determines_output_and_styles_are_respected():
    wav = clicks()
    a = render_pair(wav, seed=7, styles=(SHAKE, PULSE))
    b = render_pair(wav, seed=7, styles=(SHAKE, PULSE))
    c = render_pair(wav, seed=8, styles=(SHAKE, PULSE))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio) and a.meta == b.meta
    assert a.frames.shape != c.frames.shape or not np.array_equal(a.frames, c.frames)
    styles = {render_pair(wav, seed=s, styles=(SHAKE, PULSE), short_side=64).style for s in range(8)}
    assert styles <= {SHAKE, PULSE}
    for s in range(6):
        p = render_pair(wav, seed=s, short_side=64)
        assert 10 <= p.fps <= 60 and p.frames.dtype == np.uint8 and p.frames.shape[1] % 2 == 0
        assert abs(len(p.audio) / SR - len(p.frames) / p.fps) < 1.0 / SR + 1e-9
    with pytest.raises(V2AError):
        render_pair(wav, seed=0, styles=("explode",))


def test_ambience_is_a_static_scene_and_calls_never_drop():
    rng = np.random.default_rng(0)
    rain = (0.1 * rng.normal(size=SR * 2)).astype(np.float32)
    pair = render_pair(rain, seed=3, kind="ambience", clean=True, short_side=64)
    assert pair.style == "static" and len(pair.event_times) == 0
    assert np.abs(pair.frames[1:].astype(int) - pair.frames[:-1].astype(int)).max() == 0
    assert all(render_pair(clicks(), seed=s, kind="call", short_side=64).style in (FLASH, SHAKE, PULSE) for s in range(5))


def test_picture_is_used_as_the_sprite(tmp_path):
    from PIL import Image

    Image.new("RGBA", (40, 40), (255, 0, 255, 255)).save(tmp_path / "pic.png")
    pair = render_pair(clicks(), seed=2, picture=tmp_path / "pic.png", styles=(FLASH,), clean=True, short_side=96)
    magenta = (pair.frames[..., 0] > 200) & (pair.frames[..., 1] < 60) & (pair.frames[..., 2] > 200)
    assert magenta[0].sum() > 100


def test_mp4_round_trip(tmp_path):
    from v2a.data.real_folder import decode_audio_track
    from v2a.video import decode_video

    pair = render_pair(clicks(), seed=5, fps=24, short_side=64)
    path = write_pair_mp4(pair, tmp_path / "pair.mp4")
    clip = decode_video(path)
    assert len(clip.frames) == len(pair.frames)
    assert abs(clip.duration - pair.duration) < 1.5 / pair.fps
    audio = decode_audio_track(path)
    # AAC adds a little priming delay; the hits are still there, within a few ms
    assert abs(len(audio) / SR - pair.duration) < 0.1
    for t in pair.event_times:
        assert np.abs(audio[int(t * SR):int((t + 0.05) * SR)]).max() > 0.05
