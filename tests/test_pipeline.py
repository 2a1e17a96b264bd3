import numpy as np
import pytest
import torch

from conftest import moving_square_frames
from v2a.signal.audio import DEFAULT_AUDIO, AudioSettings, log_mel
from v2a.settings import DEFAULTS
from v2a.errors import V2AError
from v2a.models.vocoder import vocode_in_chunks
from v2a.pipeline import V2APipeline, crossfade_weights, latent_windows
from v2a.media.decode import VideoClip

STEPS = 2


def clip(seconds: float, fps: int = 10, seed: int = 0) -> VideoClip:
    return VideoClip.from_array(moving_square_frames(int(seconds * fps), seed=seed), fps=fps)


def run(pipe, clips, seed=0, **kwargs):
    gens = [torch.Generator().manual_seed(seed + i) for i in range(len(clips))] if isinstance(clips, list) else \
        torch.Generator().manual_seed(seed)
    return pipe(clips, num_inference_steps=STEPS, generator=gens, **kwargs)


def test_waveform_length_matches_video(debug_pipe):
    for seconds in (0.3, 1.0, 1.7):
        out = run(debug_pipe, clip(seconds), prompt="drums")
        assert out.sample_rate == 22050
        assert out.waveforms[0].shape == (int(round(seconds * 22050)),)
        assert out.waveforms[0].dtype == np.float32
        assert np.isfinite(out.waveforms[0]).all() and np.abs(out.waveforms[0]).max() <= 1.0


def test_same_seed_same_waveform_other_seed_differs(debug_pipe):
    a = run(debug_pipe, clip(1.0), seed=3, prompt="drums").waveforms[0]
    b = run(debug_pipe, clip(1.0), seed=3, prompt="drums").waveforms[0]
    c = run(debug_pipe, clip(1.0), seed=4, prompt="drums").waveforms[0]
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


@pytest.mark.parametrize("text_guidance, window", [(None, 4.0), (7.0, 4.0), (None, 0.4), (7.0, 0.5)])
def test_batch_equals_single(debug_pipe, text_guidance, window):
    # window 0.4 s: the 1 s clip in five windows, the 0.6 s one in two; 0.5 s: four and two
    clips = [clip(1.0, seed=1), clip(0.6, seed=2)]
    prompts = ["drums", None]
    batched = run(debug_pipe, clips, prompt=prompts, negative_prompt=["music", None], text_guidance_scale=text_guidance,
                  window_seconds=window)
    for i, (c, p, n) in enumerate(zip(clips, prompts, ["music", None])):
        single = debug_pipe(c, prompt=p, negative_prompt=n, num_inference_steps=STEPS, window_seconds=window,
                            text_guidance_scale=text_guidance, generator=torch.Generator().manual_seed(i)).waveforms[0]
        assert batched.waveforms[i].shape == single.shape
        np.testing.assert_allclose(batched.waveforms[i], single, atol=1e-4)


def test_latent_windows_cover_each_clip_and_crossfade_to_one():
    assert latent_windows([5, 10], 10) == [(0, 0, 5), (1, 0, 10)]  # clips that fit: one window each
    windows = latent_windows([23, 7, 11], 8)
    assert windows == [(0, 0, 8), (0, 4, 12), (0, 8, 16), (0, 11, 19), (0, 15, 23), (1, 0, 7), (2, 0, 8), (2, 3, 11)]
    lengths = [23, 7, 11]
    weights = crossfade_weights(windows, lengths)
    for clip_index, length in enumerate(lengths):
        total = torch.zeros(length)
        for (c, start, end), w in zip(windows, weights):
            if c == clip_index:
                assert w.shape == (end - start,) and (w > 0).all()
                total[start:end] += w
        torch.testing.assert_close(total, torch.ones(length))
    # a clip's first and last frames come from its first and last window alone; inner seams fade
    assert weights[0][0] == 1.0 and weights[4][-1] == 1.0 and weights[0][-1] < 0.2 and weights[1][0] < 0.2
    torch.testing.assert_close(weights[5], torch.ones(7))


