"""The vocoder: 80-bin log-mel -> 22,050 Hz waveform.

The network is transformers' ``SpeechT5HifiGan`` (HiFi-GAN V1, the universal checkpoint
fine-tuned on sound effects; see weights/README.md); what v2a adds is running it on long mels
in chunks, so memory stays flat and time grows in proportion to the length.
"""

from __future__ import annotations

import math

import torch

# Long mels are vocoded in chunks with this much context on each side, more than HiFi-GAN's
# receptive field (with 16 frames the joins already match the whole to float rounding), so
# memory stays flat and time linear: 60 s vocoded whole took 61.5 s and 1.0 GiB above the loaded
# model on 2 cores, in 10 s chunks 43.5 s and 0.6 GiB. Clips up to a chunk long are vocoded whole.
VOCODER_CHUNK_SECONDS = 10.0
VOCODER_CONTEXT_FRAMES = 64


def vocode_in_chunks(vocoder, mel: torch.Tensor, chunk: int, context: int) -> torch.Tensor:
    """``(B, frames, n_mels)`` log-mel -> ``(B, frames * hop)`` float32 waveform, at most ``chunk`` frames at a time.

    Each chunk is vocoded with up to ``context`` frames of the mel before and after it, and only
    its own samples are kept.
    """
    frames = mel.shape[1]
    if frames <= chunk:
        return vocoder(mel).float()
    size = math.ceil(frames / math.ceil(frames / chunk))  # equal chunks, none of them a sliver
    pieces = []
    for start in range(0, frames, size):
        end = min(frames, start + size)
        lo, hi = max(0, start - context), min(frames, end + context)
        audio = vocoder(mel[:, lo:hi]).float()
        hop = audio.shape[1] // (hi - lo)
        pieces.append(audio[:, (start - lo) * hop : (end - lo) * hop])
    return torch.cat(pieces, dim=1)


def vocode(vocoder, mel: torch.Tensor, mel_rate: float) -> torch.Tensor:
    """``(B, frames, n_mels)`` log-mel -> ``(B, frames * hop)`` float32 waveform; mels longer
    than ``VOCODER_CHUNK_SECONDS`` in chunks with ``VOCODER_CONTEXT_FRAMES`` of context."""
    chunk = int(round(VOCODER_CHUNK_SECONDS * mel_rate))
    return vocode_in_chunks(vocoder, mel.to(vocoder.dtype), chunk, VOCODER_CONTEXT_FRAMES)
