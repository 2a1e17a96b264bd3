"""Every output says how it was made, and the same job gives the same audio, bit for bit."""

import json

import av
import numpy as np
import pytest

from conftest import moving_square_frames, write_video
from v2a.api import add_sound, generate
from v2a.errors import V2AError
from v2a.presets import debug_pipeline, load_pipeline
from v2a.provenance import folder_hash, read_provenance, sidecar_path


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".webm", ".avi", ".ogv", ".wav", ".flac"])
def test_every_output_records_how_it_was_made(tmp_path, debug_pipe, ext):
    codec = {".webm": "libvpx-vp9", ".ogv": "libvpx", ".avi": "mpeg4"}.get(ext, "libx264")  # one each can hold
    source = write_video(tmp_path / "in.mkv", moving_square_frames(20), fps=10, codec=codec)
    out = add_sound(source, tmp_path / f"out{ext}", prompt="rain", negative_prompt="music", start=0.5, end=1.5,
                    pipeline=debug_pipe, steps=2, seed=7, guidance=3.0)
    record = read_provenance(out)
    assert record["prompt"] == "rain" and record["negative_prompt"] == "music"
    assert record["seed"] == 7 and record["steps"] == 2 and record["guidance"] == 3.0
    assert record["text_guidance"] is None and record["span"] == [0.5, 1.5] and record["mix_db"] is None
    assert record["model"] == "debug" and record["input"] == "in.mkv" and record["device"] == "cpu"
    assert record["dtype"] == record["vocoder_dtype"] == "float32"
    assert record["v2a"] == __import__("v2a").__version__
    assert not sidecar_path(out).exists()  # only when asked (or where tags cannot hold it)


def test_references_and_banks_are_recorded_by_name(tmp_path, reference_pipe, clip_path):
    import soundfile as sf

    from v2a.bank import build_bank, folder_items

    sounds = tmp_path / "sounds"
    sounds.mkdir()
    for name, hz in (("door_slam.wav", 90), ("rain.flac", 300)):
        sf.write(sounds / name, 0.3 * np.sin(2 * np.pi * hz * np.arange(2 * 22050) / 22050), 22050)
    out = add_sound(clip_path, tmp_path / "out.mp4", reference=[sounds / "door_slam.wav", sounds / "rain.flac"],
                    pipeline=reference_pipe, steps=2)
    record = read_provenance(out)
    assert record["reference"] == ["door_slam.wav", "rain.flac"] and record["bank"] is None
    bank = build_bank(reference_pipe, folder_items(sounds, 22050)).save(tmp_path / "mine.bank.safetensors")
    out = add_sound(clip_path, tmp_path / "banked.mp4", prompt="rain", bank=bank, pipeline=reference_pipe, steps=2)
    record = read_provenance(out)
    assert record["reference"] is None and record["bank"] == "mine.bank.safetensors"
    assert record["bank_retrieved"] and set(record["bank_retrieved"]) <= {"door slam", "rain"}
    assert record["bank_entries"] == 2  # the settings that say how many


def test_sidecar_and_containers_without_tags(tmp_path, debug_pipe, clip_path):
    out = add_sound(clip_path, tmp_path / "out.mp4", prompt="wind", sidecar=True, pipeline=debug_pipe, steps=2)
    sidecar = tmp_path / "out.mp4.json"
    assert json.loads(sidecar.read_text()) == read_provenance(out) == read_provenance(sidecar)
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]
    # MPEG-TS keeps no such tag: the record goes beside it, always
    ts = add_sound(clip_path, tmp_path / "out.ts", prompt="wind", pipeline=debug_pipe, steps=2)
    assert read_provenance(sidecar_path(ts))["prompt"] == "wind"
    with pytest.raises(V2AError, match="records no v2a provenance"):
        read_provenance(ts)
    # an existing sidecar is refused before anything is generated, like an existing output
    with pytest.raises(V2AError, match="out2.mp4.json: already exists"):
        (tmp_path / "out2.mp4.json").write_text("{}")
        add_sound(clip_path, tmp_path / "out2.mp4", sidecar=True, pipeline=None)  # None: would load a model
    assert not (tmp_path / "out2.mp4").exists()


def test_files_v2a_did_not_write(tmp_path, clip_path):
    with pytest.raises(V2AError, match="records no v2a provenance"):
        read_provenance(clip_path)
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(V2AError, match="not a v2a sidecar"):
        read_provenance(tmp_path / "x.json")