def test_long_clips_are_denoised_in_windows_short_ones_as_before(debug_pipe):
    seen = []
    hook = debug_pipe.transformer.register_forward_hook(lambda m, args, out: seen.append(tuple(args[0].shape[:2])))
    try:
        windowed = run(debug_pipe, clip(1.7), prompt="drums", window_seconds=0.5).waveforms[0]
        assert set(seen) == {(2 * 7, 11)}  # 37 latent frames: 7 windows of 11, two guidance branches each
        seen.clear()
        whole = run(debug_pipe, clip(1.7), prompt="drums", window_seconds=10.0).waveforms[0]
        assert set(seen) == {(2, 37)}
    finally:
        hook.remove()
    assert windowed.shape == whole.shape and np.isfinite(windowed).all()
    assert np.abs(windowed - whole).max() > 1e-3
    # a clip no longer than the window is sampled exactly as without windows
    np.testing.assert_array_equal(run(debug_pipe, clip(0.5), prompt="drums", window_seconds=0.5).waveforms[0],
                                  run(debug_pipe, clip(0.5), prompt="drums", window_seconds=10.0).waveforms[0])


def test_each_window_sees_its_own_frames_and_motion_from_position_zero(debug_pipe, monkeypatch):
    captured = []
    prepare = debug_pipe.transformer.prepare_conditions

    def spy(**kwargs):
        if kwargs["frame_features"] is not None:
            captured.append((kwargs["frame_times"][0].clone(), kwargs["motion"][0].clone(), kwargs["num_latent_frames"]))
        return prepare(**kwargs)

    monkeypatch.setattr(debug_pipe.transformer, "prepare_conditions", spy)
    long_clip = clip(3.0)
    run(debug_pipe, long_clip, prompt="drums", window_seconds=1.0)
    rate = debug_pipe.audio_settings.latent_rate
    length = debug_pipe.audio_settings.latent_frames(3.0)
    windows = latent_windows([length], debug_pipe.audio_settings.latent_frames(1.0))
    _, _, all_times, all_motion = debug_pipe.encode_video(long_clip, length)
    assert len(captured) == len(windows) == 5  # the prompted branch (the unconditional one has no video)
    for (_, start, end), (times, motion, frames) in zip(windows, captured):
        assert frames == end - start == len(motion)
        torch.testing.assert_close(motion, all_motion[start:end])
        inside = all_times[(all_times >= start / rate) & ((all_times < end / rate) | (end == length))]
        torch.testing.assert_close(times, inside - start / rate)
        assert (times >= 0).all()
    # a clip that is one window sees every sampled frame, as without windows, even one sampled
    # past its last latent frame (1.6 s: frames at 0.25 ... 1.75 s, latent frames up to 1.63 s)
    captured.clear()
    run(debug_pipe, clip(1.6), prompt="drums", window_seconds=2.0)
    _, _, all_times, _ = debug_pipe.encode_video(clip(1.6), debug_pipe.audio_settings.latent_frames(1.6))
    assert all_times[-1] * rate > debug_pipe.audio_settings.latent_frames(1.6)
    torch.testing.assert_close(captured[0][0], all_times)


def test_long_mels_are_vocoded_in_chunks_without_audible_joins(debug_pipe):
    vocoder = debug_pipe.vocoder
    mel = torch.randn(1, 300, 80) - 5.0
    with torch.no_grad():
        whole = vocoder(mel).float()
        calls = []
        hook = vocoder.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[1]))
        try:
            chunked = vocode_in_chunks(vocoder, mel, chunk=70, context=32)
        finally:
            hook.remove()
    assert calls == [92, 124, 124, 124, 92]  # 5 chunks of 60 frames, each with up to 32 more on each side
    assert chunked.shape == whole.shape
    # equal up to float rounding (convolutions over other lengths sum in another order: 1e-5 here)
    torch.testing.assert_close(chunked, whole, atol=2e-4, rtol=0)
    # without context the joins differ from the whole: the context is what makes them match
    with torch.no_grad():
        bare = vocode_in_chunks(vocoder, mel, chunk=70, context=0)
    assert (bare - whole).abs().max() > 1e-2
    # a mel no longer than a chunk is vocoded in one call, as before
    torch.testing.assert_close(vocode_in_chunks(vocoder, mel[:, :70], chunk=70, context=32), vocoder(mel[:, :70]))


def test_conditions_change_the_output(debug_pipe):
    base = run(debug_pipe, clip(1.0), prompt="drums").waveforms[0]
    negative = run(debug_pipe, clip(1.0), prompt="drums", negative_prompt="music").waveforms[0]
    other_prompt = run(debug_pipe, clip(1.0), prompt="a dog barks").waveforms[0]
    no_video = run(debug_pipe, clip(1.0), prompt="drums", use_video=False).waveforms[0]
    for other in (negative, other_prompt, no_video):
        assert np.abs(base - other).max() > 1e-3


