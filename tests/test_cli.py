"""The CLI through a subprocess, as users and scripts run it."""

import subprocess
import sys

import pytest
import soundfile as sf

from conftest import moving_square_frames, video_packets, write_video


def v2a(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "v2a.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(result, fragment):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("v2a: error:") and fragment in lines[0], result.stderr


def test_help_lists_every_command_and_add_sound_loads_no_training_code():
    result = v2a("--help")
    assert result.returncode == 0 and all(name in result.stdout for name in ("add-sound", "train", "eval"))
    probe = "import sys, v2a.cli; print(sorted(m for m in sys.modules if m.startswith(('v2a.training', 'v2a.evaluation', 'v2a.data'))))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


@pytest.mark.parametrize("args, fragment", [
    ((), "Missing argument 'input'"),
    (("clip.mp4", "--steps", "0"), "'--steps'"),
    (("clip.mp4", "--no-such-flag"), "No such option: --no-such-flag"),
])
def test_usage_errors_are_one_line(args, fragment):
    result = v2a("add-sound", *args)
    assert result.returncode == 2
    assert_one_line_error(result, fragment)


def test_decoder_only_training_without_a_starting_autoencoder_is_a_usage_error(tmp_path):
    result = v2a("train", "autoencoder", "--library", str(tmp_path), "--decoder-only")
    assert result.returncode == 2
    assert_one_line_error(result, "--decoder-only needs --init")


@pytest.mark.parametrize("scale", ["0", "-1"])
def test_a_discriminator_learning_rate_scale_must_be_positive(tmp_path, scale):
    result = v2a("train", "autoencoder", "--library", str(tmp_path), "--run", tmp_path / "run",
                 "--discriminator-lr-scale", scale)
    assert result.returncode == 2
    assert_one_line_error(result, "--discriminator-lr-scale: must be above 0")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("option, value", [("--discriminator-lr-scale", "4"), ("--discriminator-warmup", "4"),
                                           ("--discriminator-scales", "1,2")])
def test_a_discriminator_option_without_a_discriminator_is_a_usage_error(tmp_path, option, value):
    result = v2a("train", "autoencoder", "--library", str(tmp_path), "--run", tmp_path / "run", option, value)
    assert result.returncode == 2
    assert_one_line_error(result, f"{option}: needs --adversarial")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("value", ["0,2", "1,1", "1,two", ""])
def test_bad_discriminator_scales_are_a_usage_error(tmp_path, value):
    result = v2a("train", "autoencoder", "--library", str(tmp_path), "--run", tmp_path / "run", "--adversarial", "1",
                 "--discriminator-scales", value)
    assert result.returncode == 2
    assert_one_line_error(result, "--discriminator-scales: give distinct whole numbers")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, fragment", [
    (("--size", "light", "--init", "runs/vocoder/model"), "--size: light builds a fresh generator"),
    (("--distill-steps", "100"), "--distill-steps: needs --teacher"),
    (("--teacher", "nowhere"), "--teacher: nowhere: not a HiFi-GAN folder"),
    (("--features", "."), "--features: needs --teacher"),
    (("--features", ".", "--teacher", "weights/vocoder", "--autoencoder", "weights/autoencoder"),
     "--features: a feature cache gives true mels only"),
])
def test_vocoder_training_options_that_contradict_are_usage_errors(tmp_path, args, fragment):
    source = () if "--features" in args else ("--library", tmp_path)
    result = v2a("train", "vocoder", *source, "--run", tmp_path / "run", *args)
    assert result.returncode == 2
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["autoencoder", "vocoder"])
@pytest.mark.parametrize("sources", [(), ("--library", ".", "--features", ".")])
def test_autoencoder_and_vocoder_training_need_exactly_one_mel_source(tmp_path, command, sources):
    result = v2a("train", command, *sources, "--run", tmp_path / "run")
    assert result.returncode == 2
    assert_one_line_error(result, "give exactly one of --library and --features")
    assert not (tmp_path / "run").exists()


def test_evaluating_on_the_train_split_is_refused(tmp_path):
    (tmp_path / "manifest.jsonl").write_text("")
    result = v2a("eval", "--library", tmp_path, "--split", "train", "--out", tmp_path / "out")
    assert_one_line_error(result, "--split must be test or val")
    assert not (tmp_path / "out").exists()


def test_bare_commands_show_help():
    for args in ((), ("train",)):
        result = v2a(*args)
        assert result.returncode == 0 and "Usage:" in result.stdout + result.stderr


def test_add_sound_file_and_refuses_to_overwrite(tmp_path, clip_path):
    result = v2a("add-sound", clip_path, "--model", "debug", "--steps", "2", "--prompt", "drums", "--quiet")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "clip.v2a.mp4"  # the documented default name
    assert video_packets(out) == video_packets(clip_path)
    first = out.read_bytes()
    again = v2a("add-sound", clip_path, "--model", "debug", "--steps", "2", "--quiet")
    assert_one_line_error(again, "already exists")
    assert out.read_bytes() == first
    wav = v2a("add-sound", clip_path, "-o", tmp_path / "sound.wav", "--model", "debug", "--steps", "2", "--quiet")
    assert wav.returncode == 0, wav.stderr
    data, rate = sf.read(tmp_path / "sound.wav")
    assert rate == 22050 and len(data) == 2 * 22050


