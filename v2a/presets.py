"""Where pipelines come from: the shipped default in ``weights/``, a folder, or the tiny ``debug`` preset.

``debug`` builds every component at toy size with random weights (the real tokenizer aside),
so tests and ``v2a add-sound --model debug`` exercise the whole path in seconds on a CPU.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch

from .errors import V2AError

logger = logging.getLogger(__name__)

DEBUG = "debug"
FULL = "full"  # the --vocoder value that picks the full HiFi-GAN V1 shipped beside a light default
FULL_VOCODER_FOLDER = "vocoder-full"


def default_weights_dir() -> Path:
    """The shipped model: ``v2a/weights`` in an install, ``weights/`` in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "weights", here.parent / "weights"):
        if (candidate / "model_index.json").is_file():
            return candidate
    raise V2AError("the default model is missing (weights/model_index.json); reinstall v2a or pass --model")


def debug_pipeline(seed: int = 0, reference_tokens: int = 0):
    """A complete pipeline with toy-sized, randomly initialised components; ``reference_tokens`` > 0
    gives its transformer reference tokens ("sound like this", sound banks)."""
    from .models.autoencoder import MelAutoencoder
    from .models.frame_encoder import FrameEncoder
    from .models.text_encoder import TextEncoder, load_packaged_tokenizer
    from .models.vocoder import HifiGan
    from .pipeline import V2APipeline
    from .scheduler import FlowMatchEulerScheduler
    from .signal.motion import NUM_MOTION_FEATURES

    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        tokenizer = load_packaged_tokenizer()
        text_dim = 16
        text_encoder = TextEncoder(bert_config=dict(vocab_size=tokenizer.vocab_size, hidden_size=text_dim, num_hidden_layers=2,
                                             num_attention_heads=2, intermediate_size=32, max_position_embeddings=128))
        frame_encoder = FrameEncoder(stages=((1, 3, 1, 1, 8, 8), (1, 3, 2, 2, 8, 16)), stem_channels=8, head_channels=32,
                                     num_classes=10, label_dim=text_dim, image_size=32, label_top_k=3)
        frame_encoder.label_embeddings.normal_()
        transformer = _debug_transformer(text_dim, NUM_MOTION_FEATURES, reference_tokens)
        autoencoder = MelAutoencoder(latent_channels=4, hidden=8)
        vocoder = HifiGan(model_in_dim=80, sampling_rate=22050, upsample_initial_channel=16, upsample_rates=[8, 8, 2, 2],
                          upsample_kernel_sizes=[16, 16, 4, 4], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                          normalize_before=False, initializer_range=0.3)
        scheduler = FlowMatchEulerScheduler(num_train_timesteps=1000, shift=1.0)
    finally:
        torch.random.set_rng_state(generator_state)
    pipe = V2APipeline(frame_encoder=frame_encoder.eval(), text_encoder=text_encoder.eval(), tokenizer=tokenizer,
                       transformer=transformer.eval(), scheduler=scheduler, autoencoder=autoencoder.eval(),
                       vocoder=vocoder.eval())
    pipe.name_or_path = DEBUG  # what provenance records name it by (it has no folder)
    return pipe


def _debug_transformer(text_dim: int, timing_dim: int, reference_tokens: int = 0):
    from .models.transformer import SoundTransformer

    model = SoundTransformer(latent_channels=4, width=16, depth=2, heads=2, mlp_ratio=2.0, text_dim=text_dim,
                             frame_dim=32, timing_dim=timing_dim, frame_token_rate=2.0,
                             reference_tokens=reference_tokens)
    # A trained model has non-zero output layers; the zero init (adaLN-Zero) would make every
    # condition look irrelevant, so give the toy model small random weights everywhere.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def vocoder_folder(model: str | os.PathLike | None, vocoder: str | os.PathLike | None) -> Path | None:
    """The folder a ``vocoder`` choice names: None for the model's own vocoder, the model folder's
    ``vocoder-full`` for ``"full"``, else the folder given. Only names a path; the folder's contents
    are checked by ``check_vocoder_folder``."""
    if vocoder is None:
        return None
    if str(vocoder) != FULL:
        return Path(vocoder)
    if model == DEBUG:
        raise V2AError("--vocoder full: the debug model has no full vocoder")
    folder = (default_weights_dir() if model is None else Path(model)) / FULL_VOCODER_FOLDER
    if not folder.is_dir():
        raise V2AError(f"--vocoder full: {folder.parent} has no full vocoder beside its own ({FULL_VOCODER_FOLDER}/); "
                       "without --vocoder its own is used")
    return folder


