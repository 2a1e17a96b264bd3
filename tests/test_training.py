"""Training commands on a tiny synthetic library: they run, checkpoint, resume and export."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from v2a.training.loop import TrainSettings, latest_checkpoint

RATE = 22050


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Six clicks-and-tones clips in two categories, split train/val."""
    root = tmp_path_factory.mktemp("library")
    (root / "clips").mkdir()
    rng = np.random.default_rng(0)
    records = []
    for i in range(6):
        wav = np.zeros(int(1.2 * RATE), np.float32)
        for start in (0.2, 0.7):
            n = int(0.1 * RATE)
            env = np.exp(-np.arange(n) / (0.02 * RATE))
            wav[int(start * RATE) : int(start * RATE) + n] += (env * rng.normal(0, 0.3, n) if i % 2 else
                                                            env * 0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / RATE))
        path = f"clips/c{i}.flac"
        sf.write(root / path, wav, RATE)
        category = "knock" if i % 2 else "bell"
        records.append({"id": f"c{i}", "path": path, "duration": 1.2, "captions": [f"a {category}", f"{category} sound"],
                        "category": category, "kind": "impact", "split": "val" if i >= 4 else "train",
                        "source": "test", "license": "CC0", "picture": None})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


def settings(run, steps, **kw):
    return TrainSettings(run_dir=run, steps=steps, batch_size=2, warmup_steps=1, checkpoint_every=2,
                         validate_every=100, quiet=True, **kw)


def test_autoencoder_trains_checkpoints_and_resumes(library, tmp_path):
    from v2a.models.autoencoder import MelAutoencoder
    from v2a.training.autoencoder import train_autoencoder

    run = tmp_path / "ae"
    train_autoencoder(library, settings(run, 4), crop_frames=32, hidden=8, latent_channels=4)
    assert latest_checkpoint(run).name == "step-4"
    first = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    # resuming continues from step 4 instead of starting over
    train_autoencoder(library, settings(run, 6), crop_frames=32, hidden=8, latent_channels=4)
    assert latest_checkpoint(run).name == "step-6"
    assert len(list((run / "checkpoints").glob("step-*"))) == 2  # older checkpoints pruned
    model = MelAutoencoder.from_pretrained(str(run / "model"))
    assert not torch.allclose(model.latent_std, torch.ones_like(model.latent_std))  # statistics were measured
    assert first[-1]["step"] == 4


def test_autoencoder_learns(library, tmp_path):
    from v2a.training.autoencoder import library_mels, reconstruction_error, train_autoencoder
    from v2a.models.autoencoder import MelAutoencoder

    mels = library_mels(library, "train")
    torch.manual_seed(0)
    before = reconstruction_error(MelAutoencoder(hidden=16, latent_channels=4), mels)
    model = train_autoencoder(library, settings(tmp_path / "ae", 60, learning_rate=3e-3), crop_frames=32, hidden=16,
                              latent_channels=4)
    assert reconstruction_error(model, mels) < 0.6 * before


def test_adversarial_decoder_fine_tuning_keeps_the_latent_space(library, tmp_path):
    from v2a.models.autoencoder import MelAutoencoder
    from v2a.training.autoencoder import library_mels, train_autoencoder

    start = tmp_path / "ae"
    train_autoencoder(library, settings(start, 2), crop_frames=32, hidden=8, latent_channels=4)
    before = MelAutoencoder.from_pretrained(str(start / "model"))
    run = tmp_path / "ae-gan"
    tuned = train_autoencoder(library, settings(run, 3), crop_frames=32, init=start / "model", decoder_only=True,
                              adversarial=0.5)
    after = MelAutoencoder.from_pretrained(str(run / "model"))
    assert after.config.hidden == 8 and tuned.config.latent_channels == 4  # sizes come from --init
    mel = torch.from_numpy(library_mels(library, "val")[0][:32].astype(np.float32))[None]
    with torch.no_grad():
        torch.testing.assert_close(after.encode(mel), before.encode(mel))  # same latent space
        assert not torch.allclose(after.decode(before.encode(mel)), before.decode(before.encode(mel)))
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["d"]) and np.isfinite(row["g_adv"]) for row in logged if "d" in row)
    assert any("d" in row for row in logged)
    with pytest.raises(ValueError, match="init"):
        train_autoencoder(library, settings(tmp_path / "x", 1), decoder_only=True)


def test_discriminator_learning_rate_scale(library, tmp_path):
    from v2a.training.autoencoder import AdversarialAutoencoder, train_autoencoder
    from v2a.models.autoencoder import MelAutoencoder
    from v2a.training.loop import param_groups

    model = AdversarialAutoencoder(MelAutoencoder(hidden=8, latent_channels=4), 1.0)
    model.autoencoder.encoder.requires_grad_(False)
    groups = param_groups(model, None, 1e-3, {"discriminator.": 4.0})
    assert groups[0]["lr"] == pytest.approx(4e-3) and "lr" not in groups[1]
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in model.discriminator.parameters()}
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in model.autoencoder.decoder.parameters()}
    assert len(param_groups(model, None, 1e-3, None)) == sum(p.requires_grad for p in model.parameters())
    with pytest.raises(ValueError, match="no trainable"):
        param_groups(model, None, 1e-3, {"critic.": 2.0})

    # end to end: the run trains, and its checkpoint resumes with the two groups
    start = tmp_path / "ae"
    train_autoencoder(library, settings(start, 2), crop_frames=32, hidden=8, latent_channels=4)
    run = tmp_path / "ae-gan"
    train_autoencoder(library, settings(run, 2), crop_frames=32, init=start / "model", decoder_only=True,
                      adversarial=0.5, discriminator_lr_scale=4.0)
    train_autoencoder(library, settings(run, 3), crop_frames=32, init=start / "model", decoder_only=True,
                      adversarial=0.5, discriminator_lr_scale=4.0)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if "loss" in line]
    assert rows and all(np.isfinite(r["d"]) for r in rows)
    assert all(r["lr"] <= 3e-4 * 1.0001 for r in rows)  # the decoder's rate is logged, not the scaled one
    assert latest_checkpoint(run).name == "step-3"


