"""Spectrogram pictures for people to look at (training samples, the evaluation grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _colour(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB uint8 on a dark-blue / orange / yellow ramp."""
    stops = np.array([[8, 8, 32], [60, 20, 110], [200, 60, 60], [250, 160, 40], [255, 250, 200]], dtype=np.float32)
    pos = np.clip(values, 0, 1) * (len(stops) - 1)
    low = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - low)[..., None]
    return (stops[low] * (1 - frac) + stops[low + 1] * frac).astype(np.uint8)


def spectrogram_grid(rows: list[list[tuple[str, np.ndarray]]], path: str | Path, frame_rate: float,
                     events: list[np.ndarray | None] | None = None, floor: float = -11.5, ceiling: float = 2.0,
                     pixels_per_second: float = 86.0) -> Path:
    """Writes a PNG grid: one row per clip, one column per version (e.g. generated, reference).

    Args:
        rows: per clip, a list of ``(label, log_mel (frames, n_mels))``.
        path: the PNG to write.
        frame_rate: mel frames per second.
        events: per row, event times in seconds drawn as vertical white ticks on every panel.
    """
    from PIL import Image, ImageDraw

    panels, height = [], 0
    for r, row in enumerate(rows):
        images = []
        for label, mel in row:
            scaled = (np.asarray(mel, dtype=np.float32).T[::-1] - floor) / (ceiling - floor)  # low freqs at the bottom
            img = Image.fromarray(_colour(scaled)).resize(
                (max(1, int(mel.shape[0] / frame_rate * pixels_per_second)), 2 * mel.shape[1]), Image.NEAREST)
            draw = ImageDraw.Draw(img)
            for t in (events[r] if events and events[r] is not None else []):
                x = int(t * pixels_per_second)
                draw.line([(x, 0), (x, 8)], fill=(255, 255, 255), width=2)
                draw.line([(x, img.height - 8), (x, img.height)], fill=(255, 255, 255), width=2)
            draw.text((4, 4), label, fill=(255, 255, 255))
            images.append(img)
        panels.append(images)
        height += max(i.height for i in images) + 6
    width = max(sum(i.width + 6 for i in images) for images in panels)
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    y = 0
    for images in panels:
        x = 0
        for img in images:
            canvas.paste(img, (x, y))
            x += img.width + 6
        y += max(i.height for i in images) + 6
    path = Path(path)
    canvas.save(path)
    return path
