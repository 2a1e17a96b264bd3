"""Rendered videos in which something visible happens exactly when the sound has an onset.

Timing is what the model learns from these videos (what things sound like comes from the
real recordings), so the renderer's one promise is: every onset detected in the clip is a
visible event on the first frame at or after it (an object lands, is struck, flashes, shakes
or pulses), and nothing else in the video looks like an event. Everything else is varied so
the model cannot rely on it: frame rate (12-60 fps), size and aspect ratio, background,
sprite (the source's own picture where the manifest has one, shapes otherwise), distractor
objects that move smoothly and make no sound, sensor noise, blur and camera shake. Ambience
clips get static scenes: continuous sound, no visible events.

``styles=`` selects the event styles, so an evaluation set can hold out styles the training
set never saw; ``seed`` alone determines the output.

    pair = render_pair(waveform, seed=3, kind="impact", picture="pictures/tuxpaint/duck.png")
    pair.frames, pair.times, pair.audio, pair.event_times
    write_pair_mp4(pair, "example.mp4")
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio import DEFAULT_AUDIO
from ..errors import V2AError

logger = logging.getLogger(__name__)

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
# held-out set) are redone. 2: events on the evaluation's onset detector.
RENDER_VERSION = 2
MIN_EVENT_GAP_FRAMES = 2  # onsets closer than this share one visible event


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
        meta: every random choice made, for reproducibility and debugging.
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


def detect_onsets(wav: np.ndarray, sample_rate: int = DEFAULT_AUDIO.sample_rate) -> np.ndarray:
    """Onset times in seconds: the evaluation's own detector (``v2a.evaluation.metrics``).

    The renderer once used librosa's onset detector; on slow attacks it fired 30-50 ms away
    from the metric's, so even the true soundtrack scored only 0.77 onset F1 against its own
    visible events. One detector for rendering and scoring keeps the ground truth exact.
    """
    from ..evaluation.metrics import detect_onsets as metric_onsets

    return np.round(metric_onsets(wav, sample_rate), 4)


# ---------------------------------------------------------------------------------------------
# drawing helpers (numpy only: fast enough for small frames, no extra dependency)


def _shape_mask(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(size, size)`` float alpha mask of a simple shape."""
    yy, xx = np.mgrid[0:size, 0:size]
    u = (xx + 0.5) / size * 2 - 1
    v = (yy + 0.5) / size * 2 - 1
    r = np.sqrt(u**2 + v**2)
    if kind == "circle":
        m = r <= 0.95
    elif kind == "square":
        m = (np.abs(u) <= 0.85) & (np.abs(v) <= 0.85)
    elif kind == "triangle":
        m = (v <= 0.9) & (v >= -0.9 + 1.8 * np.abs(u))
    elif kind == "ring":
        m = (r <= 0.95) & (r >= 0.55)
    else:  # star
        angle = np.arctan2(v, u)
        points = int(rng.integers(5, 8))
        m = r <= 0.55 + 0.4 * (0.5 + 0.5 * np.cos(points * angle))
    return m.astype(np.float32)


SHAPES = ("circle", "square", "triangle", "ring", "star")