def test_multi_scale_mel_discriminator_sees_each_time_scale():
    from v2a.training.autoencoder import MelDiscriminator

    torch.manual_seed(0)
    discriminator = MelDiscriminator(0.0, 1.0, (1, 2, 4))
    mel = torch.randn(2, 64, 80)
    outputs = discriminator(mel)
    assert [features[0].shape[2] for _, features in outputs] == [64, 32, 16]  # frames each one sees
    swapped = mel.clone()
    swapped[:, [0, 1]] = mel[:, [1, 0]]  # the same frame pair's average
    with torch.no_grad():
        full, pairs, quads = (scores for scores, _ in discriminator(swapped))
        assert not torch.allclose(full, outputs[0][0])
        torch.testing.assert_close(pairs, outputs[1][0])
        torch.testing.assert_close(quads, outputs[2][0])


def test_discriminator_warmup_trains_only_the_discriminator_first(library, tmp_path):
    from safetensors.torch import load_file

    from v2a.models.autoencoder import MelAutoencoder
    from v2a.training.autoencoder import AdversarialAutoencoder, adversarial_autoencoder_loss, train_autoencoder

    torch.manual_seed(0)
    model = AdversarialAutoencoder(MelAutoencoder(hidden=8, latent_channels=4), 1.0, discriminator_warmup=2).train()
    mel = torch.randn(2, 32, 80)

    def gradients():
        model.zero_grad(set_to_none=True)
        adversarial_autoencoder_loss(model, {"mel": mel})[0].backward()
        return (sum(p.grad.abs().sum().item() for p in model.autoencoder.decoder.parameters()),
                sum(p.grad.abs().sum().item() for p in model.discriminator.parameters()))

    for _ in range(2):
        decoder, discriminator = gradients()
        assert decoder == 0 and discriminator > 0
    decoder, discriminator = gradients()
    assert decoder > 0 and discriminator > 0  # the warm-up is over
    assert int(model.steps_seen) == 3
    model.eval()
    adversarial_autoencoder_loss(model, {"mel": mel})
    assert int(model.steps_seen) == 3  # only training steps count

    # end to end: the count is checkpointed, so a resumed run does not warm up again
    start = tmp_path / "ae"
    train_autoencoder(library, settings(start, 2), crop_frames=32, hidden=8, latent_channels=4)
    run = tmp_path / "ae-gan"
    train_autoencoder(library, settings(run, 2), crop_frames=32, init=start / "model", decoder_only=True,
                      adversarial=0.5, discriminator_warmup=3, discriminator_scales=(1, 2))
    before = MelAutoencoder.from_pretrained(str(start / "model"))
    warmed = MelAutoencoder.from_pretrained(str(run / "model"))
    for a, b in zip(warmed.decoder.parameters(), before.decoder.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)  # untouched but for weight decay
    assert int(load_file(latest_checkpoint(run) / "model.safetensors")["model.steps_seen"]) == 2
    train_autoencoder(library, settings(run, 5), crop_frames=32, init=start / "model", decoder_only=True,
                      adversarial=0.5, discriminator_warmup=3, discriminator_scales=(1, 2))
    assert int(load_file(latest_checkpoint(run) / "model.safetensors")["model.steps_seen"]) == 5
    tuned = MelAutoencoder.from_pretrained(str(run / "model"))
    assert not all(torch.allclose(a, b, rtol=1e-3) for a, b in zip(tuned.decoder.parameters(), before.decoder.parameters()))


@pytest.fixture(scope="module")
def labelled_features(library, tmp_path_factory, debug_pipe):
    """A feature cache made by a frame encoder with non-trivial label embeddings, and that encoder."""
    import copy

    from v2a.training.features import build_transformer_features

    pipe = copy.deepcopy(debug_pipe)
    encoder = pipe.frame_encoder
    encoder.label_embeddings.copy_(torch.randn(encoder.label_embeddings.shape, generator=torch.Generator().manual_seed(0)))
    root = tmp_path_factory.mktemp("labelled")
    encoder.save_pretrained(root / "frame_encoder")
    return build_transformer_features(library, root / "features", pipe, progress=False), root / "frame_encoder"


def test_autoencoder_trains_on_a_feature_caches_mels_with_deeper_blocks(labelled_features, tmp_path):
    from v2a.models.autoencoder import MelAutoencoder, ResBlock1d
    from v2a.data.cache import iter_feature_cache
    from v2a.training.autoencoder import train_autoencoder, training_mels

    features, _ = labelled_features
    stored = [arrays["mel"] for _, arrays in iter_feature_cache(features, split="val")]
    mels = training_mels(features, "val")
    assert len(mels) == len(stored) == 2 and all(np.array_equal(a, b) for a, b in zip(mels, stored))
    model = train_autoencoder(features, settings(tmp_path / "ae", 2), crop_frames=32, hidden=8, latent_channels=4,
                              blocks=2)
    # 2 blocks at the latent rate + 2 per upsampling stage (downsample 4: two stages)
    assert sum(isinstance(m, ResBlock1d) for m in model.decoder) == 6
    again = MelAutoencoder.from_pretrained(str(tmp_path / "ae" / "model"))
    assert again.config.blocks == 2
    mel = torch.from_numpy(mels[0][:32].astype(np.float32))[None]
    assert torch.allclose(again(mel), model.cpu()(mel), atol=1e-5)