def test_guidance_one_skips_the_unconditional_branch(debug_pipe):
    calls = []
    hook = debug_pipe.transformer.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    try:
        run(debug_pipe, clip(0.5), prompt="drums", guidance_scale=1.0, text_guidance_scale=None)
        run(debug_pipe, clip(0.5), prompt="drums", guidance_scale=1.0, text_guidance_scale=1.0)
        run(debug_pipe, clip(0.5), prompt="drums", guidance_scale=3.0, text_guidance_scale=None)
    finally:
        hook.remove()
    assert calls == [1] * STEPS * 2 + [2] * STEPS


def test_a_separate_text_guidance_weighs_the_prompt_alone(debug_pipe):
    calls = []

    def wave(**kwargs):
        calls.clear()
        hook = debug_pipe.transformer.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
        try:
            return run(debug_pipe, clip(0.8), **kwargs).waveforms[0]
        finally:
            hook.remove()

    guided = wave(prompt="drums", guidance_scale=3.0, text_guidance_scale=7.0)
    assert calls == [3] * STEPS
    plain = wave(prompt="drums", guidance_scale=3.0, text_guidance_scale=None)
    assert calls == [2] * STEPS and np.abs(guided - plain).max() > 1e-3
    np.testing.assert_allclose(wave(prompt="drums", guidance_scale=3.0, text_guidance_scale=3.0), plain, atol=1e-5)
    assert calls == [2] * STEPS  # equal scales: the video-only branch has weight 0
    # without a prompt the prompted and the video-only branches agree, so the text scale drops out
    np.testing.assert_allclose(wave(guidance_scale=3.0, text_guidance_scale=7.0),
                               wave(guidance_scale=3.0, text_guidance_scale=None), atol=1e-4)
    # without video the video-only branch is the unconditional one: plain guidance at the text scale
    no_video = wave(prompt="drums", use_video=False, guidance_scale=3.0, text_guidance_scale=7.0)
    assert calls == [2] * STEPS
    np.testing.assert_allclose(no_video, wave(prompt="drums", use_video=False, guidance_scale=7.0,
                                              text_guidance_scale=None), atol=1e-4)
    # video guidance 1: prompt against the video alone, no unconditional pass
    video_one = wave(prompt="drums", guidance_scale=1.0, text_guidance_scale=7.0)
    assert calls == [2] * STEPS and np.abs(video_one - guided).max() > 1e-3


def test_stage_timing_adds_every_stage_and_changes_nothing(debug_pipe):
    seconds = {"encode": 1.0}  # existing entries are added to, not replaced
    timed = run(debug_pipe, clip(1.5), prompt="a ball", stage_seconds=seconds)
    plain = run(debug_pipe, clip(1.5), prompt="a ball")
    assert set(seconds) == {"encode", "encode/video decode", "encode/frame encoder", "encode/motion", "denoise",
                            "latent decode", "vocoder"}
    assert seconds["encode"] > 1.0 and all(v > 0 for v in seconds.values())
    assert seconds["encode/frame encoder"] + seconds["encode/motion"] < seconds["encode"] - 1.0  # parts of the stage
    np.testing.assert_array_equal(timed.waveforms[0], plain.waveforms[0])


def test_bad_arguments(debug_pipe):
    with pytest.raises(V2AError, match="prompt"):
        run(debug_pipe, [clip(0.5), clip(0.5)], prompt=["a", "b", "c"])
    with pytest.raises(V2AError, match="steps"):
        debug_pipe(clip(0.5), num_inference_steps=0)
    with pytest.raises(V2AError, match="window_seconds"):
        debug_pipe(clip(0.5), window_seconds=0.0)


def test_save_load_round_trip(debug_pipe, tmp_path):
    debug_pipe.save_pretrained(tmp_path / "model")
    files = {p.name for p in (tmp_path / "model").rglob("*") if p.is_file()}
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt")) for f in files)
    assert "model_index.json" in files
    loaded = V2APipeline.from_pretrained(str(tmp_path / "model"))
    loaded.set_progress_bar_config(disable=True)
    a = run(debug_pipe, clip(0.8), prompt="rain").waveforms[0]
    b = run(loaded, clip(0.8), prompt="rain").waveforms[0]
    np.testing.assert_array_equal(a, b)


def test_autoencoder_lengths(debug_pipe):
    mel = torch.randn(2, 40, 80) - 5
    latent = debug_pipe.autoencoder.encode(mel)
    assert latent.shape == (2, 10, debug_pipe.autoencoder.config.latent_channels)
    assert debug_pipe.autoencoder.decode(latent).shape == mel.shape


