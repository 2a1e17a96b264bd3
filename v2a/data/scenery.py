"""What the renderer draws: backgrounds, sprites, sticks, and the camera's and codec's marks.

Pictures are float32 ``(H, W, 3)`` in [0, 1] (sprites RGBA ``(S, S, 4)``), drawn with numpy and
scipy only: fast enough for the small frames of training renders, and no extra dependency.
Everything random takes the caller's generator, so a render's seed decides it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SHAPES = ("circle", "square", "triangle", "ring", "star")
# flat backgrounds: the only kinds clean renders draw
PLAIN_BACKGROUNDS = ("solid", "gradient", "noise", "stripes")
# real footage is rarely flat: fractal texture, textured gradients, wallpaper, blurred scenery
TEXTURED_BACKGROUNDS = ("octaves", "textured_gradient", "tiles", "scenery")


# ---------------------------------------------------------------------------------------------
# sprites


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


def _load_picture(picture: str | Path, size: int) -> np.ndarray | None:
    """The picture as an RGBA sprite, centred on a ``size`` square; None if it cannot be read."""
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
        return None


def make_sprite(rng: np.random.Generator, size: int, picture: str | Path | None, cartoon: bool = False) -> np.ndarray:
    """An RGBA float sprite ``(size, size, 4)``: the picture if given and loadable, else a shape.

    A shape is shaded from the top, or with ``cartoon`` drawn as cartoons draw things: one
    flat colour inside a dark outline.
    """
    if picture is not None:
        loaded = _load_picture(picture, size)
        if loaded is not None:
            return loaded
    mask = _shape_mask(str(rng.choice(SHAPES)), size, rng)
    colour = rng.uniform(0.15, 1.0, size=3)
    if cartoon:
        from scipy.ndimage import binary_erosion

        fill = binary_erosion(mask > 0, iterations=max(1, size // 14))  # the outline stays inside the shape
        rgb = np.where(fill[:, :, None], colour, colour * 0.15)
    else:
        shade = 0.75 + 0.25 * np.linspace(1, 0, size)[:, None]  # simple top-lit shading
        rgb = np.broadcast_to(colour[None, None, :] * shade[:, :, None], (size, size, 3))
    return np.concatenate([rgb, mask[:, :, None]], axis=2).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# backgrounds


def _plain(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    a, b = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
    if kind == "solid":
        return np.broadcast_to(a, (h, w, 3))
    if kind == "gradient":
        t = np.linspace(0, 1, h)[:, None, None]
        return np.broadcast_to(a * (1 - t) + b * t, (h, w, 3))
    if kind == "noise":
        coarse = rng.uniform(0, 1, size=(h // 16 + 1, w // 16 + 1, 1))
        img = np.kron(coarse, np.ones((16, 16, 1)))[:h, :w]
        return a * (1 - img) + b * img
    period = int(rng.integers(8, 40))  # stripes
    t = ((np.arange(w) // period) % 2).astype(np.float32)[None, :, None]
    return np.broadcast_to(a * (1 - t) + b * t, (h, w, 3))


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """``(h, w)`` random values on a grid of ``cell`` pixels, smoothly interpolated between."""
    from scipy.ndimage import zoom

    grid = rng.uniform(0, 1, size=(h // cell + 3, w // cell + 3))
    return zoom(grid, cell, order=3, mode="nearest")[:h, :w]


def _fractal(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """``(h, w)`` multi-octave noise in [0, 1]: each octave half the cell and half the weight."""
    total, weight = np.zeros((h, w)), 1.0
    while cell >= 2:
        total += weight * _smooth_noise(rng, h, w, cell)
        cell, weight = cell // 2, weight * 0.5
    return (total - total.min()) / (np.ptp(total) + 1e-9)


def _palette(rng: np.random.Generator, value: np.ndarray, colours: int = 3) -> np.ndarray:
    """Maps values in [0, 1] through a ramp of random colours: ``(h, w, 3)``."""
    stops = rng.uniform(0, 1, size=(colours, 3))
    pos = np.linspace(0, 1, colours)
    return np.stack([np.interp(value, pos, stops[:, c]) for c in range(3)], axis=-1)


def _octaves(rng, h, w):
    return _palette(rng, _fractal(rng, h, w, int(rng.integers(16, 97))))


def _textured_gradient(rng, h, w):
    t = np.linspace(0, 1, h)[:, None, None]
    a, b = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
    grain = _fractal(rng, h, w, int(rng.integers(4, 17)))[:, :, None] - 0.5
    return a * (1 - t) + b * t + rng.uniform(0.05, 0.25) * grain


def _tiles(rng, h, w):
    """Wallpaper, floor tiles, bricks or polka dots."""
    s = int(rng.integers(6, 33))
    yy, xx = np.mgrid[0:h, 0:w]
    pattern = rng.choice(["checker", "bricks", "dots"])
    if pattern == "checker":
        t = (yy // s + xx // s) % 2
    elif pattern == "bricks":
        shifted = xx + (yy // s % 2) * s  # every other row of bricks is offset by half a brick
        t = (yy % s < max(1, s // 6)) | (shifted % (2 * s) < max(1, s // 6))
    else:
        t = np.hypot(yy % s - s / 2, xx % s - s / 2) < s * rng.uniform(0.2, 0.45)
    a, b = rng.uniform(0, 1, size=3), rng.uniform(0, 1, size=3)
    t = t.astype(np.float32)[:, :, None]
    return a * (1 - t) + b * t + 0.05 * (_smooth_noise(rng, h, w, 8)[:, :, None] - 0.5)


def _scenery(rng, h, w):
    """A photograph-like out-of-focus scene: sky, ground, and soft blobs (trees, hills, clouds)."""
    from scipy.ndimage import gaussian_filter

    horizon = h * rng.uniform(0.3, 0.75)
    t = np.linspace(0, 1, h)[:, None, None]
    sky_top, sky_low, ground = rng.uniform(0, 1, size=(3, 3))
    img = np.where(np.arange(h)[:, None, None] < horizon, sky_top * (1 - t) + sky_low * t, ground * (1.2 - 0.4 * t))
    img = np.broadcast_to(img, (h, w, 3)).copy()
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(int(rng.integers(3, 10))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(0.05, 0.3) * h, rng.uniform(0.05, 0.3) * w
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        img[inside] = rng.uniform(0, 1, size=3)
    img = gaussian_filter(img, sigma=(rng.uniform(1, 4) * max(h, w) / 100,) * 2 + (0,))
    return img + 0.04 * (_fractal(rng, h, w, 8)[:, :, None] - 0.5)


_TEXTURED = {"octaves": _octaves, "textured_gradient": _textured_gradient, "tiles": _tiles, "scenery": _scenery}


def background(rng: np.random.Generator, h: int, w: int, kind: str) -> np.ndarray:
    """A ``(h, w, 3)`` float32 background of ``kind`` (one of PLAIN_ and TEXTURED_BACKGROUNDS)."""
    img = _TEXTURED[kind](rng, h, w) if kind in _TEXTURED else _plain(kind, rng, h, w)
    return np.ascontiguousarray(np.clip(img, 0, 1), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# drawing into a frame


def paste(frame: np.ndarray, sprite: np.ndarray, cx: float, cy: float, sx: float = 1.0, sy: float = 1.0,
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


def draw_stick(frame: np.ndarray, x0: float, y0: float, x1: float, y1: float, width: float, colour: np.ndarray) -> None:
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


def _resample(img: np.ndarray, coords: np.ndarray, axis: int) -> np.ndarray:
    """``img`` linearly interpolated at fractional ``coords`` along ``axis`` (0 or 1), clamped at the edges."""
    size = img.shape[axis]
    lo = np.clip(np.floor(coords).astype(int), 0, size - 1)
    hi = np.minimum(lo + 1, size - 1)
    frac = np.clip(coords - lo, 0, 1).astype(np.float32)
    if np.all(np.diff(lo) == 1) and hi[-1] == lo[-1] + 1 and np.all(frac == frac[0]):
        # a camera that shifts without zooming (most frames): slices, which are much faster than gathers
        def part(start):
            return img[start:start + len(coords)] if axis == 0 else img[:, start:start + len(coords)]

        return part(lo[0]) if frac[0] == 0 else part(lo[0]) * (1 - frac[0]) + part(lo[0] + 1) * frac[0]
    f = frac[:, None, None] if axis == 0 else frac[None, :, None]
    return np.take(img, lo, axis) * (1 - f) + np.take(img, hi, axis) * f


def view(img: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A new array of ``img`` sampled at fractional ``rows`` x ``cols`` (bilinear, clamped at the
    edges): a camera's view. Whole-pixel coordinates return the pixels exactly, so a still
    camera shows the background as it is."""
    out = _resample(_resample(img, rows, 0), cols, 1)
    return out.copy() if np.shares_memory(out, img) else out


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0.05:
        return img
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(img, sigma=(sigma, sigma, 0))


