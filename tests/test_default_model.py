"""The shipped default in weights/ loads offline and makes a soundtrack through the public API."""

import os

import numpy as np
import pytest

import v2a
from conftest import moving_square_frames, video_packets, write_video


@pytest.fixture(scope="module")
def default_pipe():
    os.environ["HF_HUB_OFFLINE"] = "1"  # anything that tried the hub would fail loudly
    pipe = v2a.load_pipeline()
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_components_are_the_pretrained_ones(default_pipe):
    assert default_pipe.vocoder.config.sampling_rate == 22050
    assert default_pipe.vocoder.config.upsample_initial_channel >= 128
    assert default_pipe.text_encoder.hidden_size == 384
    import torch

    from v2a.presets import cpu_computes_bfloat16

    # stored as float16 to save space, computed in float32 (bfloat16 on a CPU that computes it natively)
    computed = torch.bfloat16 if cpu_computes_bfloat16("cpu") else torch.float32
    assert {p.dtype for p in default_pipe.transformer.parameters()} == {computed}
    # the MiniLM encoder puts related prompts closer than unrelated ones
    tok = default_pipe.tokenizer(["a dog barks", "a puppy barking", "heavy rain"], padding=True, return_tensors="pt")
    with torch.no_grad():
        emb = default_pipe.text_encoder.pool(default_pipe.text_encoder(tok["input_ids"], tok["attention_mask"]),
                                             tok["attention_mask"])
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.2


def test_frame_encoder_label_embeddings_are_text_embeddings(default_pipe):
    labels = default_pipe.frame_encoder.label_embeddings
    assert labels.shape == (1000, 384)
    np.testing.assert_allclose(labels.norm(dim=-1).numpy(), 1.0, atol=1e-2)  # pooled, normalised MiniLM vectors


def test_generate_and_mux_with_default(default_pipe, tmp_path):
    path = write_video(tmp_path / "clip.mp4", moving_square_frames(15), fps=15)
    waveform, rate = v2a.generate(path, prompt="a drum hit", steps=2, pipeline=default_pipe)
    assert rate == 22050 and waveform.shape == (22050,) and np.isfinite(waveform).all()
    out = v2a.add_sound(path, prompt="a drum hit", steps=2, pipeline=default_pipe)
    assert out == tmp_path / "clip.v2a.mp4"
    assert video_packets(out) == video_packets(path)
    frames_waveform, _ = v2a.generate(moving_square_frames(15), fps=15, prompt="a drum hit", steps=2,
                                      pipeline=default_pipe)
    assert frames_waveform.shape == waveform.shape


def test_the_shipped_bank_fits_its_budget_and_retrieves_by_meaning(default_pipe):
    from v2a.bank import SoundBank, retrieve, select_bank, shipped_bank_path

    path = shipped_bank_path()
    assert path.stat().st_size <= 8_000_000
    bank = SoundBank.load(path)
    assert len({e.category for e in bank.entries}) >= 250 and len({e.family for e in bank.entries}) == 20
    assert all(e.caption and e.source and e.license and e.attribution for e in bank.entries)
    assert path.with_name("bank.attribution.md").is_file()  # the credits travel with the sounds
    hits = retrieve(default_pipe, bank, 2, prompt="a dog barking")
    assert [bank.entries[i].category for i, _ in hits] == ["wolf_dog", "wolf_dog"]
    hits = retrieve(default_pipe, bank, 3, prompt="rain", negative_prompt="water dripping")
    assert "water_drip" not in [bank.entries[i].category for i, _ in hits]
    # the shipped version 6 takes references: the bank is used when asked for, and by default only
    # where the settings say so (GenerationSettings.use_bank, off until the evaluation favours it)
    from v2a.settings import DEFAULTS

    assert default_pipe.takes_reference and DEFAULTS.use_bank is False
    assert select_bank(bank, default_pipe, use_default=False) is bank
    assert select_bank(None, default_pipe, use_default=DEFAULTS.use_bank) is None
    shipped = select_bank(None, default_pipe, use_default=True)  # what turning the setting on would give
    assert shipped is not None and len(shipped.entries) == len(bank.entries)
    assert select_bank(False, default_pipe, use_default=True) is None  # --no-bank


def test_the_shipped_weights_fit_their_budget():
    from v2a.presets import default_weights_dir

    files = [f for f in default_weights_dir().rglob("*") if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    bank = sum(f.stat().st_size for f in files if f.name.startswith("bank."))
    assert total - bank <= 64_000_000 and total <= 72_000_000  # issues 16 and 17
