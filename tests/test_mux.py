from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf

from conftest import moving_square_frames, video_packets, write_video
from v2a.errors import V2AError
from v2a.media.mux import atomic_output, mux_soundtrack, write_audio

RATE = 22050


def tone(seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 330 * np.arange(int(seconds * RATE)) / RATE)).astype(np.float32)


def audio_streams(path):
    with av.open(str(path)) as container:
        return [(s.codec_context.name, float(s.duration * s.time_base) if s.duration else None)
                for s in container.streams.audio]


def decoded_audio_seconds(path, index=0):
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.sample_rate


@pytest.mark.parametrize("ext,codec", [(".mp4", "aac"), (".mov", "aac"), (".mkv", "aac"), (".webm", "opus")])
def test_mux_copies_video_and_covers_duration(tmp_path, ext, codec):
    source = write_video(tmp_path / f"in{ext}", moving_square_frames(50), codec="libvpx-vp9" if ext == ".webm" else "libx264")
    before = source.read_bytes()
    out = mux_soundtrack(source, tmp_path / f"out{ext}", tone(2.0), RATE)
    assert video_packets(out) == video_packets(source)  # bit-for-bit stream copy
    assert source.read_bytes() == before  # input untouched
    [(name, _)] = audio_streams(out)
    assert name == codec
    # the soundtrack covers the whole video (within one codec frame of priming/padding)
    assert decoded_audio_seconds(out) == pytest.approx(2.0, abs=0.05)
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_existing_audio_is_replaced_or_kept(tmp_path):
    source = write_video(tmp_path / "in.mp4", moving_square_frames(50), audio_seconds=2.0)
    replaced = mux_soundtrack(source, tmp_path / "replaced.mp4", tone(2.0), RATE)
    kept = mux_soundtrack(source, tmp_path / "kept.mp4", tone(2.0), RATE, keep_original_audio=True)
    assert len(audio_streams(replaced)) == 1
    assert len(audio_streams(kept)) == 2
    assert video_packets(kept) == video_packets(source)


def test_no_overwrite_without_permission(tmp_path, clip_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"keep me")
    with pytest.raises(V2AError, match="already exists"):
        mux_soundtrack(clip_path, target, tone(2.0), RATE)
    assert target.read_bytes() == b"keep me"
    mux_soundtrack(clip_path, target, tone(2.0), RATE, overwrite=True)
    assert video_packets(target) == video_packets(clip_path)


def test_refuses_to_write_over_input(clip_path):
    with pytest.raises(V2AError, match="input"):
        mux_soundtrack(clip_path, clip_path, tone(2.0), RATE, overwrite=True)


def test_failed_write_leaves_nothing(tmp_path, clip_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with atomic_output(target, overwrite=False) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == [clip_path]


def test_unwritable_or_missing_folder(tmp_path, clip_path):
    with pytest.raises(V2AError, match="does not exist"):
        mux_soundtrack(clip_path, tmp_path / "nope" / "out.mp4", tone(2.0), RATE)
    # /proc refuses new files even to root, which CI runs as (so chmod would not do)
    with pytest.raises(V2AError, match="cannot write"):
        mux_soundtrack(clip_path, Path("/proc/v2a-test.mp4"), tone(2.0), RATE)


def test_write_audio_formats(tmp_path):
    for ext in (".wav", ".flac"):
        path = write_audio(tmp_path / f"a{ext}", tone(1.0), RATE)
        data, rate = sf.read(path)
        assert rate == RATE and len(data) == RATE
        assert np.abs(data - tone(1.0)).max() < 1e-3
        assert oct(path.stat().st_mode & 0o777) != oct(0o600)
    with pytest.raises(V2AError, match="must end"):
        write_audio(tmp_path / "a.mp3", tone(1.0), RATE)


def test_unsupported_output_extension(tmp_path, clip_path):
    with pytest.raises(V2AError, match="unsupported output"):
        mux_soundtrack(clip_path, tmp_path / "out.xyz", tone(2.0), RATE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