def test_log_mel_frames_and_silence():
    wave = torch.zeros(22050 // 256 * 256)
    mel = log_mel(wave)
    assert mel.shape == (len(wave) // 256, 80)
    assert torch.allclose(mel, torch.full_like(mel, DEFAULT_AUDIO.silence_level))
    tone = torch.sin(2 * torch.pi * 1000 * torch.arange(22016) / 22050)
    peak_bin = log_mel(tone).mean(0).argmax().item()
    import librosa

    centres = librosa.mel_frequencies(n_mels=82, fmin=0, fmax=8000)[1:-1]
    assert abs(centres[peak_bin] - 1000) < 100


def test_mel_filters_are_librosas_the_vocoders_own():
    import librosa

    from v2a.signal.audio import mel_filters

    s = DEFAULT_AUDIO
    expected = librosa.filters.mel(sr=s.sample_rate, n_fft=s.n_fft, n_mels=s.n_mels, fmin=s.fmin, fmax=s.fmax)
    assert mel_filters(s).shape == expected.shape
    assert np.abs(mel_filters(s).numpy() - expected).max() < 1e-5 * np.abs(expected).max()


def test_window_joins_are_where_windows_overlap():
    from v2a.pipeline import window_joins

    settings = AudioSettings()
    assert window_joins(3.9, settings) == []  # one window
    joins = window_joins(8.0, settings)
    rate = settings.latent_rate
    windows = latent_windows([settings.latent_frames(8.0)], settings.latent_frames(DEFAULTS.window_seconds))
    assert len(joins) == len(windows) - 1 == 2  # 0-4, 2-6, 4-8 s
    for (start, end), a, b in zip(joins, windows, windows[1:]):
        assert (start, end) == (b[1] / rate, a[2] / rate) and 0 < end - start <= DEFAULTS.window_seconds


def test_guidance_weights_name_each_branch_and_leave_out_zero_ones():
    from v2a.pipeline import guidance_weights

    # two-branch guidance: v(neg) + 6 (v(video, prompt) - v(neg))
    assert guidance_weights(6.0, None) == {"conditional": 6.0, "unconditional": -5.0}
    # the prompt weighed apart adds the video-only branch; the weights always sum to 1
    weights = guidance_weights(6.0, 10.0)
    assert weights == {"conditional": 10.0, "video_only": -4.0, "unconditional": -5.0}
    assert sum(weights.values()) == 1.0
    # a prompt equal to the negative: the text scale has nothing to weigh
    assert guidance_weights(6.0, 10.0, prompt_differs=False) == {"conditional": 6.0, "unconditional": -5.0}
    # no video: "video_only" is the negative prompt alone, so the unconditional branch's weight joins it
    assert guidance_weights(6.0, 10.0, has_video=False) == {"conditional": 10.0, "video_only": -9.0}
    # guidance 1 is no guidance: one pass per step
    assert guidance_weights(1.0, None) == {"conditional": 1.0}


def test_guidance_branches_build_only_the_branches_they_keep(debug_pipe):
    from v2a.pipeline import guidance_branches

    model = debug_pipe.transformer
    built = []

    def build(name, prompt_tokens):
        def make():
            built.append(name)
            return model.prepare_conditions(prompt_tokens, None if prompt_tokens is None else torch.ones(1, 2, dtype=torch.bool),
                                            None, None, None, None, 5, 1)
        return make

    tokens = torch.randn(1, 2, model.config.text_dim)
    branches = {"conditional": build("conditional", tokens), "video_only": build("video_only", None),
                "unconditional": build("unconditional", None)}
    conditions, weights = guidance_branches(branches, 6.0, None)
    assert built == ["conditional", "unconditional"] and weights == [6.0, -5.0]
    assert conditions.context.shape[0] == 2 and conditions.motion.shape[:2] == (2, 5)


def test_euler_sample_is_a_pure_function_of_its_arguments():
    from v2a.pipeline import euler_sample
    from v2a.scheduler import FlowMatchEulerScheduler

    noise = torch.randn(1, 6, 2, generator=torch.Generator().manual_seed(0))
    target = torch.full_like(noise, 0.5)

    def velocity(x, t):  # the exact flow-matching velocity towards ``target`` from ``noise``
        return noise - target

    sample = euler_sample(velocity, noise.clone(), FlowMatchEulerScheduler(), 4)
    torch.testing.assert_close(sample, target)
    mask = torch.tensor([[True] * 4 + [False] * 2])
    masked = euler_sample(velocity, noise.clone(), FlowMatchEulerScheduler(), 4, token_mask=mask)
    assert (masked[0, 4:] == 0).all()


def _tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * 22050)) / 22050
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_reference_sound_steers_the_output_and_batches_like_single_clips(reference_pipe, debug_pipe):
    plain = run(reference_pipe, clip(1.0), prompt="rain").waveforms[0]
    low = run(reference_pipe, clip(1.0), prompt="rain", reference=_tone(1.5, 220)).waveforms[0]
    high = run(reference_pipe, clip(1.0), prompt="rain", reference=_tone(1.5, 2000)).waveforms[0]
    assert not np.allclose(low, plain) and not np.allclose(low, high)
    # only the first 10 s count
    long = np.concatenate([_tone(1.5, 220), np.zeros(int(9 * 22050), np.float32), _tone(2, 4000)])
    np.testing.assert_array_equal(run(reference_pipe, clip(1.0), prompt="rain", reference=long).waveforms[0],
                                  run(reference_pipe, clip(1.0), prompt="rain", reference=long[: 10 * 22050]).waveforms[0])
    # per-clip references in a batch (one without) give each clip what it gets alone
    both = run(reference_pipe, [clip(1.0), clip(1.0, seed=1)], prompt="rain", reference=[_tone(1.5, 220), None])
    np.testing.assert_allclose(both.waveforms[0], low, atol=1e-4)  # float rounding of batched matmuls, as above
    alone = run(reference_pipe, clip(1.0, seed=1), seed=1, prompt="rain").waveforms[0]
    np.testing.assert_allclose(both.waveforms[1], alone, atol=1e-4)
    with pytest.raises(V2AError, match="no reference"):
        run(debug_pipe, clip(1.0), reference=_tone(1.0, 220))
    with pytest.raises(V2AError, match="too short"):
        run(reference_pipe, clip(1.0), reference=np.zeros(100, np.float32))
    with pytest.raises(V2AError, match="2 reference sounds for 1 clips"):
        run(reference_pipe, [clip(1.0)], reference=[_tone(1, 220), None])