def _make_sprite(rng: np.random.Generator, size: int, picture: str | Path | None) -> np.ndarray:
    """An RGBA float sprite ``(size, size, 4)``: the picture if given and loadable, else a shape."""
    if picture is not None:
        try:
            from PIL import Image

            with Image.open(picture) as img:
                img = img.convert("RGBA")
                img.thumbnail((size, size))
                canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
                canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
                return np.asarray(canvas, dtype=np.float32) / 255.0
        except Exception as err:  # noqa: BLE001 - any unreadable picture falls back to a shape
            logger.warning("picture %s not usable (%s); drawing a shape", picture, err)
    mask = _shape_mask(str(rng.choice(SHAPES)), size, rng)
    colour = rng.uniform(0.15, 1.0, size=3)
    shade = 0.75 + 0.25 * np.linspace(1, 0, size)[:, None]  # simple top-lit shading
    rgb = np.broadcast_to(colour[None, None, :] * shade[:, :, None], (size, size, 3))
    return np.concatenate([rgb, mask[:, :, None]], axis=2).astype(np.float32)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.choice(["solid", "gradient", "noise", "stripes"])
    a, b = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
    if kind == "solid":
        img = np.broadcast_to(a, (h, w, 3))
    elif kind == "gradient":
        t = np.linspace(0, 1, h)[:, None, None]
        img = a * (1 - t) + b * t
        img = np.broadcast_to(img, (h, w, 3))
    elif kind == "noise":
        coarse = rng.uniform(0, 1, size=(h // 16 + 1, w // 16 + 1, 1))
        img = np.kron(coarse, np.ones((16, 16, 1)))[:h, :w]
        img = a * (1 - img) + b * img
    else:
        period = int(rng.integers(8, 40))
        t = ((np.arange(w) // period) % 2).astype(np.float32)[None, :, None]
        img = np.broadcast_to(a * (1 - t) + b * t, (h, w, 3))
    return np.ascontiguousarray(img, dtype=np.float32)


def _paste(frame: np.ndarray, sprite: np.ndarray, cx: float, cy: float, sx: float = 1.0, sy: float = 1.0,
           brightness: float = 0.0) -> None:
    """Alpha-blends ``sprite`` scaled by (sx, sy) centred at (cx, cy) into ``frame`` in place."""
    h, w = frame.shape[:2]
    sh, sw = sprite.shape[:2]
    out_h, out_w = max(1, int(round(sh * sy))), max(1, int(round(sw * sx)))
    y0, x0 = int(round(cy - out_h / 2)), int(round(cx - out_w / 2))
    ys = np.arange(max(0, y0), min(h, y0 + out_h))
    xs = np.arange(max(0, x0), min(w, x0 + out_w))
    if len(ys) == 0 or len(xs) == 0:
        return
    src_y = np.clip(((ys - y0 + 0.5) / out_h * sh).astype(int), 0, sh - 1)
    src_x = np.clip(((xs - x0 + 0.5) / out_w * sw).astype(int), 0, sw - 1)
    patch = sprite[src_y][:, src_x]
    rgb = np.clip(patch[..., :3] + brightness, 0, 1)
    alpha = patch[..., 3:4]
    region = frame[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
    region[:] = region * (1 - alpha) + rgb * alpha


def _draw_stick(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, width: float, colour: np.ndarray) -> None:
    """A thick line segment (the striking stick)."""
    h, w = frame.shape[:2]
    lo_x, hi_x = int(max(0, min(x0, x1) - width)), int(min(w, max(x0, x1) + width + 1))
    lo_y, hi_y = int(max(0, min(y0, y1) - width)), int(min(h, max(y0, y1) + width + 1))
    if lo_x >= hi_x or lo_y >= hi_y:
        return
    yy, xx = np.mgrid[lo_y:hi_y, lo_x:hi_x]
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / (dx * dx + dy * dy + 1e-9), 0, 1)
    dist = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
    mask = (dist <= width / 2)[..., None]
    region = frame[lo_y:hi_y, lo_x:hi_x]
    region[:] = np.where(mask, colour, region)


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return img
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(img, sigma=(sigma, sigma, 0))


# ---------------------------------------------------------------------------------------------
# motion: per-frame state of the sounding object, driven by the event frames


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
class _Scene:
    h: int
    w: int
    fps: float
    n: int
    background: np.ndarray
    sprite: np.ndarray
    sprite_size: int
    distractors: list
    noise: float
    blur: float
    shake_amp: float
    rng: np.random.Generator


def _distractor_positions(scene: _Scene, d: dict) -> tuple[np.ndarray, np.ndarray]:
    """Smooth paths (constant velocity wrapping around, or circles): motion but never an event."""
    t = np.arange(scene.n) / scene.fps
    if d["path"] == "linear":
        x = (d["x0"] + d["vx"] * t) % (scene.w + 2 * d["size"]) - d["size"]
        y = np.full_like(t, d["y0"])
    else:
        x = d["x0"] + d["radius"] * np.cos(d["omega"] * t + d["phase"])
        y = d["y0"] + d["radius"] * np.sin(d["omega"] * t + d["phase"])
    return x, y


def _compose(scene: _Scene, style: str, events: np.ndarray, base_x: float, floor_y: float) -> np.ndarray:
    """Draws every frame of the scene; returns ``(T, H, W, 3)`` uint8."""
    n, rng = scene.n, scene.rng
    since = _since_last_event(n, events)
    decay = np.exp(-since / max(1.0, 0.12 * scene.fps))  # ~120 ms visual decay after each event
    decay[np.isinf(since)] = 0.0
    half = scene.sprite_size / 2

    x = np.full(n, base_x)
    y = np.full(n, floor_y - half)
    sx = np.ones(n)
    sy = np.ones(n)
    bright = np.zeros(n)
    stick = None
    if style == DROP:
        lift = (floor_y - half - scene.sprite_size * 0.6) * _drop_heights(n, events, rng)
        y = floor_y - half - lift
        squash = np.where(since <= 1, 0.25 * (1 - since / 2), 0)  # squash on touchdown
        sy = 1 - squash
        sx = 1 + squash * 0.8
        y = y + half * (1 - sy)  # keep it on the floor while squashed
    elif style == STRIKE:
        y = np.full(n, scene.h * 0.55)
        # stick angle: 0 = touching the object; swings back after a hit, returns for the next
        swing = np.ones(n)
        next_event = np.full(n, np.inf)
        for e in events[::-1]:
            next_event[: e + 1] = e - np.arange(e + 1)
        wind_up = np.clip(next_event / max(2.0, 0.25 * scene.fps), 0, 1)
        back = np.clip(since / max(2.0, 0.25 * scene.fps), 0, 1)
        swing = np.minimum(wind_up, np.where(np.isinf(since), 1.0, back))
        stick = {"swing": swing, "colour": rng.uniform(0, 1, size=3), "width": max(3.0, scene.sprite_size * 0.12),
                 "length": scene.sprite_size * 1.6, "side": rng.choice([-1, 1])}
        x = base_x + (since <= 1) * stick["side"] * -0.08 * scene.sprite_size  # knocked aside
        bright = 0.35 * decay
    elif style == FLASH:
        y = np.full(n, scene.h * rng.uniform(0.35, 0.65))
        bright = 0.7 * decay
    elif style == SHAKE:
        y = np.full(n, scene.h * rng.uniform(0.35, 0.65))
        amp = 0.18 * scene.sprite_size * decay
        jitter = rng.uniform(-1, 1, size=(n, 2))
        x = x + amp * jitter[:, 0]
        y = y + amp * jitter[:, 1]
    elif style == PULSE:
        y = np.full(n, scene.h * rng.uniform(0.35, 0.65))
        sx = sy = 1 + 0.45 * decay
        bright = 0.15 * decay
    # STATIC: the object just sits there

    frames = np.empty((n, scene.h, scene.w, 3), dtype=np.uint8)
    drift = rng.uniform(-2, 2, size=2)
    for i in range(n):
        # camera shake is a smooth slow wander, so it reads as camera motion, not as an event
        t = i / scene.fps
        ox = scene.shake_amp * np.sin(2 * np.pi * 0.7 * t + drift[0])
        oy = scene.shake_amp * np.sin(2 * np.pi * 0.5 * t + drift[1])
        frame = np.roll(scene.background, (int(round(oy)), int(round(ox))), axis=(0, 1)).copy()
        for d in scene.distractors:
            _paste(frame, d["sprite"], d["xs"][i] + ox, d["ys"][i] + oy)
        if style == DROP:
            frame[int(floor_y + oy):] *= 0.8  # the floor: slightly darker band
        _paste(frame, scene.sprite, x[i] + ox, y[i] + oy, sx[i], sy[i], bright[i])
        if stick is not None:
            ang = stick["swing"][i] * 1.2  # radians away from contact
            hx = x[i] + ox + stick["side"] * half  # contact point at the object's side
            hy = y[i] + oy
            ex = hx + stick["side"] * stick["length"] * np.cos(ang - 0.4)
            ey = hy - stick["length"] * np.sin(ang + 0.2)
            _draw_stick(frame, hx + stick["side"] * np.sin(ang) * half, hy - np.sin(ang) * half, ex, ey,
                        stick["width"], stick["colour"])
        frame = _blur(frame, scene.blur)
        if scene.noise > 0:
            frame = frame + rng.normal(0, scene.noise, size=frame.shape).astype(np.float32)
        frames[i] = np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return frames


# ---------------------------------------------------------------------------------------------
# the public entry point


def render_pair(wav: np.ndarray, seed: int, *, kind: str = "impact", picture: str | Path | None = None,
                styles: tuple[str, ...] = ALL_STYLES, sample_rate: int = DEFAULT_AUDIO.sample_rate,
                fps: float | None = None, short_side: int | None = None, lead_in: float | None = None,
                max_distractors: int = 3, clean: bool = False) -> RenderedPair:
    """Renders a video whose visible events land on the onsets of ``wav``.

    Args:
        wav: mono float audio at ``sample_rate`` (a library clip).
        seed: determines every random choice; the same inputs and seed give identical output.
        kind: "impact", "call" or "ambience" (the manifest's ``kind``); ambience is rendered as
            a static scene with no events.
        picture: the sounding object's picture (the manifest's ``picture``), else a shape.
        styles: event styles to choose from (held-out styles for evaluation); styles that do
            not suit ``kind`` are skipped unless nothing else is left.
        fps, short_side, lead_in: fix the frame rate, frame size or the silence before the
            clip instead of drawing them at random.
        max_distractors: at most this many silent moving objects.
        clean: no distractors, noise, blur or camera shake (tests and debugging).
    """
    rng = np.random.default_rng(seed)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim != 1:
        raise V2AError(f"render_pair needs mono audio, got shape {wav.shape}")
    unknown = set(styles) - set(ALL_STYLES) - {STATIC}
    if unknown or not styles:
        raise V2AError(f"unknown styles {sorted(unknown)} (known: {', '.join(ALL_STYLES)})")

    fps = float(fps or rng.choice([12, 15, 24, 25, 30, 48, 50, 60]))
    short = int(short_side or rng.integers(96, 225))
    aspect = float(rng.choice([1.0, 4 / 3, 16 / 9, 3 / 2, 9 / 16, 3 / 4]))
    h, w = (short, int(short * aspect)) if aspect >= 1 else (int(short / aspect), short)
    h, w = h // 2 * 2, w // 2 * 2  # even sizes for yuv420p video
    # silence before the clip, so sounds do not always start at t = 0
    lead = float(lead_in if lead_in is not None else rng.uniform(0.1, 1.5))
    tail = float(rng.uniform(0.1, 0.8))
    n = int(np.ceil((lead + len(wav) / sample_rate + tail) * fps))
    audio = np.zeros(int(round(n / fps * sample_rate)), dtype=np.float32)
    start = int(round(lead * sample_rate))
    audio[start:start + len(wav)] = wav[: max(0, len(audio) - start)]

    if kind == "ambience":
        style = STATIC
    else:
        suitable = [s for s in styles if s in STYLES_FOR_KIND.get(kind, ALL_STYLES)] or [s for s in styles if s != STATIC]
        style = str(rng.choice(suitable)) if suitable else STATIC

    # detected on the placed audio, so a sound that starts with the clip is an onset too
    onsets = detect_onsets(audio, sample_rate) if style != STATIC else np.zeros(0)
    # the first frame at or after each onset shows it; merge onsets a frame or two apart
    frames_idx = np.ceil(onsets * fps - 1e-6).astype(int)
    keep_t, keep_f = [], []
    for t, f in zip(onsets, frames_idx):
        if f >= n:
            continue
        if keep_f and f - keep_f[-1] < MIN_EVENT_GAP_FRAMES:
            continue
        keep_t.append(t)
        keep_f.append(f)
    events = np.asarray(keep_f, dtype=int)

    sprite_size = int(short * rng.uniform(0.25, 0.45)) // 2 * 2
    sprite = _make_sprite(rng, sprite_size, picture)
    distractors = []
    for _ in range(0 if clean else int(rng.integers(0, max_distractors + 1))):
        d = {"size": int(short * rng.uniform(0.1, 0.25)), "path": rng.choice(["linear", "circle"]),
             "x0": rng.uniform(0, w), "y0": rng.uniform(0, h), "vx": rng.uniform(-1, 1) * w * 0.4,
             "radius": rng.uniform(5, short * 0.3), "omega": rng.uniform(0.5, 3.0), "phase": rng.uniform(0, 6.3)}
        d["sprite"] = _make_sprite(rng, d["size"], None)
        distractors.append(d)
    scene = _Scene(h=h, w=w, fps=fps, n=n, background=_background(rng, h, w), sprite=sprite, sprite_size=sprite_size,
                   distractors=distractors, noise=0.0 if clean else float(rng.choice([0.0, rng.uniform(0.005, 0.04)])),
                   blur=0.0 if clean else float(rng.choice([0.0, rng.uniform(0.3, 1.5)])),
                   shake_amp=0.0 if clean else float(rng.choice([0.0, rng.uniform(0.5, 3.0)])), rng=rng)
    for d in distractors:
        d["xs"], d["ys"] = _distractor_positions(scene, d)
    base_x = w * rng.uniform(0.3, 0.7)
    floor_y = h * rng.uniform(0.75, 0.92)
    frames = _compose(scene, style, events, base_x, floor_y)

    meta = {"seed": seed, "fps": fps, "size": [w, h], "style": style, "kind": kind, "lead_in": lead,
            "picture": str(picture) if picture else None, "distractors": len(distractors), "noise": scene.noise,
            "blur": scene.blur, "camera_shake": scene.shake_amp, "onsets_detected": len(onsets)}
    return RenderedPair(frames=frames, times=np.arange(n) / fps, fps=fps, audio=audio, sample_rate=sample_rate,
                        event_times=np.asarray(keep_t, dtype=np.float64), event_frames=events, style=style, meta=meta)


def write_pair_mp4(pair: RenderedPair, path: str | Path, crf: int = 20) -> Path:
    """Writes a rendered pair as an mp4 (H.264 video + AAC audio), for inspection."""
    from ..video import encode_video

    return encode_video(path, pair.frames, pair.fps, audio=pair.audio, sample_rate=pair.sample_rate, crf=crf)