def test_model_folder_hash_is_of_the_weights_and_cached(tmp_path, monkeypatch, debug_pipe):
    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    debug_pipe.save_pretrained(folder)
    first = folder_hash(folder)
    assert list((tmp_path / "cache" / "model-hashes").iterdir())  # computed once, then read back
    assert folder_hash(folder) == first
    (folder / "README.md").write_text("a model card")  # the card does not change what the model computes
    assert folder_hash(folder) == first
    weights = next(folder.rglob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert folder_hash(folder) != first
    loaded = load_pipeline(folder)
    out = add_sound(write_video(tmp_path / "in.mp4", moving_square_frames(10), fps=10), tmp_path / "out.mp4",
                    pipeline=loaded, steps=2)
    record = read_provenance(out)
    assert record["model"] == "model" and record["model_sha256"] == folder_hash(folder)


def test_the_precisions_a_machine_chose_are_recorded(tmp_path, clip_path):
    import torch

    pipe = debug_pipeline()
    pipe.set_progress_bar_config(disable=True)
    pipe.transformer.to(torch.bfloat16)
    pipe.vocoder.set_precision(torch.bfloat16)
    record = read_provenance(add_sound(clip_path, tmp_path / "out.wav", pipeline=pipe, steps=2))
    assert record["dtype"] == record["vocoder_dtype"] == "bfloat16"


def test_a_vocoder_folder_replaces_the_models_own_and_is_recorded(tmp_path, monkeypatch, clip_path):
    import torch

    from v2a.models.vocoder import light_hifigan

    monkeypatch.setenv("V2A_CACHE", str(tmp_path / "cache"))
    light = light_hifigan(debug_pipeline().vocoder.config)
    light.save_pretrained(tmp_path / "light")
    pipe = load_pipeline("debug", vocoder=tmp_path / "light", vocoder_dtype=torch.float32)  # weights as stored
    assert pipe.vocoder.config.upsample_initial_channel == 128
    assert all(torch.equal(a, b) for a, b in zip(pipe.vocoder.state_dict().values(), light.state_dict().values()))
    out = add_sound(clip_path, tmp_path / "out.wav", pipeline=pipe, steps=2)
    record = read_provenance(out)
    assert (record["model"], record["vocoder"]) == ("debug", "light")
    assert record["vocoder_sha256"] == folder_hash(tmp_path / "light")
    own = add_sound(clip_path, tmp_path / "own.wav", pipeline=debug_pipeline(), steps=2)
    assert "vocoder" not in read_provenance(own)
    # a folder that holds no vocoder, or one for other mels or another rate, is a one-line error
    (tmp_path / "empty").mkdir()
    with pytest.raises(V2AError, match="not a vocoder folder"):
        load_pipeline("debug", vocoder=tmp_path / "empty")
    light_hifigan({**light.config, "sampling_rate": 16000}).save_pretrained(tmp_path / "16k")
    with pytest.raises(V2AError, match="does not fit the model: sampling_rate 16000 \\(not 22050\\)"):
        load_pipeline("debug", vocoder=tmp_path / "16k")


def test_vocoder_full_picks_the_full_vocoder_shipped_beside_the_models_own(tmp_path):
    import torch

    from v2a.models.vocoder import light_hifigan

    model = tmp_path / "model"
    debug_pipeline().save_pretrained(model)
    with pytest.raises(V2AError, match="has no full vocoder beside its own"):
        load_pipeline(model, vocoder="full")
    full = light_hifigan(debug_pipeline().vocoder.config)  # any other HiFi-GAN stands in for the full one
    full.save_pretrained(model / "vocoder-full")
    pipe = load_pipeline(model, vocoder="full", vocoder_dtype=torch.float32)  # weights as stored
    assert pipe.vocoder_name_or_path == str(model / "vocoder-full")
    assert all(torch.equal(a, b) for a, b in zip(pipe.vocoder.state_dict().values(), full.state_dict().values()))
    own = load_pipeline(model)  # the folder beside it changes nothing unless asked for
    assert own.vocoder.config.upsample_initial_channel != full.config.upsample_initial_channel


def test_same_inputs_seed_and_device_give_the_same_audio_bit_for_bit(tmp_path, clip_path):
    # two pipelines built apart, as two runs of the command would load them
    outputs, waves = [], []
    for run in range(2):
        pipe = debug_pipeline()
        pipe.set_progress_bar_config(disable=True)
        waves.append(generate(clip_path, prompt="drums", pipeline=pipe, steps=3, seed=11)[0])
        outputs.append(add_sound(clip_path, tmp_path / f"run{run}.mp4", prompt="drums", pipeline=pipe, steps=3,
                                 seed=11))
    assert np.array_equal(waves[0], waves[1])
    assert outputs[0].read_bytes() == outputs[1].read_bytes()  # the whole file, record included
    other = generate(clip_path, prompt="drums", pipeline=pipe, steps=3, seed=12)[0]
    assert not np.array_equal(waves[0], other)  # and the seed does matter
    with av.open(str(outputs[0])) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