def test_carry_pack_round_trips_a_feature_cache(labelled_features, tmp_path):
    import importlib.util
    from pathlib import Path

    from v2a.data.cache import iter_feature_cache

    spec = importlib.util.spec_from_file_location("carry", Path(__file__).parents[1] / "scripts" / "carry_features.py")
    carry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(carry)
    features, frame_encoder = labelled_features
    carry.pack(features, frame_encoder, tmp_path / "pack.xz", max_val=1)
    carry.unpack(tmp_path / "pack.xz", tmp_path / "out")
    original = {meta["id"]: (meta, arrays) for meta, arrays in iter_feature_cache(features)}
    restored = list(iter_feature_cache(tmp_path / "out"))
    assert [m["split"] for m, _ in restored].count("val") == 1 and len(restored) == 5
    peak = max(np.abs(arrays["motion"].astype(np.float32)).max() for _, arrays in original.values())
    # 8-bit steps: mel 0.05 wide; motion mu-law, whose steps near the peak are 4.4 % of it
    tolerance = {"mel": 0.03, "motion": 0.025 * peak, "frame_features": 0.03, "frame_labels": 0.02, "text": 1e-3}
    for meta, arrays in restored:
        before_meta, before = original[meta["id"]]
        assert meta["captions"] == before_meta["captions"] and set(arrays) == set(before)
        for name, value in arrays.items():
            assert value.shape == before[name].shape, name
            error = np.abs(value.astype(np.float32) - before[name].astype(np.float32)).max() if value.size else 0
            assert error <= tolerance.get(name, 0), (name, error)
        assert np.abs(before["frame_labels"]).max() > 0.1  # the labels test is not of zeros


def test_carry_pack_in_six_bits_with_a_share_of_the_training_examples(labelled_features, tmp_path):
    import importlib.util
    from pathlib import Path

    from v2a.data.cache import iter_feature_cache

    spec = importlib.util.spec_from_file_location("carry", Path(__file__).parents[1] / "scripts" / "carry_features.py")
    carry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(carry)
    features, frame_encoder = labelled_features
    original = {meta["id"]: arrays for meta, arrays in iter_feature_cache(features)}
    carry.pack(features, frame_encoder, tmp_path / "none.xz", train_share=0.0)
    carry.unpack(tmp_path / "none.xz", tmp_path / "none")
    assert {m["split"] for m, _ in iter_feature_cache(tmp_path / "none")} == {"val"}
    carry.pack(features, frame_encoder, tmp_path / "six.xz", bits=6)
    carry.unpack(tmp_path / "six.xz", tmp_path / "six")
    mels = np.concatenate([a["mel"].astype(np.float32) for a in original.values()])
    step = (mels.max() - mels.min()) / 63
    errors = np.concatenate([(arrays["mel"].astype(np.float32) - original[meta["id"]]["mel"]).ravel()
                             for meta, arrays in iter_feature_cache(tmp_path / "six")])
    # subtractive dither: errors spread evenly over one step, whatever the mel, not rounded to a grid
    assert np.abs(errors).max() <= 0.5 * step + 1e-2
    assert 0.2 * step < errors.std() < 0.4 * step and abs(errors.mean()) < 0.05 * step
    carry.pack(features, None, tmp_path / "mels.xz", mel_only=True)  # for the vocoder: no encoder needed
    carry.unpack(tmp_path / "mels.xz", tmp_path / "mels")
    restored = list(iter_feature_cache(tmp_path / "mels"))
    assert len(restored) == len(original) and all(set(arrays) == {"mel"} for _, arrays in restored)
    assert max(np.abs(arrays["mel"].astype(np.float32) - original[meta["id"]]["mel"]).max()
               for meta, arrays in restored) < 0.03  # 8-bit steps


def test_sigma_shift_moves_training_noise_levels_toward_noise():
    from v2a.scheduler import FlowMatchEulerScheduler
    from v2a.training.transformer import draw_sigma

    torch.manual_seed(0)
    plain = draw_sigma(20000)
    torch.manual_seed(0)
    assert torch.equal(plain, torch.sigmoid(torch.randn(20000)))  # shift 1: the logit-normal as before
    torch.manual_seed(0)
    shifted = draw_sigma(20000, shift=3.0)
    assert 0.70 < shifted.median() < 0.80 and 0.4 < plain.median() < 0.6
    assert (shifted > 0.95).float().mean() > 10 * (plain > 0.95).float().mean()
    assert 0 < shifted.min() and shifted.max() < 1
    # the same map as the sampler's scheduler, so training and sampling agree on where steps go
    scheduler = FlowMatchEulerScheduler(shift=3.0)
    s = np.array([0.1, 0.5, 0.9])
    assert np.allclose(scheduler._shifted(s), 3 * s / (1 + 2 * s))


def test_transformer_features_and_training(library, tmp_path, debug_pipe):
    from v2a.data.cache import read_index
    from v2a.training.features import build_transformer_features
    from v2a.training.transformer import batches, DropoutSettings, flow_matching_loss, load_examples, train_transformer

    out = build_transformer_features(library, tmp_path / "features", debug_pipe, progress=False)
    index = read_index(out)
    assert {r["split"] for r in index} == {"train", "val"} and len(index) == 6
    # resumable: a second call finds everything done
    build_transformer_features(library, out, debug_pipe, progress=False)
    assert len(read_index(out)) == 6

    ae = debug_pipe.autoencoder
    examples = load_examples(out, "train", ae)
    batch = next(batches(examples, 3, 16, 21.5, DropoutSettings(text=0.5, video=0.5), seed=0))
    assert batch["latent"].shape == (3, 16, ae.config.latent_channels)
    assert batch["motion"].shape[:2] == (3, 16)
    loss, _ = flow_matching_loss(debug_pipe.transformer, batch)
    assert torch.isfinite(loss)

    config = dict(debug_pipe.transformer.config)
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    run = tmp_path / "dit"
    model = train_transformer(out, ae, settings(run, 3), config, crop_seconds=0.5)
    assert (run / "model" / "config.json").is_file() and latest_checkpoint(run).name == "step-3"
    assert model.config.width == debug_pipe.transformer.config.width
    # the held-out loss is logged at the end of the run
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any(np.isfinite(row.get("val_loss", np.nan)) for row in logged)

    # benchmarks/sampling_check.py reads the run's model and the cache it trained on
    check = _load_benchmark("sampling_check")
    ae.save_pretrained(str(tmp_path / "latent"))
    report = check.main(["--transformer", str(run / "model"), "--features", str(out), "--autoencoder",
                         str(tmp_path / "latent"), "--crops", "2", "--guidance", "6", "--shift", "1", "3", "--steps", "2"])
    assert [row["sigma"] for row in report["denoising"]] == list(check.SIGMAS)
    # one noise draw for every level: the input's error is sigma^2 times the same mean square
    per_level = [row["input_error"] / row["sigma"] ** 2 for row in report["denoising"]]
    assert np.allclose(per_level, per_level[-1], rtol=1e-4) and per_level[-1] > 0.5
    assert all(np.isfinite(row["estimate_error"]) for row in report["denoising"])
    assert [(row["shift"], row["guidance"]) for row in report["sampling"]] == [(1.0, 6.0), (3.0, 6.0)]
    assert all(np.isfinite(row["error"]) and -1 <= row["envelope_corr"] <= 1 for row in report["sampling"])