def test_batches_of_windows_and_frames_give_the_one_pass_result(debug_pipe, monkeypatch):
    import v2a.pipeline

    long_clip = clip(3.0)  # 7 frames sampled at 2 per second, 5 windows of 1 s
    one_pass = run(debug_pipe, long_clip, prompt="drums", window_seconds=1.0).waveforms[0]
    monkeypatch.setattr(v2a.pipeline, "WINDOW_BATCH", 2)
    monkeypatch.setattr(v2a.pipeline, "FRAME_BATCH", 3)
    seen = []
    hook = debug_pipe.transformer.register_forward_hook(lambda m, args, out: seen.append(args[0].shape[0]))
    try:
        batched = run(debug_pipe, long_clip, prompt="drums", window_seconds=1.0).waveforms[0]
    finally:
        hook.remove()
    assert seen[:3] == [2 * 2, 2 * 2, 2 * 1]  # per step: windows 2 at a time, two guidance branches each
    # the same maths: only float rounding differs (the transformer's kernels round a 2-row batch
    # ~1e-8 apart from a 10-row one, which 2 steps of the random debug model grow to ~1e-5)
    np.testing.assert_allclose(batched, one_pass, atol=1e-4, rtol=0)


def test_a_video_file_is_read_as_a_stream_with_the_result_of_its_frames(debug_pipe, clip_path):
    from v2a.media.decode import VideoFile, decode_video

    streamed = run(debug_pipe, VideoFile(clip_path), prompt="drums", window_seconds=1.0).waveforms[0]
    in_memory = run(debug_pipe, decode_video(clip_path), prompt="drums", window_seconds=1.0).waveforms[0]
    np.testing.assert_array_equal(streamed, in_memory)


def test_a_long_soundtrack_joins_its_windows_without_gaps_or_repeats(debug_pipe):
    from v2a.pipeline import window_joins

    seconds, window = 8.0, 1.0
    wave = run(debug_pipe, clip(seconds), prompt="drums", window_seconds=window).waveforms[0]
    rate = 22050
    joins = window_joins(seconds, debug_pipe.audio_settings, window)
    assert len(joins) >= 10
    # no gap: every 10 ms of the track, joins included, carries sound
    frames = wave[: len(wave) // 220 * 220].reshape(-1, 220)
    assert (np.sqrt((frames**2).mean(1)) > 1e-3).all()
    # no window is another's copy: the middles of their own stretches all differ
    middles = [0.5 * joins[0][0]] + [0.5 * (a[1] + b[0]) for a, b in zip(joins, joins[1:])]
    pieces = np.stack([wave[int(m * rate) : int(m * rate) + rate // 5] for m in middles]).astype(np.float64)
    pieces -= pieces.mean(1, keepdims=True)
    pieces /= np.linalg.norm(pieces, axis=1, keepdims=True)
    similar = pieces @ pieces.T
    np.fill_diagonal(similar, 0.0)
    assert similar.max() < 0.99
