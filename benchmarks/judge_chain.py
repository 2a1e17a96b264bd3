"""Where a sound's category gets lost: the judge on held-out recordings through each stage.

    python benchmarks/judge_chain.py --library .cache/library [--model weights] [--split val] [--recordings 80]
        [--autoencoder RUN/model ...] [--vocoder RUN/model ...] [--bfloat16-vocoder]

Takes N held-out real recordings of the library (a fixed random sample, at most 6 s each) and
asks the evaluation's judge (aiSFX embedding + linear probe fitted on the train split; cached in
the evaluation cache, fitted on first use) to name their category (top-1, top-5) and family:
as they are, after the model's vocoder alone (true log-mel -> vocoder), and after the audio
latent + vocoder, for the model's latent and any extra latent folders given; then for each
extra vocoder folder given (and with ``--bfloat16-vocoder`` for the model's own in bfloat16, as
the pipeline runs it on a CPU with native bfloat16), after the true mel and after the model's
latent; the model's vocoder rows above are in float32. Each row also
gives the median multi-resolution STFT distance of its outputs to the recordings. The drop from
the recordings to the vocoder row is what the mel format and vocoder lose, the drop from there
to a latent's row what that latent loses: the ceiling on how recognisable generated sound can be.
"""

from __future__ import annotations

import argparse
import copy
import random
from pathlib import Path

import numpy as np
import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--model", default=None, help="pipeline folder (default: the shipped weights/)")
    parser.add_argument("--split", default="val", choices=("val", "test"))
    parser.add_argument("--recordings", type=int, default=80)
    parser.add_argument("--autoencoder", type=Path, nargs="*", default=[], help="more autoencoder folders to compare")
    parser.add_argument("--vocoder", type=Path, nargs="*", default=[], help="more vocoder folders to compare")
    parser.add_argument("--bfloat16-vocoder", action="store_true",
                        help="also the model's vocoder in bfloat16 (the float32 rows stay float32)")
    parser.add_argument("--cache", type=Path, default=None, help="evaluation cache (default: .cache/eval beside the library)")
    args = parser.parse_args()

    from v2a.signal.audio import log_mel
    from v2a.models.autoencoder import load_audio_latent
    from v2a.data.captions import family_of
    from v2a.data.library import load_clip, read_manifest
    from v2a.evaluation.embedding import AisfxEmbedding
    from v2a.evaluation.metrics import multi_resolution_stft_distance
    from v2a.evaluation.run import fit_judge, resynthesize
    from v2a.models.vocoder import HifiGan
    from v2a.presets import load_pipeline

    cache = args.cache or args.library.resolve().parent / "eval"
    records = read_manifest(args.library)
    judge, _, _ = fit_judge(args.library, records, AisfxEmbedding(device="cpu"), cache, split=args.split)
    chosen = [r for r in records if r["split"] == args.split and r["category"] in judge.labels]
    random.Random(0).shuffle(chosen)
    chosen = chosen[: args.recordings]

    pipe = load_pipeline(args.model, device="cpu", vocoder_dtype=torch.float32)
    rate, hop = pipe.audio_settings.sample_rate, pipe.audio_settings.hop_length * pipe.audio_settings.latent_downsample
    waves = []
    for r in chosen:
        wave = load_clip(args.library, r)[: 6 * rate].astype(np.float32)
        waves.append(np.pad(wave, (0, -len(wave) % hop)))  # whole latent frames

    embedding = AisfxEmbedding(device="cpu")

    def report(name: str, outputs: list[np.ndarray], extra: str = ""):
        top1, top5, family = [], [], []
        for r, wave in zip(chosen, outputs):
            p = judge.predict_proba(embedding.embed_clip(wave, rate))
            rank = int((p > p[judge.label_index(r["category"])]).sum())
            top1.append(rank == 0)
            top5.append(rank < 5)
            family.append(judge.predict_family(p) == family_of(r["category"]))
        stft = np.median([multi_resolution_stft_distance(out, wave, rate)["total"]
                          for out, wave in zip(outputs, waves)])
        print(f"{name:56s} top-1 {np.mean(top1):.3f}  top-5 {np.mean(top5):.3f}  family {np.mean(family):.3f}  "
              f"MR-STFT {stft:.3f}{extra}", flush=True)

    with torch.no_grad():
        report("recordings", waves)
        report("vocoder(true mel)", [resynthesize(pipe, w, False) for w in waves])
        mels = [log_mel(torch.from_numpy(w))[None] for w in waves]
        for name, autoencoder in [("model's autoencoder", pipe.autoencoder)] + [
                (str(folder), load_audio_latent(folder).eval()) for folder in args.autoencoder]:
            l1 = np.mean([(autoencoder(m.to(autoencoder.dtype)).float() - m).abs().mean().item() for m in mels])
            report(f"vocoder({name}(true mel))", [resynthesize(pipe, w, True, autoencoder=autoencoder) for w in waves],
                   f"  mel L1 {l1:.3f}")
        vocoders = [(str(folder), HifiGan.from_pretrained(folder)) for folder in args.vocoder]
        if args.bfloat16_vocoder:
            vocoders.append(("model's vocoder in bfloat16", copy.deepcopy(pipe.vocoder).set_precision(torch.bfloat16)))
        for name, vocoder in vocoders:
            report(f"{name}(true mel)", [resynthesize(pipe, w, False, vocoder=vocoder) for w in waves])
            report(f"{name}(model's autoencoder(true mel))",
                   [resynthesize(pipe, w, True, vocoder=vocoder) for w in waves])
    print(f"{len(chosen)} {args.split}-split recordings, judge of {len(judge.labels)} categories (chance "
          f"{1 / len(judge.labels):.3f})")


if __name__ == "__main__":
    main()
