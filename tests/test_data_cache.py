"""Feature cache shards and the real-video folder loader, on tiny generated inputs."""

from __future__ import annotations


import numpy as np
import soundfile as sf

from v2a.signal.audio import DEFAULT_AUDIO
from v2a.data.cache import CacheExample, build_feature_cache, iter_feature_cache, library_examples, read_index
from v2a.data.real_folder import iter_real_folder
from v2a.data.render import render_pair, write_pair_mp4
from v2a.signal.motion import NUM_TIMING_FEATURES

SR = DEFAULT_AUDIO.sample_rate


def tone(seconds=1.0, freq=440.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * freq * t) * np.exp(-3 * t)).astype(np.float32)


def test_feature_cache_round_trip_with_hooks(tmp_path):
    wav = tone()
    pair = render_pair(wav, seed=1, fps=20, short_side=64, clean=True)
    calls = []

    def frame_fn(frames):  # stand-in for the pipeline's frame encoder
        calls.append(frames.shape)
        return frames.reshape(len(frames), -1)[:, :8].astype(np.float32)

    examples = [
        CacheExample(id="a", audio=wav, meta={"split": "train", "category": "bell"}, captions=["a bell rings"]),
        CacheExample(id="b", audio=pair.audio, meta={"split": "val", "category": "bell"}, frames=pair.frames,
                     times=pair.times, captions=["a bell"], event_times=pair.event_times),
    ]
    folder = build_feature_cache(examples, tmp_path / "cache", frame_fn=frame_fn,
                                 text_fn=lambda caps: np.ones((len(caps), 4)), shard_size=1)
    index = read_index(folder)
    assert [r["id"] for r in index] == ["a", "b"] and index[0]["shard"] != index[1]["shard"]
    got = dict((r["id"], arrays) for r, arrays in iter_feature_cache(folder))
    assert got["a"]["mel"].dtype == np.float16 and got["a"]["mel"].shape == (len(wav) // DEFAULT_AUDIO.hop_length, 80)
    assert "timing" not in got["a"] and got["a"]["text"].shape == (1, 4)
    n_latent = DEFAULT_AUDIO.latent_frames(len(pair.audio) / SR)
    assert got["b"]["timing"].shape == (n_latent, NUM_TIMING_FEATURES) and got["b"]["timing"].dtype == np.float16
    assert got["b"]["frames"].shape == (len(pair.frames), 8) and len(calls) == 1
    assert np.allclose(got["b"]["events"], pair.event_times)
    assert [r["id"] for r, _ in iter_feature_cache(folder, split="val")] == ["b"]
    # resuming skips what is cached
    build_feature_cache(examples, folder, frame_fn=frame_fn)
    assert len(read_index(folder)) == 2 and len(calls) == 1


def test_library_examples_render_one_video_per_clip(tmp_path):
    (tmp_path / "clips").mkdir()
    sf.write(tmp_path / "clips" / "x.flac", tone(), SR, subtype="PCM_16")
    rec = {"id": "x", "path": "clips/x.flac", "kind": "impact", "split": "train", "category": "bell", "captions": ["a bell"]}
    (ex,) = list(library_examples(tmp_path, [rec], render=True, seed=3))
    (again,) = list(library_examples(tmp_path, [rec], render=True, seed=3))
    assert ex.id == "x@3" and ex.frames is not None and np.array_equal(ex.frames, again.frames)
    assert abs(len(ex.audio) / SR - len(ex.frames) / ex.meta["fps"]) < 1e-3


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
