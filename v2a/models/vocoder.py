"""The vocoder: 80-bin log-mel -> 22,050 Hz waveform.

The network is HiFi-GAN V1 (the universal checkpoint fine-tuned on sound effects; see
weights/README.md) as transformers' ``SpeechT5HifiGan`` defines it: :class:`HifiGan` is the same
network with the same parameter names and ``config.json``, so folders written by either load in
the other, without importing transformers. Long mels are vocoded in chunks, so memory stays flat
and time grows in proportion to the length.

``LIGHT_HIFIGAN`` is HiFi-GAN V2's shape, a generator of a fifteenth the size, which
``v2a train vocoder --size light --teacher weights/vocoder`` distils from the shipped one.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

from .base import ConfigModule, register_to_config


class ResBlock(nn.Module):
    """HiFi-GAN's multi-receptive-field block: per dilation, two convolutions with a residual."""

    def __init__(self, channels: int, kernel_size: int, dilations: list[int], slope: float):
        super().__init__()
        self.slope = slope
        self.convs1 = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=(kernel_size * d - d) // 2)
                                    for d in dilations)
        self.convs2 = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2)
                                    for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv1, conv2 in zip(self.convs1, self.convs2):
            x = x + conv2(F.leaky_relu(conv1(F.leaky_relu(x, self.slope)), self.slope))
        return x