def _load_benchmark(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sampling_check_sampler_lands_on_the_target_with_the_exact_velocity():
    """With the straight path's true velocity, Euler steps are exact at any shift and guidance:
    the check's sampler must land on the clean latent (a wrong step sign or shift would not)."""
    check = _load_benchmark("sampling_check")
    target = torch.randn(2, 5, 3)

    def oracle(x, sigma, cond, mask):  # v = noise - latent, recovered from x = (1 - s) latent + s noise
        return (x - target) / sigma[:, None, None]

    for shift in (1.0, 3.0):
        out = check.euler_sample(oracle, None, None, None, target.shape, guidance=6.0, shift=shift, steps=4, seed=0)
        assert torch.allclose(out, target, atol=1e-5)


def test_heldout_loss_is_repeatable_and_tracks_the_weights(library, tmp_path, debug_pipe):
    import copy

    from v2a.training.features import build_transformer_features
    from v2a.training.transformer import heldout_loss, load_examples

    out = build_transformer_features(library, tmp_path / "features", debug_pipe, progress=False, limit=2)
    examples = load_examples(out, "train", debug_pipe.autoencoder)
    model = copy.deepcopy(debug_pipe.transformer)  # the fixture is shared: perturb a copy
    first = heldout_loss(model, examples, 16, 21.5, batch_size=2, n_batches=2)
    assert np.isfinite(first) and first == heldout_loss(model, examples, 16, 21.5, batch_size=2, n_batches=2)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    assert heldout_loss(model, examples, 16, 21.5, batch_size=2, n_batches=2) != first


def test_dropped_conditions_match_inference_empty_conditions(library, tmp_path, debug_pipe):
    """A fully dropped training example must see exactly what inference's "no prompt, no video" sees."""
    from v2a.training.features import build_transformer_features
    from v2a.training.transformer import DropoutSettings, batches, conditions_for_batch, load_examples

    out = build_transformer_features(library, tmp_path / "features", debug_pipe, progress=False, limit=2)
    examples = load_examples(out, "train", debug_pipe.autoencoder)
    batch = next(batches(examples, 2, 16, 21.5, DropoutSettings(text=1.0, video=1.0), seed=0))
    model = debug_pipe.transformer
    with torch.no_grad():
        dropped = conditions_for_batch(model, batch)
        empty = model.prepare_conditions(None, None, None, None, None, None, 16, 2)
        x = torch.randn(2, 16, model.config.latent_channels)
        sigma = torch.full((2,), 0.5)
        torch.testing.assert_close(model(x, sigma, dropped), model(x, sigma, empty), atol=1e-5, rtol=1e-5)


def test_vocoder_fine_tuning_runs_and_resumes(library, tmp_path, debug_pipe):
    import copy

    from v2a.training.vocoder import _held_out_mel, library_waves, resynthesis_distance, train_vocoder

    generator = copy.deepcopy(debug_pipe.vocoder).train()
    run = tmp_path / "voc"
    final = train_vocoder(library, settings(run, 2), generator)
    assert latest_checkpoint(run).name == "step-2"
    train_vocoder(library, settings(run, 3), copy.deepcopy(debug_pipe.vocoder).train())
    assert latest_checkpoint(run).name == "step-3"
    assert (run / "model" / "model.safetensors").is_file()
    assert np.isfinite(resynthesis_distance(final.eval(), [_held_out_mel(w) for w in library_waves(library, "val")]))


def test_vocoder_fine_tuning_runs_on_autoencoded_mels(library, tmp_path, debug_pipe):
    import copy

    from v2a.training.vocoder import _held_out_mel, library_waves, resynthesis_distance, train_vocoder

    before = copy.deepcopy(debug_pipe.vocoder).float()
    autoencoder = copy.deepcopy(debug_pipe.autoencoder).float()
    encoded = []
    autoencoder.encoder.register_forward_hook(lambda module, args, out: encoded.append(args[0].shape))
    final = train_vocoder(library, settings(tmp_path / "gta", 2), copy.deepcopy(before).train(),
                          autoencoder=autoencoder)
    assert encoded  # the training crops went through the autoencoder
    changed = [k for k, v in final.state_dict().items() if not torch.equal(v, before.state_dict()[k])]
    assert changed
    assert np.isfinite(resynthesis_distance(final.eval(), [_held_out_mel(w, autoencoder)
                                                           for w in library_waves(library, "val")]))


def _tiny_hifigan(seed: int):
    """The debug vocoder's shape at a smaller spread, so its output lies mostly short of tanh's
    saturation (an RMS of about 0.05) and a student can follow it within a few steps."""
    from v2a.models.vocoder import HifiGan

    torch.manual_seed(seed)
    return HifiGan(model_in_dim=80, sampling_rate=22050, upsample_initial_channel=16, upsample_rates=[8, 8, 2, 2],
                   upsample_kernel_sizes=[16, 16, 4, 4], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                   normalize_before=False, initializer_range=0.15)


def test_distillation_teaches_the_student_the_teachers_waveform():
    import copy

    from v2a.evaluation.metrics import multi_resolution_stft_distance
    from v2a.training.vocoder import DistilledVocoderGAN, distillation_loss, distilled_gan_loss

    teacher, student = _tiny_hifigan(0).eval().requires_grad_(False), _tiny_hifigan(1)
    teacher_state = {k: v.clone() for k, v in teacher.state_dict().items()}
    torch.manual_seed(2)
    mel, held_out = torch.randn(4, 32, 80) - 4, torch.randn(1, 64, 80) - 4

    def distance():  # an independent measure, on mels the student never learns from
        with torch.no_grad():
            return multi_resolution_stft_distance(student(held_out)[0].numpy(), teacher(held_out)[0].numpy(),
                                                  22050)["total"]

    with torch.no_grad():
        target = teacher(mel)
    assert distillation_loss(copy.deepcopy(teacher), mel, target)[0] < 1e-5  # nothing left to learn from itself
    optimizer = torch.optim.Adam(student.parameters(), lr=3e-3)
    before, losses = distance(), []
    for _ in range(20):
        loss, logs = distillation_loss(student, mel, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert set(logs) == {"distill_mel_l1", "distill_stft", "distill_wave_l1"}
    assert losses[-1] < 0.7 * losses[0], losses
    assert distance() < 0.85 * before, (distance(), before)
    assert all(torch.equal(v, teacher_state[k]) for k, v in teacher.state_dict().items())  # the teacher stays

    # through the training loss: half the crops' true mels and half the autoencoded ones reach both networks,
    # and only training steps count towards the end of distillation
    heard = []
    teacher.register_forward_hook(lambda module, args, out: heard.append(args[0]))
    model = DistilledVocoderGAN(student, distill_steps=2).train()
    batch = {"mel": mel, "true_mel": torch.randn(4, 32, 80), "audio": torch.zeros(4, 8192)}
    loss, logs = distilled_gan_loss(model, batch, teacher)
    assert "distill_stft" in logs and int(model.steps_seen) == 1
    torch.testing.assert_close(heard[-1], torch.cat([batch["true_mel"][:2], mel[2:]]))
    loss.backward()
    assert all(p.grad is not None and not p.grad.any() for p in model.discriminators.parameters())  # resting
    model.eval()
    distilled_gan_loss(model, batch, teacher)
    assert int(model.steps_seen) == 1 and len(heard) == 2
    model.train()
    distilled_gan_loss(model, batch, teacher)
    loss, logs = distilled_gan_loss(model, batch, teacher)  # the third training step: the GAN recipe
    assert int(model.steps_seen) == 3 and len(heard) == 3 and "d" in logs

    # a kept target stands in for the teacher: it is not run, and the student learns that target
    kept = DistilledVocoderGAN(student, distill_steps=1).train()
    ahead = {"mel": mel, "audio": torch.zeros(4, 8192), "teacher_audio": target}
    loss, logs = distilled_gan_loss(kept, ahead, teacher)
    assert len(heard) == 3
    torch.testing.assert_close(loss, distillation_loss(student, mel, target)[0])


def test_distillation_then_gan_phases_follow_the_checkpointed_step(library, tmp_path, debug_pipe):
    import copy

    from safetensors.torch import load_file

    from v2a.training.vocoder import train_vocoder

    from v2a.training.vocoder import library_waves

    teacher = copy.deepcopy(debug_pipe.vocoder).float()
    calls = []
    teacher.register_forward_hook(lambda module, args, out: calls.append(args[0].shape))
    run = tmp_path / "light"

    def train(steps):
        calls.clear()
        train_vocoder(library, settings(run, steps), _tiny_hifigan(1).train(), teacher=teacher, distill_steps=3)
        state = load_file(latest_checkpoint(run) / "model.safetensors")
        rows = [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if "loss" in r]
        return len(calls), int(state["model.steps_seen"]), state, rows

    clips = len(library_waves(library, "train"))
    rendered, seen, state, rows = train(2)
    assert rendered >= clips  # once per clip (long ones in chunks), before the first step; never in a step
    assert seen == 2 and all("distill_stft" in r and "d" not in r for r in rows)
    assert {k.split(".")[1] for k in state} == {"generator", "discriminators", "steps_seen"}  # no teacher
    # resumed at step 2: the kept teacher waveforms are read back, one more distillation step (step 3),
    # then the GAN recipe
    rendered, seen, _, rows = train(5)
    assert (rendered, seen) == (0, 5) and "d" in rows[-1] and "distill_stft" not in rows[-1]


def test_kept_teacher_waveforms_line_up_with_the_crops_mels(tmp_path):
    from v2a.signal.audio import log_mel
    from v2a.training.vocoder import SEGMENT, segments, teacher_targets

    teacher = _tiny_hifigan(0).eval().requires_grad_(False)
    runs = []
    teacher.register_forward_hook(lambda module, args, out: runs.append(1))
    rng = np.random.default_rng(0)
    waves = [(rng.standard_normal(n) * np.repeat(rng.uniform(0.01, 1, n // 512 + 1), 512)[:n]).astype(np.float32)
             for n in (30_000, 20_011, 9_000, 5_000)]  # the last shorter than a crop
    targets = teacher_targets(teacher, waves, tmp_path / "teacher")
    assert [len(t) for t in targets] == [len(w) for w in waves] and runs
    runs.clear()
    again = teacher_targets(teacher, waves, tmp_path / "teacher")  # read back, not recomputed
    assert not runs and all(np.array_equal(a, b) for a, b in zip(targets, again))
    other = _tiny_hifigan(3).eval()
    assert not np.allclose(teacher_targets(other, waves, tmp_path / "teacher")[0], targets[0])  # another teacher

    batch = next(segments(waves[:3], 6, seed=1, targets=targets[:3]))  # crops inside their clips
    with torch.no_grad():
        own = teacher(log_mel(batch["audio"]))  # the teacher on the crop alone
    inner = slice(6 * 256, SEGMENT - 6 * 256)  # beyond the teacher's reach (5 frames) from the crop's padded edges
    crop_audio = batch["teacher_audio"][:, inner]
    assert (crop_audio - own[:, inner]).abs().max() < 1e-3  # float16 rounding
    shifted = torch.roll(own, 128, dims=1)[:, inner]  # half a frame off is far
    assert (crop_audio - shifted).abs().mean() > 10 * (crop_audio - own[:, inner]).abs().mean()


def test_vocoder_learns_from_a_feature_caches_mels_with_the_teachers_renders(labelled_features, library, tmp_path):
    from v2a.training.vocoder import SEGMENT, feature_mels, mel_segments, teacher_renders, train_vocoder

    features, _ = labelled_features
    teacher = _tiny_hifigan(0).eval().requires_grad_(False)
    mels = feature_mels(features, "train")
    renders = teacher_renders(teacher, mels)
    assert [len(r) for r in renders] == [256 * len(m) for m in mels] and len({len(m) for m in mels}) > 1
    with torch.no_grad():  # rendered together, padded to the longest: each clip as if alone, but for its end
        for mel, render in zip(mels, renders):
            alone = teacher(torch.from_numpy(mel)[None])[0].numpy()
            assert np.abs(render[: -6 * 256] - alone[: -6 * 256]).max() < 1e-4
    batch = next(mel_segments(mels, renders, 6, seed=1))
    assert batch["mel"].shape == (6, SEGMENT // 256, 80) and batch["audio"] is batch["teacher_audio"]
    with torch.no_grad():
        own = teacher(batch["mel"])  # the teacher on the crop's mel alone
    inner = slice(6 * 256, SEGMENT - 6 * 256)  # beyond the teacher's reach from the crop's edges
    assert (batch["audio"][:, inner] - own[:, inner]).abs().max() < 1e-4  # the crop's mel is where its audio is
    assert (batch["audio"][:, inner] - torch.roll(own, 256, dims=1)[:, inner]).abs().max() > 1e-2

    run = tmp_path / "from-mels"
    train_vocoder(None, settings(run, 2), _tiny_hifigan(1).train(), teacher=teacher, features=features,
                  audio_samples=False)
    assert (run / "model" / "model.safetensors").is_file() and not list(run.glob("samples/*/*.wav"))
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert "distill_stft" in rows[0] and np.isfinite(rows[-1]["val_mr_stft"])  # against the teacher's renders
    with pytest.raises(ValueError, match="teacher"):
        train_vocoder(None, settings(tmp_path / "x", 1), _tiny_hifigan(1), features=features)
    with pytest.raises(ValueError, match="library or a feature cache"):
        train_vocoder(library, settings(tmp_path / "y", 1), _tiny_hifigan(1), teacher=teacher, features=features)


def test_vocoder_crops_through_an_autoencoder_stay_aligned_with_their_audio():
    from v2a.signal.audio import log_mel
    from v2a.training.vocoder import SEGMENT, segments

    class PassThrough(torch.nn.Module):  # the round trip adds only the training latent noise
        def encode(self, mel):
            return mel

        def decode(self, z):
            return z

    rng = np.random.default_rng(0)
    bursts = np.repeat(rng.uniform(0.01, 1.0, 200), 512)  # a loudness that changes every two frames
    wave = (rng.standard_normal(len(bursts)) * bursts).astype(np.float32)
    batch = next(segments([wave], 3, seed=1, autoencoder=PassThrough()))
    assert batch["audio"].shape == (3, SEGMENT)
    assert batch["mel"].shape == batch["true_mel"].shape == (3, SEGMENT // 256, 80)
    own = log_mel(batch["audio"])
    inner = (batch["mel"] - own)[:, 2:-2].abs().mean()  # the crop's own edge frames see its reflect padding
    assert inner < 0.15  # only the latent noise (mean |N(0, 0.1)| = 0.08)
    torch.testing.assert_close(batch["true_mel"][:, 2:-2], own[:, 2:-2], rtol=0, atol=1e-3)  # the true mel, aligned
    assert (batch["mel"][:, 3:-1] - own[:, 2:-2]).abs().mean() > 5 * inner  # one frame off is far
    torch.manual_seed(123)  # the global generator must not matter: a resumed run sees the same noise
    again = next(segments([wave], 3, seed=1, autoencoder=PassThrough()))
    assert torch.equal(again["mel"], batch["mel"])
    other = next(segments([wave], 3, seed=2, autoencoder=PassThrough()))
    assert not torch.equal(other["mel"], batch["mel"])


def test_warm_start_copies_matching_weights_and_leaves_new_shapes_fresh(debug_pipe):
    from v2a.training.transformer import warm_start
    from v2a.models.transformer import SoundTransformer

    previous = debug_pipe.transformer
    config = dict(previous.config)
    config = {k: v for k, v in config.items() if not k.startswith("_")}
    model = SoundTransformer(**{**config, "latent_channels": previous.config.latent_channels * 2})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fresh = warm_start(model, previous)
    after, old = model.state_dict(), previous.state_dict()
    assert fresh and all(after[k].shape != old[k].shape for k in fresh if k in old)
    copied = [k for k in after if k not in fresh]
    assert copied and all(torch.equal(after[k], old[k]) for k in copied)
    assert all(torch.equal(after[k], before[k]) for k in fresh)


def test_edge_loss_punishes_blur_more_than_a_level_shift():
    from v2a.training.autoencoder import edge_loss

    mel = torch.zeros(1, 32, 80)
    mel[:, ::4, ::5] = 4.0  # sharp onsets and harmonics
    blurred = torch.nn.functional.avg_pool2d(mel[None], 3, 1, 1)[0]
    shifted = mel + 1.0
    assert edge_loss(shifted, mel) < 1e-6
    assert edge_loss(blurred, mel) > 0.5


def test_prefetched_batches_keep_their_order_and_errors():
    from v2a.training.loop import prefetched

    def numbers():
        yield from ({"i": i} for i in range(6))
        raise RuntimeError("source broke")

    batches = prefetched(numbers(), depth=2)
    assert [next(batches)["i"] for _ in range(6)] == list(range(6))
    with pytest.raises(RuntimeError, match="source broke"):
        next(batches)
    assert list(prefetched(iter([{"i": 1}, {"i": 2}]))) == [{"i": 1}, {"i": 2}]  # a finite source ends


def test_transformer_command_trains_without_audio_samples(labelled_features, tmp_path, debug_pipe):
    import subprocess
    import sys

    features, _ = labelled_features
    debug_pipe.autoencoder.save_pretrained(tmp_path / "ae")
    run = tmp_path / "dit"
    result = subprocess.run([sys.executable, "-m", "v2a.cli", "train", "transformer", "--features", str(features),
                             "--autoencoder", str(tmp_path / "ae"), "--run", str(run), "--model", "debug",
                             "--steps", "2", "--batch-size", "2", "--crop-seconds", "0.5", "--width", "32",
                             "--depth", "1", "--heads", "2", "--no-audio-samples", "--quiet"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "model" / "training.json").read_text())["autoencoder"] == str(tmp_path / "ae")
    assert not list(run.glob("samples/*/*.wav"))  # no audio samples: no vocoder was needed
    logged = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert any("val_loss" in row for row in logged)  # the held-out loss is still measured


def test_mel_patches_fit_the_train_split_and_round_trip_exactly(library, tmp_path):
    import subprocess
    import sys

    from v2a.models.autoencoder import MelPatches, load_audio_latent
    from v2a.training.autoencoder import library_mels

    out = tmp_path / "patches"
    result = subprocess.run([sys.executable, "-m", "v2a.cli", "train", "mel-patches", "--library", str(library),
                             "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    latent = load_audio_latent(out)
    assert isinstance(latent, MelPatches) and latent.latent_channels == 160
    frames = np.concatenate(library_mels(library, "train")).astype(np.float64)
    np.testing.assert_allclose(latent.bin_mean.numpy(), frames.mean(0), rtol=1e-5, atol=1e-4)  # train split only
    mel = torch.from_numpy(library_mels(library, "val")[0][:64].astype(np.float32))[None]
    z = latent.encode(mel)
    assert z.shape == (1, 32, 160)
    assert abs(z.mean().item()) < 1.0 and 0.3 < z.std().item() < 3.0  # roughly normalised for the transformer
    torch.testing.assert_close(z[0, 3, 80:], (mel[0, 7] - latent.bin_mean) / latent.bin_std)  # frames 6, 7 -> token 3
    torch.testing.assert_close(latent.decode(z), mel, atol=1e-4, rtol=1e-5)  # nothing is lost


def test_transformer_trains_on_mel_patches_and_the_pipeline_decodes_them(library, tmp_path, debug_pipe):
    import copy

    from v2a.models.autoencoder import MelPatches
    from v2a.training.autoencoder import fit_mel_patches
    from v2a.training.features import build_transformer_features
    from v2a.training.transformer import train_transformer
    from v2a.media.decode import VideoClip

    patches = fit_mel_patches(library)
    pipe = copy.deepcopy(debug_pipe)
    pipe.autoencoder = patches
    config = {k: v for k, v in pipe.transformer.config.items() if not k.startswith("_")}
    config["latent_channels"] = patches.latent_channels
    # features made on the old latent's clock (4 mel frames per motion frame) are refused
    old_clock = build_transformer_features(library, tmp_path / "old", debug_pipe, progress=False)
    with pytest.raises(ValueError, match="--latent"):
        train_transformer(old_clock, patches, settings(tmp_path / "x", 1), config, crop_seconds=0.5)
    features = build_transformer_features(library, tmp_path / "features", pipe, progress=False)
    model = train_transformer(features, patches, settings(tmp_path / "dit", 2), config, crop_seconds=0.5)
    assert model.config.latent_channels == 160
    pipe.transformer = model.eval()
    pipe.set_progress_bar_config(disable=True)
    out = pipe([VideoClip.from_array(np.zeros((10, 32, 32, 3), np.uint8), fps=10)], prompt="a knock",
               num_inference_steps=2)
    assert len(out.waveforms[0]) == 22050 and np.isfinite(out.waveforms[0]).all()
    pipe.save_pretrained(tmp_path / "pipe")
    assert isinstance(type(debug_pipe).from_pretrained(str(tmp_path / "pipe")).autoencoder, MelPatches)


def _reference_model():
    from v2a.models.transformer import SoundTransformer

    torch.manual_seed(0)
    model = SoundTransformer(latent_channels=6, width=16, depth=1, heads=2, text_dim=8, frame_dim=4, timing_dim=3,
                             reference_tokens=4).eval()
    with torch.no_grad():  # trained weights are not zero: make every path count
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


def test_reference_tokens_carry_what_not_when():
    model = _reference_model()
    b, t = 2, 5
    text, text_mask = torch.randn(b, 3, 8), torch.ones(b, 3, dtype=torch.bool)
    reference = torch.randn(b, 12, 6)
    latents, sigma = torch.randn(b, t, 6), torch.full((b,), 0.5)

    def velocity(ref, **kw):
        cond = model.prepare_conditions(text, text_mask, None, None, None, None, t, b, reference=ref, **kw)
        return model(latents, sigma, cond)

    with torch.no_grad():
        base = velocity(reference)
        # the same sounds in another order (whole 3-frame spans swapped): the reference carries no timing
        spans = reference.view(b, 4, 3, 6)
        torch.testing.assert_close(velocity(spans[:, [2, 0, 3, 1]].reshape(b, 12, 6)), base)
        assert not torch.allclose(velocity(torch.randn(b, 12, 6)), base)  # but what it sounds like matters
        # a dropped reference is exactly "no reference", alone or in a batch
        dropped = velocity(reference, drop_reference=torch.tensor([True, False]))
        torch.testing.assert_close(dropped[0], velocity(None)[0])
        torch.testing.assert_close(dropped[1], base[1])
        # padding frames of a shorter reference are ignored
        padded = torch.cat([reference[:, :8], torch.randn(b, 4, 6)], 1)
        mask = torch.arange(12)[None].expand(b, -1) < 8
        torch.testing.assert_close(velocity(padded, reference_mask=mask), velocity(reference[:, :8]))


def test_references_come_from_another_recording_of_the_category():
    from v2a.training.transformer import pick_reference

    categories = ["dog", "dog", "rain", ""]
    by_category = {"dog": [0, 1], "rain": [2], "": [3]}
    lengths = [40, 40, 40, 40]
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert pick_reference(0, 5, categories, by_category, lengths, 10, rng)[0] == 1
        chosen, start = pick_reference(2, 5, categories, by_category, lengths, 10, rng)  # the only rain
        assert chosen == 2 and start != 5 and 0 <= start <= 30
        assert pick_reference(3, 0, categories, by_category, lengths, 10, rng)[0] == 3  # unlabelled: never another


def test_reference_augmentation_shifts_gain_and_pitch(library):
    from v2a.training.autoencoder import fit_mel_patches
    from v2a.training.transformer import REFERENCE_GAIN_DB, REFERENCE_PITCH_BINS, reference_augmenter

    patches = fit_mel_patches(library)
    mel = torch.full((8, 80), -10.0)
    mel[:, 40] = -2.0  # one partial
    mel[:, 79] = -3.0  # a loud top bin must not wrap round to the bottom
    latent = patches.encode(mel[None])[0].numpy()
    augment = reference_augmenter(patches)
    peaks, gains = set(), set()
    for seed in range(16):
        out = patches.decode(torch.from_numpy(augment(latent, np.random.default_rng(seed)))[None])[0]
        assert out.shape == mel.shape
        peak = int(out[0, 10:70].argmax()) + 10
        gain = float(out[0, 20] + 10.0)
        assert abs(peak - 40) <= REFERENCE_PITCH_BINS and abs(gain) <= REFERENCE_GAIN_DB / 20 * np.log(10) + 1e-4
        torch.testing.assert_close(out[:, 40 + (peak - 40)], torch.full((8,), -2.0 + gain), atol=1e-4, rtol=0)
        assert out[0, :REFERENCE_PITCH_BINS + 1].max() < -9.0 + REFERENCE_GAIN_DB / 20 * np.log(10)  # no wrap
        peaks.add(peak)
        gains.add(round(gain, 3))
    assert len(peaks) > 1 and len(gains) > 1  # the draws differ


def test_transformer_with_references_trains(labelled_features, tmp_path, debug_pipe):
    from v2a.training.transformer import batches, load_examples, reference_augmenter, train_transformer

    features, _ = labelled_features
    config = {k: v for k, v in debug_pipe.transformer.config.items() if not k.startswith("_")}
    config["reference_tokens"] = 3
    examples = load_examples(features, "train", debug_pipe.autoencoder)
    from v2a.training.transformer import DropoutSettings

    batch = next(batches(examples, 4, 8, 21.5, DropoutSettings(), 0, reference_augmenter(debug_pipe.autoencoder)))
    assert batch["reference"].shape[0] == 4 and batch["reference"].shape[2] == 4
    assert batch["reference_mask"].any(1).all() and batch["drop_reference"].dtype == torch.bool
    model = train_transformer(features, debug_pipe.autoencoder, settings(tmp_path / "dit", 2), config, crop_seconds=0.5)
    assert model.config.reference_tokens == 3 and hasattr(model, "reference_in")
    logged = [json.loads(line) for line in (tmp_path / "dit" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(row["loss"]) for row in logged if "loss" in row)


def test_silent_still_shots_pair_a_still_scene_with_an_events_prompt_and_silence():
    from v2a.training.transformer import DropoutSettings, Example, batches

    def example(value: float, category: str, still: bool = False) -> Example:  # arrays filled with `value`
        times = torch.arange(20) / 10.0
        return Example(torch.full((40, 4), value), torch.full((40, 3), value), torch.full((20, 5), value),
                       torch.full((20, 6), value), times, [torch.full((7, 6), value)], category, still)

    examples = [example(1.0, "wind", still=True), example(2.0, "door"), example(3.0, "door")]
    silence = np.full(4, -5.0, np.float32)
    loud = DropoutSettings(text=1.0, video=0.0, still_silence=1.0)
    batch = next(batches(examples, 8, 16, 10.0, loud, seed=0, silent_latent=silence))
    assert (batch["latent"] == -5.0).all()  # silence
    assert (batch["motion"] == 1.0).all() and (batch["frame_features"][batch["frame_mask"]] == 1.0).all()  # still scene
    assert set(batch["text"][batch["text_mask"]][:, 0].tolist()) <= {2.0, 3.0}  # an event's prompt
    assert not batch["drop_text"].any()  # which is never dropped

    half = next(batches(examples, 64, 16, 10.0, DropoutSettings(text=0.0, still_silence=0.5), seed=0,
                        silent_latent=silence))
    silent = (half["latent"] == -5.0).all(-1).all(-1)
    assert 10 < int(silent.sum()) < 54
    assert (half["latent"][~silent] > 0).all()  # the other crops are their own recordings'

    # or the event's own picture, one of its frames held on every frame token, over the still motion
    own = next(batches(examples, 8, 16, 10.0, DropoutSettings(text=0.0, video=0.0, still_silence=1.0,
                                                               still_own_picture=1.0), seed=0, silent_latent=silence))
    assert (own["latent"] == -5.0).all() and (own["motion"] == 1.0).all()
    for row in range(8):
        shown = own["frame_features"][row][own["frame_mask"][row]]
        assert shown[0, 0] in (2.0, 3.0) and (shown == shown[0]).all()
        assert (own["frame_labels"][row][own["frame_mask"][row]] == shown[0, 0]).all()

    # without them the crops are drawn exactly as before
    plain, asked = (next(batches(examples, 8, 16, 10.0, DropoutSettings(), seed=3, silent_latent=s))
                    for s in (None, silence))
    assert all(torch.equal(plain[k], asked[k]) for k in plain)


def test_offset_noise_moves_each_crops_channels_by_one_value_each():
    from v2a.training.transformer import training_noise

    torch.manual_seed(0)
    latent = torch.zeros(256, 400, 8)
    plain, offset = training_noise(latent), training_noise(latent, 0.3)
    # a channel's mean over 400 frames: 1/20 wide from the noise alone, about 0.3 with the offsets
    assert 0.04 < float(plain.mean(1).std()) < 0.06
    assert 0.27 < float(offset.mean(1).std()) < 0.33
    # and the offset is all of it: each frame's deviation from its channel's mean is plain noise
    assert abs(float((offset - offset.mean(1, keepdim=True)).std()) - 1.0) < 0.01