def test_error_cases(tmp_path, clip_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    cases = [
        (["add-sound", tmp_path / "missing.mp4"], "no such file"),
        (["add-sound", tmp_path / "notes.mp4", "--model", "debug"], "not a readable video"),
        (["add-sound", tmp_path / "empty.mp4", "--model", "debug"], "empty"),
        (["add-sound", clip_path, "-o", tmp_path / "no" / "dir" / "x.mp4"], "does not exist"),
        (["add-sound", clip_path, "--device", "tpu"], "unknown device"),
        (["add-sound", clip_path, "--model", tmp_path], "not a v2a model folder"),
        (["add-sound", clip_path, "--model", "debug", "--vocoder", tmp_path / "nowhere"], "not a vocoder folder"),
        (["add-sound", clip_path, "--model", "debug", "--vocoder", "full"], "the debug model has no full vocoder"),
        (["add-sound", clip_path, "--model", tmp_path, "--vocoder", "full"], "has no full vocoder beside its own"),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, fragment in cases:
        assert_one_line_error(v2a(*args), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written


def test_text_guidance_reaches_the_model_for_files_and_folders(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write_video(src / "a.mp4", moving_square_frames(10), fps=10)
    common = ("--model", "debug", "--steps", "2", "--prompt", "drums", "--quiet")
    for args, target in [((src / "a.mp4", "-o", tmp_path / "plain.wav"), tmp_path / "plain.wav"),
                         ((src / "a.mp4", "-o", tmp_path / "file.wav", "--text-guidance", "9"), tmp_path / "file.wav"),
                         ((src, "-o", tmp_path / "out", "--audio-only", "--text-guidance", "9"), tmp_path / "out" / "a.wav")]:
        result = v2a("add-sound", *args, *common)
        assert result.returncode == 0, result.stderr
        assert target.is_file()
    plain, file, folder = (sf.read(path)[0] for path in (tmp_path / "plain.wav", tmp_path / "file.wav",
                                                         tmp_path / "out" / "a.wav"))
    assert abs(plain - file).max() > 1e-3
    assert abs(file - folder).max() < 1e-4  # the folder path passes it on too


def test_folder_batch_resumes_and_survives_bad_files(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    write_video(src / "a.mp4", moving_square_frames(20), fps=10)
    write_video(src / "sub" / "b.mov", moving_square_frames(15), fps=10)
    (src / "broken.mp4").write_bytes(b"\x00" * 100)
    (src / "prompts.csv").write_text("file,prompt\nsub/b.mov,rain\n")
    out = tmp_path / "out"
    first = v2a("add-sound", src, "-o", out, "--model", "debug", "--steps", "2", "--prompts-csv", src / "prompts.csv")
    assert first.returncode == 1  # one file failed
    assert f"2 done, 0 skipped (already done), 1 failed; manifest: {out / 'v2a-manifest.jsonl'}" in first.stderr
    assert "broken.mp4" in first.stderr and "Traceback" not in first.stderr
    assert (out / "a.mp4").is_file() and (out / "sub" / "b.mov").is_file()
    assert not (out / "broken.mp4").exists()
    stamp = (out / "a.mp4").stat().st_mtime_ns
    (src / "broken.mp4").unlink()
    second = v2a("add-sound", src, "-o", out, "--model", "debug", "--steps", "2", "--prompts-csv", src / "prompts.csv",
                 "--quiet")
    assert second.returncode == 0, second.stderr
    assert (out / "a.mp4").stat().st_mtime_ns == stamp  # resumed: finished outputs are skipped
    # without the CSV, sub/b.mov would be another job (no prompt): its output is not taken for it
    third = v2a("add-sound", src, "-o", out, "--model", "debug", "--steps", "2", "--quiet")
    assert third.returncode == 1 and "b.mov exists, made with prompt 'rain', not None" in third.stderr


def test_folder_batch_resumes_only_outputs_made_in_the_precision_asked_for(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_video(src / "a.mp4", moving_square_frames(10), fps=10)
    run = ("add-sound", src, "-o", out, "--model", "debug", "--steps", "2", "--quiet")
    assert v2a(*run, "--dtype", "float32").returncode == 0
    again = v2a(*run, "--dtype", "bfloat16")
    assert again.returncode == 1 and "a.mp4 exists, made with dtype 'float32', not 'bfloat16'" in again.stderr
    assert v2a(*run, "--dtype", "float32").returncode == 0  # done in float32: skipped
    assert v2a(*run).returncode == 0  # auto takes whatever its machine chose


@pytest.mark.parametrize("bad_csv", ["name,text\nx,y\n"])
def test_prompts_csv_needs_columns(tmp_path, bad_csv):
    src = tmp_path / "in"
    src.mkdir()
    write_video(src / "a.mp4", moving_square_frames(10), fps=10)
    (tmp_path / "p.csv").write_text(bad_csv)
    assert_one_line_error(v2a("add-sound", src, "--prompts-csv", tmp_path / "p.csv"), "'file' and 'prompt'")


# A refusal that needs no model must come at once: the command is run with a hook that reports
# whether torch (and so any model) was ever imported.
NO_TORCH_PROBE = ("import atexit, sys; atexit.register(lambda: print('torch loaded:', 'torch' in sys.modules)); "
                  "sys.argv = ['v2a', *sys.argv[1:]]; from v2a.cli import main; main()")


def test_refusals_come_before_any_model_loads(tmp_path, clip_path):
    import time

    import av

    from conftest import write_audio_only

    gif = tmp_path / "anim.gif"
    with av.open(str(gif), "w") as container:  # an animated GIF: MP4 has no place for it
        stream = container.add_stream("gif", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb8"
        for i, image in enumerate(moving_square_frames(5)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="rgb8")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    sound = write_audio_only(tmp_path / "sound.m4a")
    (tmp_path / "taken.mp4.json").write_text("{}")
    cases = [
        ((gif, "-o", tmp_path / "anim.mp4"), "its gif video cannot be copied into .mp4 as it is; .mkv and .mov can hold it"),
        ((clip_path, "-o", tmp_path / "still.png"), "unsupported output type '.png'"),
        ((sound, "-o", tmp_path / "x.mp4"), "has no video stream"),
        ((clip_path, "--start", "0:05"), "start 5 s is not before the end of the video (2 s)"),
        ((clip_path, "--start", "1", "--end", "0.5"), "end 0.5 s must come after start 1 s"),
        ((clip_path, "--end", "1:2:3:4"), "end '1:2:3:4': not a time"),
        ((clip_path, "--mix", "-6"), "has no audio to mix the new sound under"),
        ((clip_path, "-o", tmp_path / "taken.mp4", "--sidecar"), "taken.mp4.json: already exists"),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, fragment in cases:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", NO_TORCH_PROBE, "add-sound", *map(str, args)],
                                capture_output=True, text=True, timeout=300)
        seconds = time.perf_counter() - start
        assert_one_line_error(result, fragment)
        assert result.stdout.strip() == "torch loaded: False", (args, result.stdout)
        assert seconds < 3.0, (args, seconds)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_segment_mix_sidecar_and_info(tmp_path):
    source = write_video(tmp_path / "in.mp4", moving_square_frames(30), fps=10, audio_seconds=3.0)
    out = tmp_path / "out.mp4"
    result = v2a("add-sound", source, "-o", out, "--start", "0.5", "--end", "00:00:02.000", "--mix", "-6",
                 "--sidecar", "--prompt", "rain", "--model", "debug", "--steps", "2", "--seed", "3", "--quiet")
    assert result.returncode == 0, result.stderr
    assert video_packets(out) == video_packets(source)  # the video is still copied
    import av

    with av.open(str(out)) as container:
        [audio] = container.streams.audio
        seconds = sum(f.samples for f in container.decode(audio)) / audio.codec_context.sample_rate
    assert seconds == pytest.approx(3.0, abs=0.05)  # one track: the input's audio with the new sound mixed in
    info = v2a("info", out)
    assert info.returncode == 0, info.stderr
    import json

    record = json.loads(info.stdout)
    assert record["span"] == [0.5, 2.0] and record["mix_db"] == -6.0 and record["prompt"] == "rain"
    assert record["seed"] == 3 and record["model"] == "debug"
    assert json.loads((tmp_path / "out.mp4.json").read_text()) == record
    assert_one_line_error(v2a("info", source), "records no v2a provenance")


def test_reencode_on_request(tmp_path):
    import av

    source = tmp_path / "cinepak.avi"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("cinepak", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        for i, image in enumerate(moving_square_frames(10)):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    refused = v2a("add-sound", source, "-o", tmp_path / "out.mp4", "--model", "debug")
    assert_one_line_error(refused, "its cinepak video cannot be copied into .mp4 as it is; .mkv, .mov and .avi")
    result = v2a("add-sound", source, "-o", tmp_path / "out.mp4", "--reencode", "--model", "debug", "--steps", "2",
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # --quiet: no progress bars
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264" and container.streams.audio


def test_dtype_float32_is_float32_throughout_and_auto_leaves_the_cpu_precision_to_the_machine(monkeypatch):
    import torch

    import v2a.presets
    from v2a.cli import DType, _load

    monkeypatch.setattr(v2a.presets, "cpu_computes_bfloat16", lambda device: True)  # as on this project's machines
    pipe = _load("debug", "cpu", DType.float32, quiet=True)
    assert pipe.transformer.dtype == pipe.vocoder.dtype == torch.float32
    pipe = _load("debug", "cpu", DType.auto, quiet=True)
    assert pipe.transformer.dtype == pipe.vocoder.dtype == torch.bfloat16
    monkeypatch.setattr(v2a.presets, "cpu_computes_bfloat16", lambda device: False)
    pipe = _load("debug", "cpu", DType.auto, quiet=True)
    assert pipe.transformer.dtype == pipe.vocoder.dtype == torch.float32