def load_pipeline(model: str | os.PathLike | None = None, device: str = "cpu", dtype: torch.dtype | None = None,
                  vocoder: str | os.PathLike | None = None, vocoder_dtype: torch.dtype | None = None):
    """Loads a pipeline for inference.

    Args:
        model: None for the shipped default, ``"debug"`` for the toy preset, or a folder
            written by ``save_pretrained``.
        device: ``cpu``, ``cuda``, ``cuda:1``, ``mps``...
        dtype: float32, float16 or bfloat16 for the text encoder, transformer and autoencoder;
            None is float32 but for the transformer in bfloat16 on a CPU that computes it natively
            (``cpu_computes_bfloat16``).
        vocoder: ``"full"`` for the full HiFi-GAN shipped beside the model's light one, or a HiFi-GAN
            folder (``v2a train vocoder``'s ``RUN/model``) to use instead of the model's own vocoder;
            it must take the model's mels and make audio at its rate.
        vocoder_dtype: the vocoder's precision (``HifiGan.set_precision``); None is float32 when
            ``dtype`` is float32, else bfloat16 on a CPU that computes it natively, else float32.
    """
    from .pipeline import V2APipeline

    device = resolve_device(device)
    vocoder = vocoder_folder(model, vocoder)
    if vocoder is not None:
        check_vocoder_folder(vocoder)  # a bad folder fails before the model loads
    if model == DEBUG:
        pipe = debug_pipeline()
    else:
        folder = default_weights_dir() if model is None else Path(model)
        # Stored weights may be float16 to save space; compute in float32 unless asked otherwise.
        pipe = V2APipeline.from_pretrained(folder, dtype=torch.float32)
    if vocoder is not None:
        pipe.vocoder = load_vocoder(vocoder, like=pipe.vocoder.config)
        pipe.vocoder_name_or_path = str(vocoder)
    pipe = pipe.to(device)
    native = torch.bfloat16 if cpu_computes_bfloat16(device) else torch.float32
    if dtype is None:
        pipe.transformer.to(native)
    elif dtype != torch.float32:
        # The frame encoder's batch norm is cheap and sensitive: keep it in float32.
        for name in ("text_encoder", "transformer", "autoencoder"):
            getattr(pipe, name).to(dtype)
    if vocoder_dtype is None:  # float32 asked for is float32 throughout
        vocoder_dtype = torch.float32 if dtype == torch.float32 else native
    pipe.vocoder.set_precision(vocoder_dtype)
    return pipe


def cpu_computes_bfloat16(device: str | torch.device) -> bool:
    """Whether ``device`` is a CPU with bfloat16 arithmetic (AVX512-BF16 or AMX).

    There the transformer and the vocoder (``HifiGan.set_precision``: its last stage stays float32)
    run in bfloat16 by default: generation takes 0.7 of its float32 time, and on held-out clips and
    recordings the evaluation's numbers stay within a clip (weights/README.md). A GPU is given its
    precision by the caller. A CPU with plain AVX-512 (which oneDNN's own bfloat16 check accepts)
    or less would emulate bfloat16, slower than float32."""
    if torch.device(device).type != "cpu":
        return False
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # a torch without these checks
        return False


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.bfloat16`` -> ``"bfloat16"``, as outputs and evaluations record a precision."""
    return str(dtype).removeprefix("torch.")


def check_vocoder_folder(folder: str | os.PathLike) -> dict:
    """The config of the HiFi-GAN folder ``folder`` (``config.json`` beside ``model.safetensors``);
    a one-line V2AError if it is not one."""
    from .models.vocoder import HifiGan

    folder = Path(folder)
    if not (folder / "config.json").is_file() or not (folder / HifiGan.weights_name).is_file():
        raise V2AError(f"{folder}: not a vocoder folder (it needs config.json and {HifiGan.weights_name})")
    try:
        return HifiGan.config_from_folder(folder)
    except (OSError, ValueError) as err:
        raise V2AError(f"{folder}: cannot read the vocoder's config ({err})") from None


def load_vocoder(folder: str | os.PathLike, like: dict):
    """The HiFi-GAN in ``folder`` (float32), which must map mels to audio as the vocoder with config
    ``like`` does: the same mel bins, hop and sample rate."""
    from .models.vocoder import HifiGan

    config = check_vocoder_folder(folder)
    shape = {k: [config.get(k), like.get(k)] for k in ("model_in_dim", "sampling_rate")}
    shape["hop"] = [math.prod(c.get("upsample_rates", ())) for c in (config, like)]
    if wrong := [f"{k} {have} (not {want})" for k, (have, want) in shape.items() if have != want]:
        raise V2AError(f"{folder}: this vocoder does not fit the model: {', '.join(wrong)}")
    try:
        return HifiGan.from_pretrained(folder, dtype=torch.float32)
    except (OSError, ValueError, TypeError) as err:
        raise V2AError(f"{folder}: cannot load the vocoder ({err})") from None


def resolve_device(device: str) -> str:
    """``auto`` picks cuda, then mps, then cpu; an unavailable device is a clear error."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise V2AError(f"unknown device '{device}' (use auto, cpu, cuda, cuda:N or mps)") from None
    if parsed.type == "cuda" and not torch.cuda.is_available():
        raise V2AError(f"device '{device}' requested but no CUDA GPU is available")
    if parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise V2AError(f"device '{device}' requested but MPS is not available")
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise V2AError(f"unsupported device '{device}' (use auto, cpu, cuda, cuda:N or mps)")
    return device
