"""Feature cache shards and the real-video folder loader, on tiny generated inputs."""

from __future__ import annotations


import numpy as np
import soundfile as sf

from v2a.signal.audio import DEFAULT_AUDIO
from v2a.data.cache import FeatureCacheWriter, iter_feature_cache, read_index
from v2a.data.real_folder import iter_real_folder
from v2a.data.render import library_recording, render_pair, render_record, write_pair_mp4

SR = DEFAULT_AUDIO.sample_rate


def tone(seconds=1.0, freq=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t) * np.exp(-3 * t)).astype(np.float32)


def test_feature_cache_shards_round_trip_and_resume(tmp_path):
    folder = tmp_path / "cache"
    arrays = {"a": {"mel": np.ones((8, 80), np.float16)},
              "b": {"mel": np.zeros((4, 80), np.float16), "events": np.array([0.5], np.float32)}}
    with FeatureCacheWriter(folder, shard_size=1) as writer:
        writer.add("a", arrays["a"], {"split": "train", "captions": ["a bell"]})
        writer.add("b", arrays["b"], {"split": "val"})
    index = read_index(folder)
    assert [r["id"] for r in index] == ["a", "b"] and index[0]["shard"] != index[1]["shard"]
    assert index[0]["captions"] == ["a bell"] and index[1]["arrays"] == ["events", "mel"]
    got = {r["id"]: stored for r, stored in iter_feature_cache(folder)}
    for example, stored in arrays.items():
        assert set(got[example]) == set(stored)
        for name, value in stored.items():
            assert got[example][name].dtype == value.dtype and np.array_equal(got[example][name], value)
    assert [r["id"] for r, _ in iter_feature_cache(folder, split="val")] == ["b"]
    # a new writer resumes: it knows what is stored and appends new shards after it
    with FeatureCacheWriter(folder) as writer:
        assert writer.existing_ids == {"a", "b"}
        writer.add("c", arrays["a"], {"split": "train"})
    assert [r["id"] for r in read_index(folder)] == ["a", "b", "c"] and len(list(folder.glob("shard-*.npz"))) == 3


def test_render_record_renders_a_library_clip_reproducibly(tmp_path):
    (tmp_path / "clips").mkdir()
    sf.write(tmp_path / "clips" / "x.flac", tone(), SR, subtype="PCM_16")
    rec = {"id": "x", "path": "clips/x.flac", "kind": "impact", "split": "train", "category": "bell", "captions": ["a bell"]}
    pair = render_record(tmp_path, rec, seed=3, max_seconds=0.5)
    again = render_record(tmp_path, rec, seed=3, max_seconds=0.5)
    assert np.array_equal(pair.frames, again.frames) and np.array_equal(pair.audio, again.audio)
    assert abs(len(pair.audio) / SR - len(pair.frames) / pair.fps) < 1e-3
    assert len(library_recording(tmp_path, rec, max_seconds=0.5)) == SR // 2
    assert render_record(tmp_path, rec, seed=3, kind="ambience").event_times.size == 0

def test_real_folder_yields_video_audio_and_caption(tmp_path):
    folder = tmp_path / "videos"
    for name, freq in [("dog/a.mp4", 300.0), ("b.mp4", 800.0)]:
        pair = render_pair(tone(1.0, freq), seed=1, fps=24, short_side=64)
        write_pair_mp4(pair, folder / name)
    (folder / "broken.mp4").write_bytes(b"not a video")
    (folder / "captions.csv").write_text("file,caption\nb.mp4,a high beep\n")
    items = list(iter_real_folder(folder))
    assert [i.path.name for i in items] == ["b.mp4", "a.mp4"]  # sorted; the broken file is skipped
    by_name = {i.path.name: i for i in items}
    assert by_name["b.mp4"].caption == "a high beep" and by_name["a.mp4"].caption == "dog"
    for item in items:
        assert item.video.frames.ndim == 4 and item.audio.dtype == np.float32
        assert len(item.audio) == int(round(item.video.duration * SR))
    # the tone's pitch survives the AAC round trip
    spec = np.abs(np.fft.rfft(by_name["b.mp4"].audio))
    assert abs(np.argmax(spec) * SR / (2 * (len(spec) - 1)) - 800) < 20
