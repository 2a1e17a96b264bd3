"""Shared fixtures: short videos made with PyAV, and the tiny ``debug`` pipeline."""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from v2a.media import write as media_write

warnings.filterwarnings("ignore", category=FutureWarning)


def moving_square_frames(n: int, width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    """Frames of a white square sliding over a dark background, with a marker in the top-left corner."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, height, width, 3), 20, dtype=np.uint8)
    frames += rng.integers(0, 10, frames.shape, dtype=np.uint8)
    for i in range(n):
        x = (i * 3) % (width - 8)
        frames[i, 20:28, x : x + 8] = 255
        frames[i, :6, :6] = (255, 0, 0)
    return frames


def write_video(path: Path, frames: np.ndarray, fps: int = 25, pts: list[int] | None = None,
                time_base: Fraction | None = None, rotation: int | None = None, codec: str = "libx264",
                audio_seconds: float | None = None) -> Path:
    """Encodes frames to a video file (the package's own writer); ``pts`` in ``time_base`` units
    gives variable frame rates, ``audio_seconds`` adds a 440 Hz tone."""
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(audio_seconds * 22050)) / 22050) if audio_seconds
            else None)
    return media_write.write_video(path, frames, fps, audio=tone, codec=codec, pts=pts, time_base=time_base,
                                   rotation=rotation)


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=22050, layout="mono")
        media_write.encode_audio(container, stream, np.zeros(int(seconds * 22050), np.float32), 22050)
    return path


def video_packets(path: Path) -> list[tuple[bytes, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [(bytes(p), p.pts) for p in container.demux(stream) if p.size > 0]


@pytest.fixture
def clip_path(tmp_path: Path) -> Path:
    """A 2-second 25 fps H.264 clip."""
    return write_video(tmp_path / "clip.mp4", moving_square_frames(50))


@pytest.fixture(scope="session")
def debug_pipe():
    from v2a.presets import debug_pipeline

    pipe = debug_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="session")
def reference_pipe():
    """The debug pipeline with a transformer that takes reference sounds (and so sound banks)."""
    from v2a.presets import debug_pipeline

    pipe = debug_pipeline(reference_tokens=3)
    pipe.set_progress_bar_config(disable=True)
    return pipe