# ---------------------------------------------------------------------------------------------
# codec artefacts: real clips are compressed, often hard


def block_quantise(frame: np.ndarray, step: float) -> np.ndarray:
    """JPEG/MPEG-like loss: each 8x8 block's DCT coefficients rounded to a step that grows with
    frequency, which leaves visible block edges and ringing. Edge pixels past the last whole
    block are kept as they are."""
    from scipy.fft import dctn, idctn

    h8, w8 = frame.shape[0] // 8 * 8, frame.shape[1] // 8 * 8
    blocks = frame[:h8, :w8].reshape(h8 // 8, 8, w8 // 8, 8, 3)
    freq = np.arange(8)
    q = (step * (1 + freq[:, None] + freq[None, :])).astype(np.float32)[None, :, None, :, None]
    coef = np.round(dctn(blocks, axes=(1, 3), norm="ortho") / q) * q
    out = frame.copy()
    out[:h8, :w8] = idctn(coef, axes=(1, 3), norm="ortho").reshape(h8, w8, 3)
    return out


def posterise(frame: np.ndarray, levels: int) -> np.ndarray:
    """Colours quantised to ``levels + 1`` values per channel (banding, as in low-bit-rate or GIF clips)."""
    return np.round(np.clip(frame, 0, 1) * levels) / levels
