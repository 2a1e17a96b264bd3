"""Rendered videos in which something visible happens exactly when the sound has an onset.

Timing is what the model learns from these videos (what things sound like comes from the
real recordings), so the renderer's one promise is: every onset detected in the clip is a
visible event on the first frame at or after it (an object lands, is struck, flashes, shakes
or pulses), and nothing else in the video looks like an event. Everything else is varied so
the model cannot rely on it, and so that what it learns carries over to real footage (issue
16): frame rate (10-60 fps), size and aspect ratio, flat or textured backgrounds (fractal
noise, tiles, blurred scenery), the sprite (the source's own picture where the manifest has
one, shaded or cartoon-outlined shapes otherwise), distractor objects that move smoothly and
make no sound, sensor noise, blur, camera shake, pans and zooms, hard cuts to a new shot
(never near an onset, and the sound runs on across them), codec artefacts, and soundtracks
that already sound at the first frame and still at the last. Ambience clips get scenes
without events: continuous sound, nothing happens but the camera and the distractors.

``styles=`` selects the event styles, so an evaluation set can hold out styles the training
set never saw; ``realism=`` says how often each trait of real footage is drawn, and
``clean=True`` draws none of them (one still shot, as simple as renders get: for tests);
``seed`` alone determines the output.

    pair = render_pair(waveform, seed=3, kind="impact", picture="pictures/tuxpaint/duck.png")
    pair.frames, pair.times, pair.audio, pair.event_times, pair.meta["cuts"]
    write_pair_mp4(pair, "example.mp4")
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..signal.audio import DEFAULT_AUDIO
from ..errors import V2AError
from ..signal.onsets import detect_onsets
from . import scenery

# event styles: how a sound onset is made visible
DROP = "drop"  # the object falls / bounces and hits the floor at each onset
STRIKE = "strike"  # a stick swings in and hits the object at each onset
FLASH = "flash"  # the object lights up at each onset, then fades
SHAKE = "shake"  # the object jolts and shakes at each onset, dying away
PULSE = "pulse"  # the object swells at each onset, then shrinks back
ALL_STYLES = (DROP, STRIKE, FLASH, SHAKE, PULSE)
# which styles suit which kind of sound (see v2a.data.captions kinds); an impact can be shown
# any way, a call (a voice, a bell) is not something that falls on the floor
STYLES_FOR_KIND = {"impact": ALL_STYLES, "call": (FLASH, SHAKE, PULSE)}
STATIC = "static"  # ambience: no events

# Bumped whenever the same seed renders differently, so cached renders (the evaluation's
# held-out set) are redone. 2: events on the evaluation's onset detector. 3: the traits of
# real footage of issue 16 (cuts, pans and zooms, textures, artefacts, sound at both ends).
RENDER_VERSION = 3
MIN_EVENT_GAP_FRAMES = 2  # onsets closer than this share one visible event
FRAME_RATES = (12, 15, 24, 25, 30, 48, 50, 60)
LOW_FRAME_RATES = (10, 12, 15)  # cartoons and web clips: often animated or encoded at low rates
CUT_CLEARANCE = 0.15  # s between a cut and any onset, so a cut never coincides with a sound
MIN_SHOT = 0.5  # s: the shortest shot; cuts also stay this far from the clip's ends


@dataclass(frozen=True)
class Realism:
    """How often a render draws each trait of real footage (chances per render unless per shot).

    Renders without them taught the model what real clips contradict (issue 16): that sound
    starts late and stops early (real soundtracks run from the first frame), and, never having
    seen a cut, that a cut ends the sound.
    """

    cuts: tuple[float, ...] = (0.5, 0.3, 0.2)  # chances of 0, 1, 2, ... hard cuts
    textured_background: float = 0.6  # per shot: fractal noise, textured gradient, tiles or scenery
    pan: float = 0.35  # per shot: a smooth pan across a background larger than the frame
    zoom: float = 0.25  # per shot: a smooth zoom in or out
    camera_margin: float = 0.2  # the background reaches this share of the frame beyond each edge
    cartoon: float = 0.4  # per drawn shape: flat fill and dark outline instead of shading
    artefacts: float = 0.25  # 8x8 block quantisation and/or quantised colours
    low_fps: float = 0.2  # a rate from LOW_FRAME_RATES, on top of FRAME_RATES' own 12 and 15
    inside_sound: float = 0.4  # 2-6 s from inside the recording: no silence at either end


PLAIN = Realism(cuts=(1.0,), textured_background=0.0, pan=0.0, zoom=0.0, camera_margin=0.0, cartoon=0.0,
                artefacts=0.0, low_fps=0.0, inside_sound=0.0)


@dataclass
class RenderedPair:
    """A rendered video, its soundtrack and the ground truth.

    Attributes:
        frames: ``(T, H, W, 3)`` uint8.
        times: ``(T,)`` frame times in seconds (constant rate ``fps``).
        fps: frame rate.
        audio: mono float32 soundtrack at ``sample_rate``, exactly as long as the video.
        sample_rate: audio rate (the library's, 22,050 Hz).
        event_times: seconds of the audio onsets made visible (ground truth for sync metrics).
        event_frames: index of the frame where each event becomes visible.
        style: the event style used (or ``"static"``).
        meta: every random choice made, for reproducibility and debugging; ``cuts`` holds the
            time of the first frame of each new shot.
    """

    frames: np.ndarray
    times: np.ndarray
    fps: float
    audio: np.ndarray
    sample_rate: int
    event_times: np.ndarray
    event_frames: np.ndarray
    style: str
    meta: dict = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps


def _chance(rng: np.random.Generator, p: float) -> bool:
    """True with probability ``p``; draws nothing when ``p`` is 0, so plain renders keep their draws."""
    return p > 0 and bool(rng.random() < p)


# ---------------------------------------------------------------------------------------------
# the soundtrack and its events


def _place_sound(wav: np.ndarray, rng: np.random.Generator, fps: float, sample_rate: int, lead_in: float | None,
                 realism: Realism, ambience: bool) -> tuple[np.ndarray, int, dict]:
    """The soundtrack, the number of frames, and how the recording was placed (for ``meta``).

    Either the recording framed in silence (``lead_in`` before, a short tail after), or, in a
    ``realism.inside_sound`` share, 2-6 s from inside it with no silence at either end.
    """
    if lead_in is None and len(wav) and _chance(rng, realism.inside_sound):
        n = int(np.ceil(rng.uniform(2.0, 6.0) * fps))
        audio, placed = _fill(wav, int(round(n / fps * sample_rate)), rng, sample_rate, ambience)
        return audio, n, {"lead_in": 0.0, "tail": 0.0, **placed}
    lead = float(lead_in if lead_in is not None else rng.uniform(0.1, 1.5))
    tail = float(rng.uniform(0.1, 0.8))
    n = int(np.ceil((lead + len(wav) / sample_rate + tail) * fps))
    audio = np.zeros(int(round(n / fps * sample_rate)), dtype=np.float32)
    start = int(round(lead * sample_rate))
    audio[start:start + len(wav)] = wav[: max(0, len(audio) - start)]
    return audio, n, {"lead_in": lead, "tail": tail, "offset": 0.0, "copies": 1}


def _fill(wav: np.ndarray, length: int, rng: np.random.Generator, sample_rate: int,
          ambience: bool) -> tuple[np.ndarray, dict]:
    """``length`` samples of ``wav`` from a random point inside it, repeated if it is too short.

    Events repeat after a short pause (a knock, then another); an ambience loops with a 50 ms
    crossfade, since it never pauses.
    """
    fade = min(int(0.05 * sample_rate), len(wav) // 4) if ambience else 0
    piece = wav.copy()
    if fade:
        ramp = np.linspace(0, 1, fade, dtype=np.float32)
        piece[:fade] *= ramp
        piece[-fade:] *= ramp[::-1]
    spare = len(wav) - length
    offset = int(rng.uniform(0, spare)) if spare > 0 else int(rng.uniform(0, 0.5) * len(wav))
    out = np.zeros(length + len(wav), dtype=np.float32)
    pos, copies = -offset, 0
    while pos < length:
        out[max(pos, 0):pos + len(wav)] += piece[max(0, -pos):]
        copies += 1
        pos += len(wav) - fade + (0 if ambience else int(rng.uniform(0.05, 0.4) * sample_rate))
    return out[:length], {"offset": round(offset / sample_rate, 4), "copies": copies}


def _visible_events(onsets: np.ndarray, fps: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The onsets shown and their frames: the first frame at or after each onset; onsets a
    frame or two apart share one event, and onsets after the last frame are not shown."""
    frames_idx = np.ceil(onsets * fps - 1e-6).astype(int)
    keep_t, keep_f = [], []
    for t, f in zip(onsets, frames_idx):
        if f >= n:
            continue
        if keep_f and f - keep_f[-1] < MIN_EVENT_GAP_FRAMES:
            continue
        keep_t.append(t)
        keep_f.append(f)
    return np.asarray(keep_t, dtype=np.float64), np.asarray(keep_f, dtype=int)


def _draw_cuts(rng: np.random.Generator, realism: Realism, onsets: np.ndarray, fps: float, n: int) -> list[int]:
    """Frames that start a new shot: at least MIN_SHOT apart and from the clip's ends, and at
    least CUT_CLEARANCE from every onset, so the model sees that a cut is not a sound event."""
    count = int(rng.choice(len(realism.cuts), p=realism.cuts)) if realism.cuts[0] < 1 else 0
    t = np.arange(n) / fps
    allowed = (t >= MIN_SHOT) & (t <= n / fps - MIN_SHOT)
    for onset in onsets:
        allowed &= np.abs(t - onset) >= CUT_CLEARANCE
    cuts = []
    for _ in range(count):
        candidates = np.nonzero(allowed)[0]
        if len(candidates) == 0:
            break
        cut = int(rng.choice(candidates))
        cuts.append(cut)
        allowed &= np.abs(t - t[cut]) >= MIN_SHOT
    return sorted(cuts)


# ---------------------------------------------------------------------------------------------
# shots: what the camera looks at between cuts


@dataclass
class _Scene:
    """What stays the same for the whole clip."""

    h: int
    w: int
    fps: float
    n: int
    short: int
    clean: bool
    realism: Realism
    artefacts: dict  # codec damage to every frame (see _draw_artefacts)
    rng: np.random.Generator


@dataclass
class _Shot:
    """One shot, from frame ``start`` to ``stop``; positions are pixels of a still camera."""

    start: int
    stop: int
    background: np.ndarray  # (h + 2 * my, w + 2 * mx, 3): the frame and margins a camera can move over
    margin: tuple[int, int]  # (my, mx)
    sprite: np.ndarray
    sprite_size: int
    distractors: list
    noise: float
    blur: float
    shake_amp: float
    base_x: float
    floor_y: float
    meta: dict


def _draw_distractor(scene: _Scene) -> dict:
    """A silent object on a smooth path: wrapping straight across, on a circle, or wandering."""
    rng, short, h, w = scene.rng, scene.short, scene.h, scene.w
    d = {"size": int(short * rng.uniform(0.1, 0.25)), "path": str(rng.choice(["linear", "circle", "wander"])),
         "x0": rng.uniform(0, w), "y0": rng.uniform(0, h), "vx": rng.uniform(-1, 1) * w * 0.4,
         "radius": rng.uniform(5, short * 0.3), "omega": rng.uniform(0.5, 3.0), "phase": rng.uniform(0, 6.3)}
    d["sprite"] = scenery.make_sprite(rng, d["size"], None, cartoon=_chance(rng, scene.realism.cartoon))
    return d


def _distractor_positions(scene: _Scene, d: dict, margin_x: int) -> tuple[np.ndarray, np.ndarray]:
    """Smooth paths (constant velocity wrapping around, circles, slow wandering): motion but never an event.

    A straight path wraps around out of sight even of a camera panned to the margin's edge,
    so the object never jumps on screen.
    """
    t = np.arange(scene.n) / scene.fps
    if d["path"] == "linear":
        hidden = d["size"] + margin_x
        x = (d["x0"] + d["vx"] * t) % (scene.w + 2 * hidden) - hidden
        y = np.full_like(t, d["y0"])
    elif d["path"] == "circle":
        x = d["x0"] + d["radius"] * np.cos(d["omega"] * t + d["phase"])
        y = d["y0"] + d["radius"] * np.sin(d["omega"] * t + d["phase"])
    else:  # wander: two slow sines of different rates, a Lissajous curve
        x = d["x0"] + d["radius"] * np.sin(0.5 * d["omega"] * t + d["phase"])
        y = d["y0"] + 0.6 * d["radius"] * np.sin(0.8 * d["omega"] * t + 2 * d["phase"])
    return x, y


def _draw_shot(scene: _Scene, start: int, stop: int, picture: str | Path | None, max_distractors: int) -> _Shot:
    """Everything in one shot: sprite, distractors, background, camera quality, the object's place."""
    rng, real, short, h, w = scene.rng, scene.realism, scene.short, scene.h, scene.w
    sprite_size = int(short * rng.uniform(0.25, 0.45)) // 2 * 2
    sprite = scenery.make_sprite(rng, sprite_size, picture, cartoon=_chance(rng, real.cartoon))
    margin = (int(np.ceil(real.camera_margin * h)), int(np.ceil(real.camera_margin * w)))
    distractors = [_draw_distractor(scene) for _ in range(0 if scene.clean else int(rng.integers(0, max_distractors + 1)))]
    for d in distractors:
        d["xs"], d["ys"] = _distractor_positions(scene, d, margin[1])
    kinds = scenery.TEXTURED_BACKGROUNDS if _chance(rng, real.textured_background) else scenery.PLAIN_BACKGROUNDS
    kind = str(rng.choice(kinds))
    background = scenery.background(rng, h + 2 * margin[0], w + 2 * margin[1], kind)
    noise = 0.0 if scene.clean else float(rng.choice([0.0, rng.uniform(0.005, 0.04)]))
    blur = 0.0 if scene.clean else float(rng.choice([0.0, rng.uniform(0.3, 1.5)]))
    shake_amp = 0.0 if scene.clean else float(rng.choice([0.0, rng.uniform(0.5, 3.0)]))
    meta = {"start": round(start / scene.fps, 4), "background": kind, "distractors": len(distractors), "noise": noise,
            "blur": blur, "camera_shake": shake_amp}
    return _Shot(start=start, stop=stop, background=background, margin=margin, sprite=sprite, sprite_size=sprite_size,
                 distractors=distractors, noise=noise, blur=blur, shake_amp=shake_amp, base_x=w * rng.uniform(0.3, 0.7),
                 floor_y=h * rng.uniform(0.75, 0.92), meta=meta)


# ---------------------------------------------------------------------------------------------
# motion: per-frame pose of the sounding object, driven by the event frames


def _since_last_event(n: int, events: np.ndarray) -> np.ndarray:
    """Frames since the most recent event at or before each frame (inf before the first)."""
    out = np.full(n, np.inf)
    for e in events:
        idx = np.arange(e, n)
        out[idx] = np.minimum(out[idx], idx - e)
    return out


def _drop_heights(n: int, events: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Height above the floor per frame (0 = touching), landing exactly on event frames.

    Between two events the object flies a parabola that leaves the floor on the first and
    lands on the second; before the first event it falls from above; after the last it rests.
    Speed is highest at touchdown, so the motion peaks on the event frame.
    """
    height = np.zeros(n)
    if len(events) == 0:
        return height + 1.0
    first = events[0]
    fall = np.arange(first + 1)
    # fall from a random start height reached at frame 0, accelerating, touching at `first`
    height[: first + 1] = rng.uniform(0.6, 1.0) * (1 - (fall / max(first, 1)) ** 2)
    for a, b in zip(events[:-1], events[1:]):
        t = np.arange(a, b + 1)
        span = b - a
        peak = min(1.0, 0.15 + 0.05 * span)  # short gaps make low hops
        height[a:b + 1] = 4 * peak * (t - a) * (b - t) / (span * span)
    height[events[-1]:] = 0.0
    return height


@dataclass
class _Timing:
    """The clip's event frames, frames since the latest one (inf before the first) and the
    ~120 ms visual decay after each."""

    events: np.ndarray
    since: np.ndarray
    decay: np.ndarray

    @classmethod
    def of(cls, events: np.ndarray, n: int, fps: float) -> _Timing:
        since = _since_last_event(n, events)
        decay = np.exp(-since / max(1.0, 0.12 * fps))
        decay[np.isinf(since)] = 0.0
        return cls(events=events, since=since, decay=decay)


@dataclass
class _Pose:
    """Per frame of the clip: the sounding object's centre, scale and brightening, and the stick
    that strikes it (STRIKE only), in a still camera's pixels."""

    x: np.ndarray
    y: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    bright: np.ndarray
    stick: dict | None = None


def _resting(scene: _Scene, shot: _Shot, y: float) -> _Pose:
    n = scene.n
    return _Pose(x=np.full(n, shot.base_x), y=np.full(n, y), sx=np.ones(n), sy=np.ones(n), bright=np.zeros(n))


def _pose_drop(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    half = shot.sprite_size / 2
    pose = _resting(scene, shot, shot.floor_y - half)
    lift = (shot.floor_y - half - shot.sprite_size * 0.6) * _drop_heights(scene.n, timing.events, scene.rng)
    squash = np.where(timing.since <= 1, 0.25 * (1 - timing.since / 2), 0)  # squash on touchdown
    pose.sy = 1 - squash
    pose.sx = 1 + squash * 0.8
    pose.y = shot.floor_y - half - lift + half * (1 - pose.sy)  # kept on the floor while squashed
    return pose


def _pose_strike(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    n, fps, since = scene.n, scene.fps, timing.since
    pose = _resting(scene, shot, scene.h * 0.55)
    # stick angle: 0 = touching the object; swings back after a hit, returns for the next
    next_event = np.full(n, np.inf)
    for e in timing.events[::-1]:
        next_event[: e + 1] = e - np.arange(e + 1)
    wind_up = np.clip(next_event / max(2.0, 0.25 * fps), 0, 1)
    back = np.clip(since / max(2.0, 0.25 * fps), 0, 1)
    pose.stick = {"swing": np.minimum(wind_up, np.where(np.isinf(since), 1.0, back)),
                  "colour": scene.rng.uniform(0, 1, size=3), "width": max(3.0, shot.sprite_size * 0.12),
                  "length": shot.sprite_size * 1.6, "side": scene.rng.choice([-1, 1])}
    pose.x = shot.base_x + (since <= 1) * pose.stick["side"] * -0.08 * shot.sprite_size  # knocked aside
    pose.bright = 0.35 * timing.decay
    return pose


def _pose_flash(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    pose = _resting(scene, shot, scene.h * scene.rng.uniform(0.35, 0.65))
    pose.bright = 0.7 * timing.decay
    return pose


def _pose_shake(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    pose = _resting(scene, shot, scene.h * scene.rng.uniform(0.35, 0.65))
    amp = 0.18 * shot.sprite_size * timing.decay
    jitter = scene.rng.uniform(-1, 1, size=(scene.n, 2))
    pose.x = pose.x + amp * jitter[:, 0]
    pose.y = pose.y + amp * jitter[:, 1]
    return pose


def _pose_pulse(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    pose = _resting(scene, shot, scene.h * scene.rng.uniform(0.35, 0.65))
    pose.sx = pose.sy = 1 + 0.45 * timing.decay
    pose.bright = 0.15 * timing.decay
    return pose


def _pose_static(scene: _Scene, shot: _Shot, timing: _Timing) -> _Pose:
    return _resting(scene, shot, shot.floor_y - shot.sprite_size / 2)  # the object just sits there


_POSES = {DROP: _pose_drop, STRIKE: _pose_strike, FLASH: _pose_flash, SHAKE: _pose_shake, PULSE: _pose_pulse,
          STATIC: _pose_static}


# ---------------------------------------------------------------------------------------------
# the camera: shake, pans and zooms move the whole frame, smoothly, so they never look like events


@dataclass
class _Camera:
    """Per frame of a shot: an offset added to every position (shake and pan) and a zoom about
    ``anchor``. Written so that a still camera adds exactly 0 and scales by exactly 1."""

    ox: np.ndarray
    oy: np.ndarray
    zoom: np.ndarray
    anchor: tuple[float, float]

    def screen(self, k: int, x, y):
        """A still camera's pixel (x, y) on frame ``k`` of the shot."""
        z1 = self.zoom[k] - 1
        x, y = x + self.ox[k], y + self.oy[k]
        return x + (x - self.anchor[0]) * z1, y + (y - self.anchor[1]) * z1

    def sees(self, k: int, h: int, w: int, margin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The background's rows and columns on frame ``k`` (the inverse of ``screen``)."""
        inv = 1 / self.zoom[k] - 1
        ys, xs = np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64)
        return (ys - self.oy[k] + (ys - self.anchor[1]) * inv + margin[0],
                xs - self.ox[k] + (xs - self.anchor[0]) * inv + margin[1])


def _camera(scene: _Scene, shot: _Shot, pose: _Pose, timing: _Timing) -> _Camera:
    """Shake (a slow wander), and in some shots a zoom and a pan that ease in and out."""
    rng, real = scene.rng, scene.realism
    drift = rng.uniform(-2, 2, size=2)
    t = np.arange(shot.start, shot.stop) / scene.fps
    ox = shot.shake_amp * np.sin(2 * np.pi * 0.7 * t + drift[0])
    oy = shot.shake_amp * np.sin(2 * np.pi * 0.5 * t + drift[1])
    ease = 0.5 - 0.5 * np.cos(np.pi * (t - t[0]) / max(t[-1] - t[0], 1e-9))  # 0 -> 1, at rest at both ends
    # zoom about where the events happen, so they stay in view
    shown = timing.events[(timing.events >= shot.start) & (timing.events < shot.stop)]
    at = shown if len(shown) else np.arange(shot.start, shot.stop)
    anchor = (float(pose.x[at].mean()), float(pose.y[at].mean()))
    zoom = np.ones_like(t)
    if _chance(rng, real.zoom):
        zoom = 1 + rng.uniform(0.1, 0.35) * (ease if rng.random() < 0.5 else 1 - ease)
    shot.meta["zoom"] = [round(float(zoom[0]), 3), round(float(zoom[-1]), 3)]
    shot.meta["pan"] = [0.0, 0.0]
    if _chance(rng, real.pan):
        reach = _pan_reach(scene, shot, anchor, float(zoom.max()))
        angle = rng.uniform(0, 2 * np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        amplitude = rng.uniform(0.5, 1.0) * min(r / max(abs(c), 1e-9) for r, c in zip(reach, direction))
        ox = ox + amplitude * direction[0] * (1 - 2 * ease)
        oy = oy + amplitude * direction[1] * (1 - 2 * ease)
        shot.meta["pan"] = [round(float(2 * amplitude * c), 2) for c in direction]
    return _Camera(ox=ox, oy=oy, zoom=zoom, anchor=anchor)


def _pan_reach(scene: _Scene, shot: _Shot, anchor: tuple[float, float], zoom: float) -> tuple[float, float]:
    """How far a pan may go each way along x and y: within the background's margin (less the
    shake), and not so far that the object, where its events happen, leaves the frame."""
    half = shot.sprite_size / 2 * zoom
    room = ((min(anchor[0], scene.w - anchor[0]) - half) / zoom, (min(anchor[1], scene.h - anchor[1]) - half) / zoom)
    margin = (shot.margin[1] - shot.shake_amp, shot.margin[0] - shot.shake_amp)
    return tuple(max(0.0, min(r, m)) for r, m in zip(room, margin))


# ---------------------------------------------------------------------------------------------
# drawing the frames


def _draw_artefacts(rng: np.random.Generator, realism: Realism) -> dict:
    """Codec damage for the whole clip: blocky 8x8 DCT quantisation, quantised colours, or both."""
    if not _chance(rng, realism.artefacts):
        return {}
    which = str(rng.choice(["blocks", "colours", "both"]))
    out = {}
    if which != "colours":
        out["block_step"] = round(float(rng.uniform(0.05, 0.2)), 4)
    if which != "blocks":
        out["levels"] = int(rng.integers(6, 25))
    return out


def _draw_stick(frame: np.ndarray, stick: dict, i: int, cx: float, cy: float, half: float, zoom: float) -> None:
    """The stick of STRIKE at frame ``i``, touching the object's side (centre cx, cy) at swing 0."""
    side, length = stick["side"], stick["length"] * zoom
    ang = stick["swing"][i] * 1.2  # radians away from contact
    hx = cx + side * half  # contact point at the object's side
    ex = hx + side * length * np.cos(ang - 0.4)
    ey = cy - length * np.sin(ang + 0.2)
    scenery.draw_stick(frame, hx + side * np.sin(ang) * half, cy - np.sin(ang) * half, ex, ey, stick["width"] * zoom,
                       stick["colour"])


def _draw_frame(scene: _Scene, shot: _Shot, style: str, pose: _Pose, camera: _Camera, i: int) -> np.ndarray:
    """Frame ``i`` (of the clip, inside ``shot``) as uint8."""
    k = i - shot.start
    z = camera.zoom[k]
    frame = scenery.view(shot.background, *camera.sees(k, scene.h, scene.w, shot.margin))
    for d in shot.distractors:
        scenery.paste(frame, d["sprite"], *camera.screen(k, d["xs"][i], d["ys"][i]), z, z)
    if style == DROP:
        frame[max(0, int(camera.screen(k, 0.0, shot.floor_y)[1])):] *= 0.8  # the floor: slightly darker band
    cx, cy = camera.screen(k, pose.x[i], pose.y[i])
    scenery.paste(frame, shot.sprite, cx, cy, pose.sx[i] * z, pose.sy[i] * z, pose.bright[i])
    if pose.stick is not None:
        _draw_stick(frame, pose.stick, i, cx, cy, shot.sprite_size / 2 * z, z)
    frame = scenery.blur(frame, shot.blur)
    if shot.noise > 0:
        frame = frame + scene.rng.normal(0, shot.noise, size=frame.shape).astype(np.float32)
    if "block_step" in scene.artefacts:
        frame = scenery.block_quantise(frame, scene.artefacts["block_step"])
    if "levels" in scene.artefacts:
        frame = scenery.posterise(frame, scene.artefacts["levels"])
    return np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _compose(scene: _Scene, shots: list[_Shot], style: str, events: np.ndarray) -> np.ndarray:
    """Draws every frame of every shot; returns ``(T, H, W, 3)`` uint8."""
    timing = _Timing.of(events, scene.n, scene.fps)
    frames = np.empty((scene.n, scene.h, scene.w, 3), dtype=np.uint8)
    for shot in shots:
        pose = _POSES[style](scene, shot, timing)
        camera = _camera(scene, shot, pose, timing)
        for i in range(shot.start, shot.stop):
            frames[i] = _draw_frame(scene, shot, style, pose, camera, i)
    return frames


# ---------------------------------------------------------------------------------------------
# the public entry point


def render_pair(wav: np.ndarray, seed: int, *, kind: str = "impact", picture: str | Path | None = None,
                styles: tuple[str, ...] = ALL_STYLES, sample_rate: int = DEFAULT_AUDIO.sample_rate,
                fps: float | None = None, short_side: int | None = None, lead_in: float | None = None,
                max_distractors: int = 5, clean: bool = False, realism: Realism = Realism()) -> RenderedPair:
    """Renders a video whose visible events land on the onsets of ``wav``.

    Args:
        wav: mono float audio at ``sample_rate`` (a library clip).
        seed: determines every random choice; the same inputs and seed give identical output.
        kind: "impact", "call" or "ambience" (the manifest's ``kind``); ambience is rendered
            without events.
        picture: the sounding object's picture (the manifest's ``picture``), else a shape.
        styles: event styles to choose from (held-out styles for evaluation); styles that do
            not suit ``kind`` are skipped unless nothing else is left.
        fps, short_side, lead_in: fix the frame rate, frame size or the silence before the
            clip instead of drawing them at random (a fixed ``lead_in`` also keeps the
            recording whole, framed in silence).
        max_distractors: at most this many silent moving objects per shot.
        clean: one still shot without distractors, noise, blur, camera motion or any trait
            of ``realism`` (tests and debugging).
        realism: how often to draw each trait of real footage (cuts, pans, textures, ...).
    """
    rng = np.random.default_rng(seed)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise V2AError(f"render_pair needs mono audio, got shape {wav.shape}")
    unknown = set(styles) - set(ALL_STYLES) - {STATIC}
    if unknown or not styles:
        raise V2AError(f"unknown styles {sorted(unknown)} (known: {', '.join(ALL_STYLES)})")
    realism = PLAIN if clean else realism

    fps = float(fps or rng.choice(LOW_FRAME_RATES if _chance(rng, realism.low_fps) else FRAME_RATES))
    short = int(short_side or rng.integers(96, 225))
    aspect = float(rng.choice([1.0, 4 / 3, 16 / 9, 3 / 2, 9 / 16, 3 / 4]))
    h, w = (short, int(short * aspect)) if aspect >= 1 else (int(short / aspect), short)
    h, w = h // 2 * 2, w // 2 * 2  # even sizes for yuv420p video
    audio, n, placed = _place_sound(wav, rng, fps, sample_rate, lead_in, realism, ambience=kind == "ambience")

    if kind == "ambience":
        style = STATIC
    else:
        suitable = [s for s in styles if s in STYLES_FOR_KIND.get(kind, ALL_STYLES)] or [s for s in styles if s != STATIC]
        style = str(rng.choice(suitable)) if suitable else STATIC

    # detected on the placed audio, so a sound that starts with the clip is an onset too; an
    # ambience shows none, but its onsets still keep cuts away
    heard = np.round(detect_onsets(audio, sample_rate), 4) if style != STATIC or realism.cuts[0] < 1 else np.zeros(0)
    onsets = heard if style != STATIC else np.zeros(0)
    event_times, events = _visible_events(onsets, fps, n)
    cuts = _draw_cuts(rng, realism, heard, fps, n)

    scene = _Scene(h=h, w=w, fps=fps, n=n, short=short, clean=clean, realism=realism,
                   artefacts=_draw_artefacts(rng, realism), rng=rng)
    bounds = [0, *cuts, n]
    shots = [_draw_shot(scene, a, b, picture, max_distractors) for a, b in zip(bounds[:-1], bounds[1:])]
    frames = _compose(scene, shots, style, events)

    meta = {"seed": seed, "fps": fps, "size": [w, h], "style": style, "kind": kind, **placed,
            "picture": str(picture) if picture else None, "onsets_detected": len(onsets),
            "cuts": [round(c / fps, 4) for c in cuts], "shots": [s.meta for s in shots], "artefacts": scene.artefacts}
    return RenderedPair(frames=frames, times=np.arange(n) / fps, fps=fps, audio=audio, sample_rate=sample_rate,
                        event_times=event_times, event_frames=events, style=style, meta=meta)


def library_recording(library: str | Path, record: dict, max_seconds: float | None = None) -> np.ndarray:
    """A library record's recording, mono, cut to ``max_seconds``."""
    from .library import load_clip

    wav = load_clip(Path(library), record)
    if max_seconds is not None:
        wav = wav[: int(max_seconds * DEFAULT_AUDIO.sample_rate)]
    return wav.mean(1) if wav.ndim == 2 else wav


def render_record(library: str | Path, record: dict, seed: int, *, max_seconds: float | None = None,
                  kind: str | None = None, styles: tuple[str, ...] = ALL_STYLES) -> RenderedPair:
    """Renders a video for a library record: its recording (``library_recording``) with visible
    events on its onsets and its picture, if it has one, as the sounding object.

    The one way a library clip becomes a training, evaluation or preview video; ``kind``
    overrides the record's kind (``"ambience"``: no events).
    """
    picture = Path(library) / record["picture"] if record.get("picture") else None
    return render_pair(library_recording(library, record, max_seconds), seed,
                       kind=kind or record.get("kind", "impact"), picture=picture, styles=styles)


def write_pair_mp4(pair: RenderedPair, path: str | Path, crf: int = 20) -> Path:
    """Writes a rendered pair as an mp4 (H.264 video + AAC audio), for inspection."""
    from ..media.write import write_video

    return write_video(path, pair.frames, pair.fps, audio=pair.audio, sample_rate=pair.sample_rate, crf=crf)
