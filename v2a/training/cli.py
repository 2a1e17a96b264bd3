"""``v2a train ...``: the training commands (CPU, one GPU, or ``accelerate launch`` for many).

    v2a train autoencoder --library LIB --run runs/ae
    v2a train features    --library LIB --out cache/features
    v2a train transformer --features cache/features --autoencoder runs/ae/model --run runs/dit
    v2a train vocoder     --library LIB --size light --teacher weights/vocoder --run runs/light
    python scripts/convert_pretrained.py --autoencoder runs/ae/model --transformer runs/dit/model --out weights

Every command resumes its run folder from the newest checkpoint when started again.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Train the models (resumable run folders).")


def _settings(run: Path, steps: int, batch_size: int, lr: float, seed: int, mixed_precision: str, checkpoint_every: int,
              validate_every: int, warmup: int, quiet: bool):
    from .loop import TrainSettings

    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return TrainSettings(run_dir=run, steps=steps, batch_size=batch_size, learning_rate=lr, seed=seed,
                         mixed_precision=mixed_precision, checkpoint_every=checkpoint_every,
                         validate_every=validate_every, warmup_steps=warmup, quiet=quiet)


def _one_mel_source(library: Optional[Path], features: Optional[Path]) -> None:
    if (library is None) == (features is None):
        raise typer.BadParameter("give exactly one of --library and --features", param_hint="--library")


def _vocoder():
    """The shipped vocoder alone (stored as float16, trained and run in float32)."""
    from ..models.vocoder import HifiGan
    from ..presets import default_weights_dir

    return HifiGan.from_pretrained(default_weights_dir() / "vocoder")


@app.command()
def autoencoder(
    library: Optional[Path] = typer.Option(None, help="Sound library folder (manifest.jsonl), from `python -m v2a.data "
                                                      "build-library`."),
    features: Optional[Path] = typer.Option(None, help="Or a feature cache (`v2a train features`): trains on its "
                                                       "stored mels, no library needed."),
    run: Path = typer.Option(Path("runs/autoencoder"), help="Run folder (checkpoints, samples, final model)."),
    steps: int = typer.Option(6000), batch_size: int = typer.Option(32), lr: float = typer.Option(1e-3),
    crop_frames: int = typer.Option(128, help="Mel frames per training crop (multiple of 4)."),
    hidden: int = typer.Option(160), latent_channels: int = typer.Option(32),
    downsample: int = typer.Option(4, help="Time compression (a power of two)."),
    blocks: int = typer.Option(1, min=1, help="Residual blocks per resolution (wider receptive field)."),
    init: Optional[Path] = typer.Option(None, help="Trained autoencoder folder (RUN/model) to start from."),
    decoder_only: bool = typer.Option(False, help="Train only the decoder of --init: the latent space stays as it "
                                                  "is, so transformers trained on it keep working."),
    adversarial: float = typer.Option(0.0, min=0.0, help="Weight of a mel patch discriminator's loss (0: off)."),
    discriminator_lr_scale: float = typer.Option(1.0, help="The discriminator's learning rate as a multiple of --lr."),
    discriminator_warmup: int = typer.Option(0, min=0, help="Steps at the start that train only the discriminator."),
    discriminator_scales: str = typer.Option("1", help="Comma-separated time scales of the mel discriminators "
                                                       "(1: full resolution; 2: frames averaged in pairs; ...)."),
    seed: int = typer.Option(0), mixed_precision: str = typer.Option("no", help="no, fp16 or bf16 (GPU)."),
    checkpoint_every: int = typer.Option(500), validate_every: int = typer.Option(1000), warmup: int = typer.Option(200),
    audio_samples: bool = typer.Option(True, help="Write validation audio through the shipped vocoder (off: "
                                                  "spectrogram pictures and numbers only, no vocoder needed)."),
    quiet: bool = typer.Option(False),
):
    """Train the mel autoencoder on real recordings."""
    from .autoencoder import train_autoencoder

    _one_mel_source(library, features)
    if decoder_only and init is None:
        raise typer.BadParameter("--decoder-only needs --init (a trained autoencoder)", param_hint="--decoder-only")
    if discriminator_lr_scale <= 0:
        raise typer.BadParameter("must be above 0", param_hint="--discriminator-lr-scale")
    try:
        scales = tuple(int(x) for x in discriminator_scales.split(","))
    except ValueError:
        scales = ()
    if not scales or min(scales) < 1 or len(set(scales)) != len(scales):
        raise typer.BadParameter("give distinct whole numbers from 1 up, such as 1,2,4",
                                 param_hint="--discriminator-scales")
    for option, changed in (("--discriminator-lr-scale", discriminator_lr_scale != 1.0),
                            ("--discriminator-warmup", discriminator_warmup != 0),
                            ("--discriminator-scales", scales != (1,))):
        if changed and adversarial == 0:
            raise typer.BadParameter("needs --adversarial (without it there is no discriminator)", param_hint=option)
    settings = _settings(run, steps, batch_size, lr, seed, mixed_precision, checkpoint_every, validate_every, warmup, quiet)
    train_autoencoder(library or features, settings, crop_frames=crop_frames, hidden=hidden,
                      latent_channels=latent_channels, downsample=downsample, vocoder=_vocoder() if audio_samples else None, init=init,
                      decoder_only=decoder_only, adversarial=adversarial, blocks=blocks,
                      discriminator_lr_scale=discriminator_lr_scale, discriminator_warmup=discriminator_warmup,
                      discriminator_scales=scales)


@app.command("mel-patches")
def mel_patches(
    library: Optional[Path] = typer.Option(None, help="Sound library folder (manifest.jsonl)."),
    features: Optional[Path] = typer.Option(None, help="Or a feature cache: its stored mels."),
    out: Path = typer.Option(Path("runs/mel-patches/model"), help="Folder for the latent model."),
    downsample: int = typer.Option(2, min=1, help="Mel frames stacked into one latent frame."),
):
    """Fit the no-compression latent (per-bin log-mel statistics of the train split): nothing to train."""
    from .autoencoder import fit_mel_patches

    _one_mel_source(library, features)
    fit_mel_patches(library or features, downsample).save_pretrained(str(out))
    print(f"wrote {out}")


@app.command()
def features(
    library: Path = typer.Option(..., help="Sound library folder."),
    out: Path = typer.Option(Path(".cache/features"), help="Feature cache folder."),
    model: Optional[str] = typer.Option(None, help="Pipeline whose encoders to use (default: the shipped one)."),
    latent: Optional[Path] = typer.Option(None, help="Audio latent whose frame clock the motion features follow "
                                                     "(default: the pipeline's)."),
    renders_per_clip: int = typer.Option(1, help="Different rendered videos per recording."),
    splits: str = typer.Option("train,val"), seed: int = typer.Option(0),
    limit: Optional[int] = typer.Option(None, help="Only the first N clips (quick runs)."),
    max_seconds: float = typer.Option(10.0, help="Longer recordings are cut to this length before rendering."),
):
    """Render videos for library clips and encode them for transformer training."""
    import torch

    from ..presets import load_pipeline
    from .features import build_transformer_features

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    pipe = load_pipeline(model, dtype=torch.float32)  # features are made in float32 on every machine
    if latent is not None:
        from ..models.autoencoder import load_audio_latent

        pipe.autoencoder = load_audio_latent(latent)
    build_transformer_features(library, out, pipe, splits=tuple(splits.split(",")), renders_per_clip=renders_per_clip,
                               seed=seed, limit=limit, max_seconds=max_seconds)


@app.command()
def transformer(
    features: Path = typer.Option(..., help="Feature cache from `v2a train features`."),
    autoencoder: Path = typer.Option(..., help="Audio latent folder: a trained autoencoder (RUN/model) or "
                                               "`v2a train mel-patches` output."),
    run: Path = typer.Option(Path("runs/transformer")),
    steps: int = typer.Option(10000), batch_size: int = typer.Option(16), lr: float = typer.Option(5e-4),
    crop_seconds: float = typer.Option(4.0), width: int = typer.Option(256), depth: int = typer.Option(6),
    heads: int = typer.Option(4),
    reference_tokens: int = typer.Option(0, min=0, help="Tokens a reference sound is pooled into (0: the model "
                                                        "takes no reference sound)."),
    seed: int = typer.Option(0), mixed_precision: str = typer.Option("no"),
    checkpoint_every: int = typer.Option(500), validate_every: int = typer.Option(2000), warmup: int = typer.Option(300),
    model: Optional[str] = typer.Option(None, help="Pipeline whose encoders made the features (default: shipped)."),
    init: Optional[Path] = typer.Option(None, help="Transformer folder to warm-start from (weights whose shapes match)."),
    sigma_shift: float = typer.Option(1.0, min=1.0, help="Shift the training noise levels toward noise (and the "
                                                        "validation sampler's steps) by this factor; ship the model "
                                                        "with a scheduler of the same shift. About 3 for mel patches."),
    still_silence: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of the crops made silent still shots: "
                                                                    "an ambience render's still video with an event "
                                                                    "category's prompt and silence, so that still "
                                                                    "shots stay quiet unless the prompt is an ambience."),
    still_own_picture: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of those silent still shots that "
                                                                        "show the event's own picture, held still, "
                                                                        "instead of the ambience render's."),
    offset_noise: float = typer.Option(0.0, min=0.0, help="Width of a per-crop, per-channel offset added to the "
                                                          "training noise, so that near pure noise the latent's "
                                                          "mean no longer says sound or silence (about 0.3)."),
    audio_samples: bool = typer.Option(True, help="Generate validation samples through the whole pipeline (off: "
                                                  "held-out loss only, and only the pipeline's transformer config "
                                                  "is read, so no encoder or vocoder weights are needed)."),
    quiet: bool = typer.Option(False),
):
    """Train the diffusion transformer with flow matching."""
    import torch

    from ..models.autoencoder import load_audio_latent
    from ..presets import DEBUG, default_weights_dir, load_pipeline
    from ..models.transformer import SoundTransformer
    from .loop import training_device
    from .transformer import train_transformer

    settings = _settings(run, steps, batch_size, lr, seed, mixed_precision, checkpoint_every, validate_every, warmup, quiet)
    device = training_device()  # encode the training clips where they are trained on
    ae = load_audio_latent(autoencoder).eval().to(device)
    # validation sounds in float32 on every machine, so that runs stay comparable
    pipe = load_pipeline(model, device=device, dtype=torch.float32) if audio_samples or model == DEBUG else None
    # the conditioning widths must match the encoders that made the features: the pipeline's
    shipped = pipe.transformer.config if pipe is not None else SoundTransformer.config_from_folder(
        str(Path(model or default_weights_dir()) / "transformer"))
    config = dict(latent_channels=ae.latent_channels, width=width, depth=depth, heads=heads,
                  reference_tokens=reference_tokens,
                  text_dim=shipped["text_dim"], frame_dim=shipped["frame_dim"], timing_dim=shipped["timing_dim"],
                  frame_token_rate=shipped["frame_token_rate"])
    validate = None
    if audio_samples:
        from .validation import transformer_validator  # needs soundfile and the whole pipeline

        from ..scheduler import FlowMatchEulerScheduler

        pipe.autoencoder = ae
        pipe.scheduler = FlowMatchEulerScheduler(pipe.scheduler.config.num_train_timesteps, shift=sigma_shift)
        validate = transformer_validator(features, pipe)
    from .transformer import DropoutSettings

    train_transformer(features, ae, settings, config, crop_seconds=crop_seconds, validate=validate, init=init,
                      sigma_shift=sigma_shift, offset_noise=offset_noise, dropout=DropoutSettings(
                          still_silence=still_silence, still_own_picture=still_own_picture))
    (run / "model" / "training.json").write_text(json.dumps({"features": str(features), "autoencoder": str(autoencoder),
                                                             "sigma_shift": sigma_shift, "still_silence": still_silence,
                                                             "still_own_picture": still_own_picture,
                                                             "offset_noise": offset_noise}))


class VocoderSize(str, Enum):
    full = "full"
    light = "light"


@app.command()
def vocoder(
    library: Optional[Path] = typer.Option(None, help="Sound library folder."),
    features: Optional[Path] = typer.Option(None, help="Feature cache to learn from instead of a library: its "
                                                       "mels alone, with --teacher's renders of them standing in "
                                                       "for the recordings (for a GPU machine, which can carry "
                                                       "the mels but not the audio)."),
    run: Path = typer.Option(Path("runs/vocoder")),
    init: Optional[Path] = typer.Option(None, help="HiFi-GAN vocoder folder to start from (default: the shipped vocoder)."),
    size: VocoderSize = typer.Option(VocoderSize.full, help="full: start from --init or the shipped vocoder (HiFi-GAN "
                                                            "V1); light: a fresh HiFi-GAN V2-size generator (0.9 M "
                                                            "parameters against 13.9 M), to train with --teacher."),
    teacher: Optional[Path] = typer.Option(None, help="HiFi-GAN folder (e.g. weights/vocoder) whose waveform the "
                                                      "generator first learns to reproduce for the same mels "
                                                      "(distillation: spectral and waveform losses, no "
                                                      "discriminator)."),
    distill_steps: Optional[int] = typer.Option(None, min=0, help="Steps of distillation from --teacher before the "
                                                                  "GAN recipe against the recordings takes over "
                                                                  "(default: all of --steps)."),
    autoencoder: Optional[Path] = typer.Option(None, help="Autoencoder folder (RUN/model or weights/autoencoder): "
                                                          "train on mels passed through it, as the pipeline's "
                                                          "vocoder hears them (with --teacher: half the crops)."),
    steps: int = typer.Option(2000), batch_size: int = typer.Option(4),
    lr: Optional[float] = typer.Option(None, help="Peak learning rate (default: 2e-5 to fine-tune a trained "
                                                  "vocoder, HiFi-GAN's 2e-4 for a fresh --size light)."),
    seed: int = typer.Option(0), mixed_precision: str = typer.Option("no"),
    checkpoint_every: int = typer.Option(200), validate_every: int = typer.Option(500), warmup: int = typer.Option(50),
    audio_samples: bool = typer.Option(True, help="Write validation clips (off: the distance only; no soundfile)."),
    quiet: bool = typer.Option(False),
):
    """Fine-tune the HiFi-GAN vocoder on the sound library (adversarial + spectral losses), or distil a light one."""
    from ..models.vocoder import HifiGan, light_hifigan
    from ..presets import default_weights_dir
    from .vocoder import train_vocoder

    light = size == VocoderSize.light
    if light and init is not None:
        raise typer.BadParameter("light builds a fresh generator; --init brings its own", param_hint="--size")
    _one_mel_source(library, features)
    for option, given in (("--distill-steps", distill_steps is not None), ("--features", features is not None)):
        if given and teacher is None:
            raise typer.BadParameter("needs --teacher (the vocoder to distil from)", param_hint=option)
    if features is not None and autoencoder is not None:
        raise typer.BadParameter("a feature cache gives true mels only; leave out --autoencoder", param_hint="--features")
    if teacher is not None and not (teacher / "config.json").is_file():
        raise typer.BadParameter(f"{teacher}: not a HiFi-GAN folder (no config.json)", param_hint="--teacher")
    if lr is None:
        lr = 2e-4 if light else 2e-5
    settings = _settings(run, steps, batch_size, lr, seed, mixed_precision, checkpoint_every, validate_every, warmup, quiet)
    if light:  # a fresh generator for the mels and sample rate of the vocoder it learns from (or stands in for)
        generator = light_hifigan(HifiGan.config_from_folder(teacher or default_weights_dir() / "vocoder"))
    else:
        generator = HifiGan.from_pretrained(init) if init else _vocoder()
    ae = None
    if autoencoder is not None:
        from ..models.autoencoder import load_audio_latent

        ae = load_audio_latent(autoencoder)
    teacher = HifiGan.from_pretrained(teacher) if teacher is not None else None
    train_vocoder(library, settings, generator.float().train(), autoencoder=ae, teacher=teacher,
                  distill_steps=distill_steps, features=features, audio_samples=audio_samples)