class HifiGan(ConfigModule):
    """HiFi-GAN generator: log-mel ``(B, frames, model_in_dim)`` -> waveform ``(B, frames * hop)``,
    with ``hop`` the product of ``upsample_rates``. The keywords (and their defaults) are those of
    transformers' ``SpeechT5HifiGanConfig``; ``initializer_range`` is the spread of a fresh network's
    weights.
    """

    weights_name = "model.safetensors"  # transformers' name

    @register_to_config
    def __init__(self, model_in_dim: int = 80, sampling_rate: int = 16000, upsample_initial_channel: int = 512,
                 upsample_rates: tuple = (4, 4, 4, 4), upsample_kernel_sizes: tuple = (8, 8, 8, 8),
                 resblock_kernel_sizes: tuple = (3, 7, 11),
                 resblock_dilation_sizes: tuple = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
                 initializer_range: float = 0.01, leaky_relu_slope: float = 0.1, normalize_before: bool = True):
        super().__init__()
        self.slope = leaky_relu_slope
        self.conv_pre = nn.Conv1d(model_in_dim, upsample_initial_channel, 7, padding=3)
        self.upsampler = nn.ModuleList(
            nn.ConvTranspose1d(upsample_initial_channel // 2**i, upsample_initial_channel // 2 ** (i + 1), kernel,
                               stride=rate, padding=(kernel - rate) // 2)
            for i, (rate, kernel) in enumerate(zip(upsample_rates, upsample_kernel_sizes)))
        self.resblocks = nn.ModuleList(
            ResBlock(upsample_initial_channel // 2 ** (i + 1), kernel, dilations, leaky_relu_slope)
            for i in range(len(upsample_rates))
            for kernel, dilations in zip(resblock_kernel_sizes, resblock_dilation_sizes))
        self.conv_post = nn.Conv1d(upsample_initial_channel // 2 ** len(upsample_rates), 1, 7, padding=3)
        self.register_buffer("mean", torch.zeros(model_in_dim))
        self.register_buffer("scale", torch.ones(model_in_dim))
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.ConvTranspose1d)):
                nn.init.normal_(module.weight, std=initializer_range)
                nn.init.zeros_(module.bias)

    def saved_config(self) -> dict:
        # what transformers needs to read the folder as a SpeechT5HifiGan
        return {**super().saved_config(), "architectures": ["SpeechT5HifiGan"], "model_type": "speecht5_hifigan"}

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if self.config.normalize_before:
            mel = (mel.float() - self.mean) / self.scale  # float32 whatever the buffers' precision
        # each stage computes in its own weights' precision (see ``set_precision``)
        x = self.conv_pre(mel.transpose(1, 2).to(self.conv_pre.weight.dtype))  # (B, C, frames)
        kernels = len(self.config.resblock_kernel_sizes)
        for i, upsample in enumerate(self.upsampler):
            x = upsample(F.leaky_relu(x.to(upsample.weight.dtype), self.slope))
            blocks = self.resblocks[i * kernels : (i + 1) * kernels]
            total = blocks[0](x)
            for block in blocks[1:]:
                total += block(x)
            x = total / kernels
        x = self.conv_post(F.leaky_relu(x.to(self.conv_post.weight.dtype)))  # slope 0.01 here, as in the original HiFi-GAN
        return torch.tanh(x)[:, 0]

    def set_precision(self, dtype: torch.dtype) -> "HifiGan":
        """Computes in ``dtype``, except that a half-precision vocoder keeps its last upsampling stage
        and output convolution in float32: that stage shapes the waveform sample by sample, and in
        bfloat16 (8 bits of mantissa) it adds a noise floor that raised the resynthesis distance by 2-6 %
        on held-out recordings, while the stages before it (most of the arithmetic) lose nothing
        measurable (weights/README.md). Returns the vocoder."""
        self.to(dtype)
        self.mean, self.scale = self.mean.float(), self.scale.float()  # the input is normalised in float32
        if dtype in (torch.float16, torch.bfloat16):
            kernels = len(self.config.resblock_kernel_sizes)
            last = len(self.upsampler) - 1
            for module in (self.upsampler[last], *self.resblocks[last * kernels :], self.conv_post):
                module.float()
        return self


# HiFi-GAN V2 (Kong et al., 2020): V1's upsampling and kernels at a quarter of V1's width, 0.93 M
# parameters against 13.9 M. The rest of a light vocoder's config (mel bins, sample rate, input
# normalisation) is the vocoder's it stands in for: see ``light_hifigan``.
LIGHT_HIFIGAN = MappingProxyType(dict(upsample_initial_channel=128, upsample_rates=(8, 8, 2, 2),
                                      upsample_kernel_sizes=(16, 16, 4, 4), resblock_kernel_sizes=(3, 7, 11),
                                      resblock_dilation_sizes=((1, 3, 5),) * 3))


def light_hifigan(like: Mapping) -> HifiGan:
    """A randomly initialised ``LIGHT_HIFIGAN`` generator that reads and writes what the vocoder with
    config ``like`` does: the same mel bins, sample rate and input normalisation."""
    same = ("model_in_dim", "sampling_rate", "normalize_before", "leaky_relu_slope")
    return HifiGan(**{k: like[k] for k in same if k in like}, **LIGHT_HIFIGAN)


# Long mels are vocoded in chunks with this much context on each side, more than HiFi-GAN's
# receptive field (with 16 frames the joins already match the whole to float rounding), so
# memory stays flat and time linear: 60 s vocoded whole took 61.5 s and 1.0 GiB above the loaded
# model on 2 cores, in 10 s chunks 43.5 s and 0.6 GiB. Clips up to a chunk long are vocoded whole.
VOCODER_CHUNK_SECONDS = 10.0
VOCODER_CONTEXT_FRAMES = 64


def vocode_in_chunks(vocoder, mel: torch.Tensor, chunk: int, context: int) -> torch.Tensor:
    """``(B, frames, n_mels)`` log-mel -> ``(B, frames * hop)`` float32 waveform, at most ``chunk`` frames at a time
    (the pieces of :func:`vocoded_chunks`, joined)."""
    return torch.cat(list(vocoded_chunks(vocoder, mel, chunk, context)), dim=1)


def vocoded_chunks(vocoder, mel: torch.Tensor, chunk: int, context: int) -> Iterator[torch.Tensor]:
    """The waveform of a ``(B, frames, n_mels)`` log-mel as consecutive ``(B, samples)`` float32 pieces,
    each vocoded as it is asked for from at most ``chunk`` frames.

    Each chunk is vocoded with up to ``context`` frames of the mel before and after it, and only
    its own samples are kept.
    """
    frames = mel.shape[1]
    if frames <= chunk:
        yield vocoder(mel).float()
        return
    size = math.ceil(frames / math.ceil(frames / chunk))  # equal chunks, none of them a sliver
    for start in range(0, frames, size):
        end = min(frames, start + size)
        lo, hi = max(0, start - context), min(frames, end + context)
        audio = vocoder(mel[:, lo:hi]).float()
        hop = audio.shape[1] // (hi - lo)
        yield audio[:, (start - lo) * hop : (end - lo) * hop]


def vocode_stream(vocoder, mel: torch.Tensor, mel_rate: float) -> Iterator[torch.Tensor]:
    """``(B, frames, n_mels)`` log-mel -> consecutive ``(B, samples)`` float32 pieces of its waveform;
    mels longer than ``VOCODER_CHUNK_SECONDS`` in chunks with ``VOCODER_CONTEXT_FRAMES`` of context."""
    chunk = int(round(VOCODER_CHUNK_SECONDS * mel_rate))
    return vocoded_chunks(vocoder, mel.float(), chunk, VOCODER_CONTEXT_FRAMES)  # the vocoder casts it


def vocode(vocoder, mel: torch.Tensor, mel_rate: float) -> torch.Tensor:
    """``(B, frames, n_mels)`` log-mel -> ``(B, frames * hop)`` float32 waveform (:func:`vocode_stream`, joined)."""
    return torch.cat(list(vocode_stream(vocoder, mel, mel_rate)), dim=1)
