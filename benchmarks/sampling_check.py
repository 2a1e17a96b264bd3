"""Has a transformer learnt to generate, or only to denoise? A one-minute check on cached validation crops.

    python benchmarks/sampling_check.py --transformer runs/v6s3/dit/model \
        --features .cache/features-v6 --autoencoder runs/v6/patches/model

Two measurements on ``--crops`` 4 s validation crops of a feature cache (``v2a train features``),
with every condition given (prompt, video; no reference):

1. **Denoising at each noise level**: the error of the model's clean-latent estimate
   ``x - sigma * v`` from ``(1 - sigma) * latent + sigma * noise``, against the error of the noisy
   input itself, and the estimate's mean offset. A model can be good here at every level below
   0.9 (copying the signal it still sees) and still fail at sigma near 1, where only the
   conditions say what sounds.
2. **Sampling from pure noise** with the pipeline's own sampler (Euler, 16 steps, the scheduler's shift,
   the two-branch guidance with the unconditional branch): the sample's error, the mean of its
   frames where the true latent is silent and where it is not, and the correlation of its
   per-frame mean (the loudness envelope) with the truth's. A model that only denoises
   fills silent frames with sound: the silent frames' mean stays near the loud frames'.

The training loss and the run's own onset F1 miss this; a full ``v2a eval`` takes far longer.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from v2a.models.autoencoder import load_audio_latent
from v2a.models.transformer import SoundTransformer
from v2a.pipeline import euler_sample as pipeline_euler_sample
from v2a.scheduler import FlowMatchEulerScheduler
from v2a.signal.audio import AudioSettings
from v2a.training.transformer import DropoutSettings, batches, conditions_for_batch, load_examples

SIGMAS = (0.06, 0.3, 0.6, 0.9, 0.95, 0.98, 1.0)
SILENT_MARGIN = 0.3  # a frame is silent when every channel is within this of the crops' floor


def euler_sample(model, cond, uncond, mask, shape, guidance: float, shift: float, steps: int, seed: int):
    """The pipeline's sampler (its scheduler at ``shift``) on the two-branch guided velocity."""
    scheduler = FlowMatchEulerScheduler(shift=shift)

    def velocity(x, t):
        sigma = (t / scheduler.config.num_train_timesteps).expand(shape[0])
        conditional, unconditional = model(x, sigma, cond, mask), model(x, sigma, uncond, mask)
        return unconditional + guidance * (conditional - unconditional)

    noise = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    return pipeline_euler_sample(velocity, noise, scheduler, steps, mask)


@torch.no_grad()
def main(argv: list[str] | None = None) -> dict:
    """Prints the two tables; returns their rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transformer", type=Path, required=True, help="a transformer folder (RUN/model)")
    parser.add_argument("--features", type=Path, required=True, help="the feature cache it was trained on")
    parser.add_argument("--autoencoder", type=Path, required=True, help="its audio latent folder")
    parser.add_argument("--crops", type=int, default=12)
    parser.add_argument("--guidance", type=float, nargs="*", default=[3.0, 6.0])
    parser.add_argument("--shift", type=float, nargs="*", default=[1.0, 3.0])
    parser.add_argument("--steps", type=int, default=16)
    args = parser.parse_args(argv)

    latent_model = load_audio_latent(args.autoencoder)
    model = SoundTransformer.from_pretrained(str(args.transformer)).eval()
    examples = load_examples(args.features, "val", latent_model)
    audio = AudioSettings(latent_downsample=latent_model.config.downsample)
    no_dropout = DropoutSettings(text=0.0, video=0.0, caption_mix=False, reference=1.0)
    batch = next(batches(examples, args.crops, int(round(4.0 * audio.latent_rate)), audio.latent_rate, no_dropout,
                         seed=11))
    latent, mask = batch["latent"], batch["token_mask"]
    cond = conditions_for_batch(model, batch)
    uncond = conditions_for_batch(model, batch | {"drop_text": torch.ones_like(batch["drop_text"]),
                                                  "drop_video": torch.ones_like(batch["drop_video"])})
    valid = latent[mask]
    print(f"{args.transformer}: {args.crops} validation crops, latent mean {valid.mean():.2f}, "
          f"mean square {(valid ** 2).mean():.2f}")

    print("\n1. denoising    sigma  estimate error  input error  estimate offset")
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(0))  # one draw: levels compare
    report = {"denoising": [], "sampling": []}
    for sigma in SIGMAS:
        noisy = (1 - sigma) * latent + sigma * noise
        estimate = noisy - sigma * model(noisy, torch.full((len(latent),), sigma), cond, mask)
        row = dict(sigma=sigma, estimate_error=((estimate - latent) ** 2)[mask].mean().item(),
                   input_error=((noisy - latent) ** 2)[mask].mean().item(), offset=(estimate - latent)[mask].mean().item())
        report["denoising"].append(row)
        print(f"{sigma:21.2f} {row['estimate_error']:15.3f} {row['input_error']:12.3f} {row['offset']:+16.3f}")

    floor = valid.min(0).values
    silent = (latent < floor + SILENT_MARGIN).all(-1) & mask
    loud = mask & ~silent
    print(f"\n2. sampling ({args.steps} steps; {silent.sum().item()} of {mask.sum().item()} frames silent: "
          f"truth's mean {latent[silent].mean():.2f} there, {latent[loud].mean():.2f} elsewhere)")
    print("shift  guidance  error  silent frames  other frames  envelope corr")
    for shift in args.shift:
        for guidance in args.guidance:
            x = euler_sample(model, cond, uncond, mask, latent.shape, guidance, shift, args.steps, seed=3)
            row = dict(shift=shift, guidance=guidance, error=((x - latent) ** 2)[mask].mean().item(),
                       silent=x[silent].mean().item(), loud=x[loud].mean().item(),
                       envelope_corr=float(np.corrcoef(x.mean(-1)[mask].numpy(), latent.mean(-1)[mask].numpy())[0, 1]))
            report["sampling"].append(row)
            print(f"{shift:5.1f} {guidance:9.1f} {row['error']:6.3f} {row['silent']:14.2f} {row['loud']:13.2f}"
                  f" {row['envelope_corr']:14.2f}")
    return report


if __name__ == "__main__":
    main()
