"""Folders of real videos with sound (VGGSound-style), so users with real data train on it.

    folder/
        clip001.mp4
        sub/clip002.mov
        captions.csv        # optional: file,caption (file relative to the folder)

Each item is the decoded video (:func:`v2a.media.decode.decode_video`, the same code inference
uses), its soundtrack as 22,050 Hz mono float32 and a caption: from the CSV when it names the
file, else from the file's folder name (VGGSound-style class folders), else ``None``.
Unreadable files are logged and skipped, so one bad file never stops a training run.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..signal.audio import DEFAULT_AUDIO, resample
from ..errors import V2AError
from ..media.decode import VideoClip, decode_video, is_video_path, open_container

logger = logging.getLogger(__name__)


@dataclass
class RealExample:
    path: Path
    video: VideoClip
    audio: np.ndarray  # (samples,) float32 at sample_rate, covering the video's duration
    sample_rate: int
    caption: str | None


def read_captions(csv_path: Path) -> dict[str, str]:
    """``{relative file: caption}`` from a CSV with ``file,caption`` columns (header optional)."""
    captions = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            if len(row) < 2 or not row[0].strip():
                continue
            if row[0].strip().lower() in ("file", "path", "filename") and row[1].strip().lower() in ("caption", "label", "text"):
                continue  # header
            captions[Path(row[0].strip()).as_posix()] = row[1].strip()
    return captions


def decode_audio_track(path: str | Path, sample_rate: int = DEFAULT_AUDIO.sample_rate) -> np.ndarray:
    """The first audio stream of a media file as mono float32 at ``sample_rate``.

    Raises:
        V2AError: the file has no audio stream or it cannot be decoded.
    """
    import av

    path = Path(path)
    chunks = []
    rate = None
    with open_container(path) as container:
        if not container.streams.audio:
            raise V2AError(f"{path}: has no audio stream")
        stream = container.streams.audio[0]
        # let FFmpeg downmix and convert: float planar mono at the stream's own rate
        resampler = av.AudioResampler(format="flt", layout="mono", rate=stream.rate or sample_rate)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    rate = out.sample_rate
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as err:
            raise V2AError(f"{path}: the audio stream is corrupt ({err})") from None
    if not chunks:
        raise V2AError(f"{path}: the audio stream holds no samples")
    audio = np.concatenate(chunks).astype(np.float32)
    return resample(audio, int(rate or sample_rate), sample_rate).astype(np.float32)


def iter_real_folder(folder: str | Path, captions_csv: str | Path | None = None,
                     sample_rate: int = DEFAULT_AUDIO.sample_rate) -> Iterator[RealExample]:
    """Yields every readable video with sound under ``folder`` (sorted, recursive).

    ``captions_csv`` defaults to ``folder/captions.csv`` when that exists.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise V2AError(f"{folder}: not a folder")
    if captions_csv is None and (folder / "captions.csv").exists():
        captions_csv = folder / "captions.csv"
    captions = read_captions(Path(captions_csv)) if captions_csv else {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and is_video_path(p)):
        rel = path.relative_to(folder).as_posix()
        try:
            video = decode_video(path)
            audio = decode_audio_track(path, sample_rate)
        except V2AError as err:
            logger.warning("skipping %s", err)
            continue
        # the soundtrack covers exactly the video's duration: pad or cut
        n = int(round(video.duration * sample_rate))
        audio = np.pad(audio, (0, max(0, n - len(audio))))[:n]
        caption = captions.get(rel) or captions.get(path.name)
        if caption is None and path.parent != folder:
            caption = path.parent.name.replace("_", " ")
        yield RealExample(path=path, video=video, audio=audio, sample_rate=sample_rate, caption=caption)
