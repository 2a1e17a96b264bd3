"""v2a's own loading (``models.base``, ``pipeline_base``, ``scheduler`` and the BERT, tokenizer and
HiFi-GAN it carries instead of importing diffusers and transformers) gives what those libraries give,
and reads the folders they write."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from v2a.errors import V2AError
from v2a.models.base import Config, load_tensors
from v2a.models.text_encoder import Bert, Tokenizer
from v2a.models.vocoder import LIGHT_HIFIGAN, HifiGan, light_hifigan
from v2a.presets import _debug_transformer, default_weights_dir
from v2a.scheduler import FlowMatchEulerScheduler

TEXTS = ["a dog barks", "", "Rain on a tin roof, heavy and LOUD!", "café crème, naïve façade", "x" * 40,
         " ".join(["thunder rolls over the hills"] * 20)]


@pytest.mark.parametrize("shift", [1.0, 3.0])
@pytest.mark.parametrize("steps", [1, 4, 16, 25])
def test_scheduler_matches_diffusers(shift, steps):
    diffusers = pytest.importorskip("diffusers")
    theirs = diffusers.FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
    ours = FlowMatchEulerScheduler(num_train_timesteps=1000, shift=shift)
    theirs.set_timesteps(steps)
    ours.set_timesteps(steps)
    assert torch.equal(ours.timesteps, theirs.timesteps) and torch.equal(ours.sigmas, theirs.sigmas)
    sample = torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0))
    for t in ours.timesteps:
        velocity = torch.randn(2, 5, 3)
        expected = theirs.step(velocity, t, sample).prev_sample
        sample = ours.step(velocity, t, sample).prev_sample
        assert torch.equal(sample, expected)


def test_scheduler_refuses_options_it_does_not_implement(tmp_path):
    shipped = json.loads((default_weights_dir() / "scheduler" / "scheduler_config.json").read_text())
    assert FlowMatchEulerScheduler.from_config(shipped).config == {"num_train_timesteps": 1000, "shift": 5.0}
    # diffusers' FlowMatchEulerDiscreteScheduler config (as version 5 shipped it): its defaults are
    # what this scheduler does, so it loads; an option it does not implement is refused
    diffusers_config = {"_class_name": "FlowMatchEulerDiscreteScheduler", "num_train_timesteps": 1000, "shift": 1.0,
                        "use_dynamic_shifting": False, "invert_sigmas": False, "shift_terminal": None,
                        "use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False,
                        "stochastic_sampling": False, "base_shift": 0.5, "max_shift": 1.15}
    assert FlowMatchEulerScheduler.from_config(diffusers_config).config == {"num_train_timesteps": 1000, "shift": 1.0}
    with pytest.raises(ValueError, match="use_karras_sigmas"):
        FlowMatchEulerScheduler.from_config({**diffusers_config, "use_karras_sigmas": True})
    FlowMatchEulerScheduler(shift=2.5).save_pretrained(tmp_path)
    assert FlowMatchEulerScheduler.from_pretrained(tmp_path).config.shift == 2.5


def test_bert_matches_transformers_with_padding():
    transformers = pytest.importorskip("transformers")
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=20)
    torch.manual_seed(0)
    theirs = transformers.BertModel(config, add_pooling_layer=False).eval()
    ours = Bert(**config.to_dict()).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ids = torch.randint(1, 50, (3, 7))
    mask = torch.ones(3, 7, dtype=torch.long)
    mask[1, 4:], mask[2, 1:] = 0, 0
    with torch.no_grad():
        expected = theirs(input_ids=ids, attention_mask=mask).last_hidden_state
        torch.testing.assert_close(ours(ids, mask), expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(ours(ids[:1], mask[:1]), expected[:1], rtol=0, atol=1e-6)  # no padding at all


def test_tokenizer_matches_transformers():
    transformers = pytest.importorskip("transformers")
    folder = default_weights_dir() / "tokenizer"
    theirs = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    ours = Tokenizer.from_pretrained(folder)
    assert ours.vocab_size == theirs.vocab_size
    for kwargs in (dict(padding=True, truncation=True, max_length=16), dict(padding=True)):
        expected = theirs(TEXTS, return_tensors="pt", **kwargs)
        got = ours(TEXTS, return_tensors="pt", **kwargs)
        assert torch.equal(got["input_ids"], expected["input_ids"])
        assert torch.equal(got["attention_mask"], expected["attention_mask"])
    assert ours(TEXTS, truncation=True, max_length=16)["input_ids"].shape == (len(TEXTS), 16)


def test_hifigan_matches_transformers_and_reads_and_writes_its_folders(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.SpeechT5HifiGanConfig(model_in_dim=8, upsample_initial_channel=16, upsample_rates=[4, 2],
                                                upsample_kernel_sizes=[8, 4], resblock_kernel_sizes=[3, 5],
                                                resblock_dilation_sizes=[[1, 3], [1, 2]], initializer_range=0.3)
    torch.manual_seed(0)
    theirs = transformers.SpeechT5HifiGan(config).eval()
    theirs.mean.normal_()
    theirs.scale.uniform_(0.5, 2.0)  # normalize_before is on by default: check it is applied alike
    theirs.save_pretrained(tmp_path / "theirs")
    ours = HifiGan.from_pretrained(tmp_path / "theirs")
    mel = torch.randn(2, 12, 8)
    with torch.no_grad():
        expected = theirs(mel)
        assert ours(mel).shape == (2, 12 * 8)
        torch.testing.assert_close(ours(mel), expected, rtol=0, atol=1e-6)
        ours.save_pretrained(tmp_path / "ours")
        again = transformers.SpeechT5HifiGan.from_pretrained(str(tmp_path / "ours")).eval()
        torch.testing.assert_close(again(mel), expected, rtol=0, atol=1e-6)


def test_the_light_hifigan_is_a_fifteenth_of_the_shipped_one_with_its_hop_and_rate():
    shipped = HifiGan.config_from_folder(default_weights_dir() / "vocoder")  # the config alone: no weights read
    light = light_hifigan(shipped)
    assert 0.7e6 <= sum(p.numel() for p in light.parameters()) <= 1.5e6
    assert light.config.upsample_initial_channel == LIGHT_HIFIGAN["upsample_initial_channel"] == 128
    assert {k: light.config[k] for k in ("model_in_dim", "sampling_rate", "normalize_before")} == \
           {k: shipped[k] for k in ("model_in_dim", "sampling_rate", "normalize_before")}
    with torch.no_grad():
        assert light(torch.randn(2, 7, 80)).shape == (2, 7 * 256)


def test_a_bfloat16_hifigan_keeps_its_last_stage_in_float32_and_sounds_the_same():
    torch.manual_seed(0)
    vocoder = HifiGan(model_in_dim=8, upsample_initial_channel=16, upsample_rates=(4, 2), upsample_kernel_sizes=(8, 4),
                      resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 3), (1, 2)), initializer_range=0.1).eval()
    mel = torch.randn(2, 40, 8)
    with torch.no_grad():
        full = vocoder(mel)
        assert vocoder.set_precision(torch.bfloat16) is vocoder
        half = vocoder(mel)
    last = [vocoder.upsampler[1], *vocoder.resblocks[2:], vocoder.conv_post]  # 2 resblocks per stage
    last_ids = {id(p) for module in last for p in module.parameters()}
    assert {p.dtype for module in last for p in module.parameters()} == {torch.float32}
    assert {p.dtype for p in vocoder.parameters() if id(p) not in last_ids} == {torch.bfloat16}
    assert half.dtype == torch.float32 and half.shape == full.shape
    assert vocoder.mean.dtype == vocoder.scale.dtype == torch.float32  # the input is normalised in float32
    # bfloat16 keeps 8 bits of mantissa: the waveform stays within a few percent of float32's
    assert 0 < (half - full).abs().max() < 0.05 * full.abs().max() < 0.05  # not saturated by tanh
    assert torch.corrcoef(torch.stack([half.flatten(), full.flatten()]))[0, 1] > 0.999


def test_bfloat16_is_the_default_only_on_a_cpu_that_computes_it_natively(monkeypatch):
    from v2a.presets import cpu_computes_bfloat16, load_pipeline

    assert not cpu_computes_bfloat16("cuda") and not cpu_computes_bfloat16("cuda:1")
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    for native, expected in ((True, torch.bfloat16), (False, torch.float32)):
        # AVX512-BF16 decides (oneDNN's own check also accepts plain AVX-512, which only emulates it)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: native, raising=False)
        assert cpu_computes_bfloat16("cpu") is native
        pipe = load_pipeline("debug")
        assert pipe.transformer.dtype == pipe.vocoder.dtype == expected
        assert pipe.text_encoder.dtype == pipe.frame_encoder.dtype == pipe.vocoder.conv_post.weight.dtype == torch.float32
    pipe = load_pipeline("debug", dtype=torch.float32)  # asked for: float32 throughout, on any machine
    assert {p.dtype for p in pipe.transformer.parameters()} == {p.dtype for p in pipe.vocoder.parameters()} == {torch.float32}
    pipe = load_pipeline("debug", dtype=torch.bfloat16)  # another precision asked for: the vocoder as the machine's
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.vocoder.dtype == expected


def test_a_network_round_trips_and_loads_strictly(tmp_path):
    model = _debug_transformer(text_dim=16, timing_dim=50).half()  # stored as float16, as weights/ is
    model.save_pretrained(tmp_path / "model")
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert saved["_class_name"] == "SoundTransformer" and saved["width"] == 16
    loaded = type(model).from_pretrained(tmp_path / "model")
    assert loaded.config == model.config and loaded.dtype == torch.float32 and not loaded.training
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert torch.equal(a.float(), b), name
    assert type(model).from_pretrained(tmp_path / "model", dtype=torch.float16).dtype == torch.float16

    # keys that diffusers writes (or that the class no longer takes) are left out
    (tmp_path / "model" / "config.json").write_text(json.dumps({**saved, "_diffusers_version": "0.42", "gone": 1}))
    assert type(model).from_pretrained(tmp_path / "model").config == model.config
    # a weight missing from the file is an error, not a random parameter
    from safetensors.torch import save_file

    weights = tmp_path / "model" / type(model).weights_name
    state = load_tensors(weights)
    del state["empty_timing"]
    save_file(state, str(weights))
    with pytest.raises(ValueError, match="missing.*empty_timing"):
        type(model).from_pretrained(tmp_path / "model")


def test_configs_are_frozen_but_copy():
    config = Config(width=4, stages=[[1, 2]])
    assert config.width == 4 and config.get("depth", 2) == 2
    with pytest.raises(TypeError):
        config["width"] = 8
    with pytest.raises(AttributeError):
        config.depth
    assert copy.deepcopy(config) == config and type(copy.deepcopy(config)) is Config


def test_pipeline_folders_written_through_diffusers_load(tmp_path, debug_pipe, clip_path):
    from v2a.media.decode import decode_video
    from v2a.pipeline import V2APipeline

    debug_pipe.save_pretrained(tmp_path / "model")
    index_path = tmp_path / "model" / "model_index.json"
    index = json.loads(index_path.read_text())
    assert index["vocoder"] == ["v2a.models.vocoder", "HifiGan"]
    # how the index of a folder saved by diffusers names the components v2a now carries itself
    index |= {"scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"], "tokenizer": ["transformers", "BertTokenizer"],
              "vocoder": ["transformers", "SpeechT5HifiGan"], "_diffusers_version": "0.42.1"}
    index_path.write_text(json.dumps(index))
    loaded = V2APipeline.from_pretrained(tmp_path / "model")
    loaded.set_progress_bar_config(disable=True)
    assert list(loaded.components) == list(debug_pipe.components)
    clip = decode_video(clip_path)
    wave = loaded(clip, prompt="drums", num_inference_steps=2, generator=torch.Generator().manual_seed(0)).waveforms[0]
    expected = debug_pipe(clip, prompt="drums", num_inference_steps=2,
                          generator=torch.Generator().manual_seed(0)).waveforms[0]
    np.testing.assert_array_equal(wave, expected)

    index_path.write_text(json.dumps(index | {"vocoder": ["transformers", "SomethingElse"]}))
    with pytest.raises(V2AError, match="unsupported component class transformers.SomethingElse"):
        V2APipeline.from_pretrained(tmp_path / "model")
    with pytest.raises(V2AError, match="no model_index.json"):
        V2APipeline.from_pretrained(Path(tmp_path / "nowhere"))
