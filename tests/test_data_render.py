"""Rendered videos: visible events land on the clip's onsets, seeds decide everything."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from v2a.signal.audio import DEFAULT_AUDIO
from v2a.data import scenery
from v2a.data.render import (ALL_STYLES, CUT_CLEARANCE, DROP, FLASH, LOW_FRAME_RATES, MIN_EVENT_GAP_FRAMES, PLAIN, PULSE,
                             SHAKE, STRIKE, Realism, render_pair, write_pair_mp4)
from v2a.data.scenery import TEXTURED_BACKGROUNDS
from v2a.errors import V2AError
from v2a.signal.motion import frame_motion, motion_features
from v2a.signal.onsets import detect_onsets

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
    onsets = detect_onsets(clicks(), SR)
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


def test_motion_features_peak_on_events():
    """The features the model sees (binned on the latent clock) peak within a latent frame of each event."""
    pair = render_pair(clicks(), seed=11, styles=(FLASH,), fps=30, clean=True)
    n_latent = DEFAULT_AUDIO.latent_frames(pair.duration)
    feats = motion_features(pair.frames, pair.times, n_latent, DEFAULT_AUDIO.latent_rate)
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
    from v2a.media.decode import decode_video

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


# --- the traits of real footage (issue 16): each forced on through Realism, the rest off ---

MOVING = replace(PLAIN, camera_margin=0.2, textured_background=1.0)  # plain but for a background to move over


def changed(a: np.ndarray, b: np.ndarray, level: int = 40) -> float:
    """Share of pixels that differ by more than ``level`` in some channel."""
    return float((np.abs(a.astype(int) - b.astype(int)).max(axis=-1) > level).mean())


def assert_onset_promise(pair):
    """Every onset of the soundtrack is shown on the first frame at or after it (or shares the
    event of an onset a frame before it), and the events are exactly those frames."""
    assert np.array_equal(pair.event_frames, np.ceil(pair.event_times * pair.fps - 1e-6).astype(int))
    if pair.style == "static":
        assert len(pair.event_times) == 0
        return
    onsets = np.round(detect_onsets(pair.audio, SR), 4)
    assert set(pair.event_times) <= set(onsets)
    for t in onsets:
        f = int(np.ceil(t * pair.fps - 1e-6))
        assert f >= len(pair.frames) or np.any((f >= pair.event_frames) & (f - pair.event_frames < MIN_EVENT_GAP_FRAMES))


def test_cuts_change_the_whole_scene_away_from_onsets():
    two_cuts = replace(MOVING, cuts=(0.0, 0.0, 1.0))
    for seed in range(3):
        pair = render_pair(clicks(), seed=seed, styles=(FLASH,), short_side=64, realism=two_cuts)
        cut_frames = [int(round(c * pair.fps)) for c in pair.meta["cuts"]]
        assert len(cut_frames) == 2 and len(pair.meta["shots"]) == 3
        onsets = np.round(detect_onsets(pair.audio, SR), 4)
        assert min(abs(c - t) for c in pair.meta["cuts"] for t in onsets) >= CUT_CLEARANCE
        for f in cut_frames:
            assert changed(pair.frames[f - 1], pair.frames[f]) > 0.5  # a new scene, not an object moving
        within = [changed(pair.frames[i - 1], pair.frames[i]) for i in range(1, len(pair.frames)) if i not in cut_frames]
        assert max(within) < 0.3
        assert_onset_promise(pair)


def test_an_ambience_sounds_on_across_cuts():
    rain = (0.1 * np.random.default_rng(0).normal(size=SR * 3)).astype(np.float32)
    pair = render_pair(rain, seed=1, kind="ambience", short_side=48, realism=replace(MOVING, cuts=(0.0, 1.0)))
    assert len(pair.meta["cuts"]) == 1 and len(pair.event_times) == 0
    rms = lambda a: float(np.sqrt(np.mean(a**2)))  # noqa: E731
    cut = int(pair.meta["cuts"][0] * SR)
    assert rms(pair.audio[cut - int(0.05 * SR):cut + int(0.05 * SR)]) > 0.8 * rms(rain)


def best_shift(a: np.ndarray, b: np.ndarray, near: tuple[int, int], reach: int = 6) -> tuple[tuple[int, int], float]:
    """The shift (dx, dy) near ``near`` for which b[y, x] best matches a[y + dy, x + dx], and its mean error
    (on smoothed grey images, so that sensor noise does not count)."""
    from scipy.ndimage import gaussian_filter

    a, b = gaussian_filter(a.mean(-1), 1.5), gaussian_filter(b.mean(-1), 1.5)
    h, w = a.shape
    best = ((0, 0), np.inf)
    for dy in range(near[1] - reach, near[1] + reach + 1):
        for dx in range(near[0] - reach, near[0] + reach + 1):
            ya, yb = (dy, 0) if dy >= 0 else (0, -dy)
            xa, xb = (dx, 0) if dx >= 0 else (0, -dx)
            err = np.abs(a[ya:h - yb, xa:w - xb] - b[yb:h - ya, xb:w - xa]).mean()
            best = min(best, ((dx, dy), err), key=lambda p: p[1])
    return best


def test_a_pan_moves_the_whole_frame_smoothly_and_places_no_event():
    rain = (0.1 * np.random.default_rng(0).normal(size=SR * 2)).astype(np.float32)
    pans = 0
    for seed in range(4):
        pair = render_pair(rain, seed=seed, kind="ambience", short_side=64, max_distractors=0,
                           realism=replace(MOVING, pan=1.0))
        assert len(pair.event_times) == 0
        pan = np.asarray(pair.meta["shots"][0]["pan"])
        if np.abs(pan).max() < 8:
            continue  # the object sat near an edge: not much room to pan
        pans += 1
        first = pair.frames[0].astype(float)
        for k in np.linspace(0, len(pair.frames) - 1, 5).astype(int)[1:]:
            # eased: at rest at both ends, fastest in the middle; one shift explains the whole frame
            expected = pan * (0.5 - 0.5 * np.cos(np.pi * k / (len(pair.frames) - 1)))
            frame = pair.frames[k].astype(float)
            shift, err = best_shift(first, frame, tuple(np.round(expected).astype(int)))
            assert np.abs(np.subtract(shift, expected)).max() <= 7  # give or take the shake
            if np.abs(expected).max() >= 8:
                assert err < 0.3 * best_shift(first, frame, (0, 0), reach=0)[1]
    assert pans >= 2


def test_a_zoom_scales_the_scene_smoothly(tmp_path):
    from PIL import Image

    Image.new("RGBA", (40, 40), (255, 0, 255, 255)).save(tmp_path / "pic.png")
    rain = (0.1 * np.random.default_rng(0).normal(size=SR * 2)).astype(np.float32)
    for seed in range(2):
        pair = render_pair(rain, seed=seed, kind="ambience", short_side=96, max_distractors=0,
                           picture=tmp_path / "pic.png", realism=replace(PLAIN, zoom=1.0))
        z0, z1 = pair.meta["shots"][0]["zoom"]
        assert abs(z1 / z0 - 1) > 0.1 and len(pair.event_times) == 0
        magenta = (pair.frames[..., 0] > 200) & (pair.frames[..., 1] < 60) & (pair.frames[..., 2] > 200)
        area = magenta.sum(axis=(1, 2))[np.linspace(0, len(pair.frames) - 1, 6).astype(int)]
        assert abs(area[-1] / area[0] / (z1 / z0) ** 2 - 1) < 0.2
        # growing (or shrinking) all along, up to the sprite's whole-pixel sizes
        assert np.all(np.diff(area) * np.sign(z1 - z0) > -0.03 * area[0])


def test_without_lead_sound_runs_from_the_first_frame_to_the_last():
    rng = np.random.default_rng(0)
    long = clicks(times=np.arange(0.2, 9.5, 0.6), seconds=10.0) + (0.05 * rng.normal(size=SR * 10)).astype(np.float32)
    inside = replace(PLAIN, inside_sound=1.0)
    pair = render_pair(long, seed=3, short_side=48, realism=inside)
    assert pair.meta["lead_in"] == 0 and pair.meta["tail"] == 0 and pair.meta["copies"] == 1
    start = int(round(pair.meta["offset"] * SR))
    assert start > 0 and np.array_equal(pair.audio, long[start:start + len(pair.audio)])  # a piece from inside it
    edge = int(0.05 * SR)
    assert np.abs(pair.audio[:edge]).max() > 0.05 and np.abs(pair.audio[-edge:]).max() > 0.05
    assert_onset_promise(pair)
    assert len(pair.event_times) >= 3

    knock = clicks(times=(0.02,), seconds=0.5)  # shorter than any clip: chained with short pauses
    pair = render_pair(knock, seed=4, styles=(DROP,), short_side=48, realism=inside)
    assert pair.meta["copies"] >= 4 and pair.duration >= 2.0
    assert np.abs(pair.audio[:edge]).max() > 0
    assert_onset_promise(pair)
    assert len(pair.event_times) >= pair.meta["copies"] - 1  # every repeat is a new, visible event


def test_flash_events_stay_visible_through_pans_zooms_and_cuts():
    everything = replace(MOVING, pan=1.0, zoom=1.0, cuts=(0.0, 0.0, 1.0))
    for seed in range(3):
        pair = render_pair(clicks(), seed=seed, styles=(FLASH,), short_side=64, max_distractors=0, realism=everything)
        assert_onset_promise(pair)
        brightness = pair.frames.astype(float).mean(axis=(1, 2, 3))
        rise = np.diff(brightness, prepend=brightness[0])
        cut_frames = {int(round(c * pair.fps)) for c in pair.meta["cuts"]}
        others = [rise[i] for i in range(len(rise)) if i not in cut_frames and i not in set(pair.event_frames)]
        assert min(rise[pair.event_frames]) > 2 * max(others), seed


def test_realism_is_drawn_from_the_seed_alone():
    everything = Realism(cuts=(0.0, 0.0, 1.0), textured_background=1.0, pan=1.0, zoom=1.0, cartoon=1.0, artefacts=1.0,
                         inside_sound=1.0)
    a, b = (render_pair(clicks(), seed=5, short_side=48, realism=everything) for _ in range(2))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio) and a.meta == b.meta
    assert len(a.meta["cuts"]) == 2 and a.meta["artefacts"] and a.meta["lead_in"] == 0
    json.dumps(a.meta)  # plain types: the data command writes it beside the example renders


def test_textured_backgrounds_are_textured():
    rng = np.random.default_rng(0)
    for kind in TEXTURED_BACKGROUNDS:
        img = scenery.background(rng, 60, 80, kind)
        assert img.shape == (60, 80, 3) and img.dtype == np.float32 and 0 <= img.min() and img.max() <= 1
        # detail at every scale: neighbouring pixels differ, and so do distant parts of the picture
        assert np.abs(np.diff(img, axis=1)).mean() > 0.002, kind
        assert np.abs(img[:20].mean((0, 1)) - img[-20:].mean((0, 1))).max() + img.std(axis=(0, 1)).max() > 0.05, kind


def test_cartoon_sprites_are_flat_with_a_dark_outline():
    sprite = scenery.make_sprite(np.random.default_rng(1), 32, None, cartoon=True)
    opaque = sprite[..., 3] > 0
    colours = np.unique(sprite[opaque][:, :3], axis=0)
    assert len(colours) == 2  # one fill, one outline
    dark = colours[np.argmin(colours.sum(1))]
    padded = np.pad(opaque, 1)
    edge = opaque & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    assert np.all(sprite[edge][:, :3] == dark) and dark.sum() < colours.sum(1).max() / 2


def test_codec_artefacts_make_blocks_and_bands():
    smooth = scenery.background(np.random.default_rng(0), 64, 64, "octaves")
    blocky = scenery.block_quantise(smooth, 0.15)
    steps = np.abs(np.diff(blocky, axis=1)).mean(axis=(0, 2))  # step between columns x and x + 1
    at_edges = steps[7::8].mean()
    assert at_edges > 1.5 * np.delete(steps, np.s_[7::8]).mean()  # the 8x8 grid shows
    assert len(np.unique(scenery.posterise(smooth, 8))) <= 9
    pair = render_pair(clicks(), seed=0, short_side=48, realism=replace(PLAIN, artefacts=1.0))
    assert pair.meta["artefacts"]
    if "levels" in pair.meta["artefacts"]:
        assert len(np.unique(pair.frames[..., 0])) <= pair.meta["artefacts"]["levels"] + 1


def test_low_frame_rates_and_more_distractors():
    short = clicks(times=(0.1,), seconds=0.4)
    rates = {render_pair(short, seed=s, short_side=32, realism=replace(PLAIN, low_fps=1.0)).fps for s in range(6)}
    assert rates <= set(LOW_FRAME_RATES) and 10 in rates
    counts = [render_pair(short, seed=s, short_side=32, max_distractors=5).meta["shots"][0]["distractors"] for s in range(8)]
    assert max(counts) > 3
