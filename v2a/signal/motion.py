"""Frame-aligned motion features: where in time something visible happens.

Computed the same way for rendered training videos and for real video, so the timing the
transformer learns from synthetic clips carries over. Per frame, on a small grey image split
into a GRID x GRID grid of cells, we measure how much each cell changed (motion energy) and
a cheap normal-flow estimate of its horizontal and vertical velocity. An impact shows up as
velocity that stops or reverses, a flash as a global brightness jump, a shake as every cell
moving at once. Frames are binned onto the audio-latent clock by their timestamps, so
variable frame rates and any fps land on the right latent frames.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

GRID = 4
ANALYSIS_SIZE = 64
# per cell: energy, vx, vy; then global brightness change and "a frame landed in this bin"
NUM_MOTION_FEATURES = 3 * GRID * GRID + 2


_LUMA = torch.tensor([0.299, 0.587, 0.114])
# frames converted to float at a time: a whole clip at once is hundreds of MB of float32 and
# runs at memory speed (~5x slower than chunks that stay in cache)
_CHUNK_FRAMES = 8


def _grey_small(frames: np.ndarray) -> torch.Tensor:
    """``(T, S, S)`` grey frames in [0, 1], area-downsampled to ``ANALYSIS_SIZE``."""
    chunks = []
    for start in range(0, len(frames), _CHUNK_FRAMES):
        x = torch.from_numpy(np.ascontiguousarray(frames[start:start + _CHUNK_FRAMES])).float()  # (t, H, W, 3)
        grey = (x @ _LUMA)[:, None] / 255.0
        chunks.append(F.interpolate(grey, size=(ANALYSIS_SIZE, ANALYSIS_SIZE), mode="area")[:, 0])
    return torch.cat(chunks) if chunks else torch.zeros(0, ANALYSIS_SIZE, ANALYSIS_SIZE)


def frame_motion(frames: np.ndarray) -> np.ndarray:
    """Per-frame motion measurements, ``(T, NUM_MOTION_FEATURES - 1)``; frame 0 is all zeros."""
    return _changes(_grey_small(frames), previous=None).numpy()


def _changes(grey: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
    """Motion measurements ``(T, NUM_MOTION_FEATURES - 1)`` of each of the grey frames ``(T, S, S)``
    against the frame before it: ``previous`` ``(S, S)`` before the first, or None when the first
    is the clip's own first frame (all zeros: nothing changed yet)."""
    if previous is None:
        first = torch.zeros(min(1, len(grey)), NUM_MOTION_FEATURES - 1)
        return torch.cat([first, _changes(grey[1:], grey[0])]) if len(grey) > 1 else first
    prev, cur = torch.cat([previous[None], grey[:-1]]), grey
    it = cur - prev  # temporal derivative
    mid = 0.5 * (cur + prev)
    ix = torch.zeros_like(mid)
    iy = torch.zeros_like(mid)
    ix[:, :, 1:-1] = 0.5 * (mid[:, :, 2:] - mid[:, :, :-2])
    iy[:, 1:-1, :] = 0.5 * (mid[:, 2:, :] - mid[:, :-2, :])
    cells = (len(it), GRID, ANALYSIS_SIZE // GRID, GRID, ANALYSIS_SIZE // GRID)

    def cell_sum(v):
        return v.reshape(cells).sum(dim=(2, 4)).flatten(1)  # (T, GRID*GRID)

    grad2 = cell_sum(ix * ix + iy * iy) + 1e-3
    # least-squares normal flow per cell: v = -sum(It * grad I) / sum(|grad I|^2)
    vx = -cell_sum(it * ix) / grad2
    vy = -cell_sum(it * iy) / grad2
    energy = it.abs().reshape(cells).mean(dim=(2, 4)).flatten(1)
    brightness = (cur.mean(dim=(1, 2)) - prev.mean(dim=(1, 2)))[:, None]
    return torch.cat([energy * 10.0, vx.clamp(-4, 4), vy.clamp(-4, 4), brightness * 10.0], dim=1)


class MotionStream:
    """:func:`motion_features` computed as the frames arrive: :meth:`add` chunks of frames in
    order, then :meth:`features`. Holds one small grey frame and the per-bin sums, never the
    frames; the numbers are the same as from the whole clip at once.

    Args:
        latent_rate: latent frames per second.
    """

    def __init__(self, latent_rate: float):
        self.latent_rate = latent_rate
        self.previous: torch.Tensor | None = None  # the last frame added, grey and small
        self.sums = np.zeros((0, NUM_MOTION_FEATURES - 1), dtype=np.float32)  # per latent frame
        self.counts = np.zeros(0, dtype=np.float32)  # frames in each latent frame's bin

    def add(self, frames: np.ndarray, times: np.ndarray) -> None:
        """The next ``(t, H, W, 3)`` uint8 frames and their ``(t,)`` times in seconds."""
        if len(frames) == 0:
            return
        grey = _grey_small(frames)
        motion = _changes(grey, self.previous).numpy()
        self.previous = grey[-1]
        bins = np.floor(np.asarray(times) * self.latent_rate + 1e-6).astype(np.int64)
        if bins.max() >= len(self.counts):
            grow = max(bins.max() + 1, 2 * len(self.counts)) - len(self.counts)
            self.sums = np.concatenate([self.sums, np.zeros((grow, self.sums.shape[1]), np.float32)])
            self.counts = np.concatenate([self.counts, np.zeros(grow, np.float32)])
        np.add.at(self.sums, bins, motion)
        np.add.at(self.counts, bins, 1.0)

    def features(self, num_latent_frames: int) -> np.ndarray:
        """``(num_latent_frames, NUM_MOTION_FEATURES)`` float32, as :func:`motion_features` gives them."""
        out = np.zeros((num_latent_frames, NUM_MOTION_FEATURES), dtype=np.float32)
        counts = np.zeros(num_latent_frames, dtype=np.float32)
        filled = min(num_latent_frames, len(self.counts))
        out[:filled, :-1], counts[:filled] = self.sums[:filled], self.counts[:filled]
        # average the frames of a bin (high fps); a bin with no frame (low fps) stays zero and says so
        out[:, :-1] /= np.maximum(counts, 1.0)[:, None]
        out[:, -1] = np.minimum(counts, 1.0)
        return out


def motion_features(frames: np.ndarray, times: np.ndarray, num_latent_frames: int, latent_rate: float) -> np.ndarray:
    """Motion features binned onto the audio-latent clock.

    Args:
        frames: ``(T, H, W, 3)`` uint8 frames.
        times: ``(T,)`` frame times in seconds from the clip start.
        num_latent_frames: length of the audio latent.
        latent_rate: latent frames per second.

    Returns:
        ``(num_latent_frames, NUM_MOTION_FEATURES)`` float32. A change between two frames is
        placed at the later frame's time, the moment it becomes visible.
    """
    stream = MotionStream(latent_rate)
    stream.add(frames, times)
    return stream.features(num_latent_frames)
