"""Least-squares GAN pieces shared by the vocoder and the autoencoder decoder fine-tuning.

A loss trained only on L1 distances makes a generator predict the average of what could be
there: smooth spectrograms without the fine texture (grain, noise, partials) that tells a
door from rain. A discriminator that learns to tell real from generated texture pushes the
generator to put plausible texture back. Both trainings use LSGAN scores and feature
matching, as HiFi-GAN does, and update the generator and the discriminators in one optimiser
step (the discriminators see detached outputs; the generator's terms flow through frozen
discriminators), which keeps the shared accelerate loop unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchDiscriminator(nn.Module):
    """Scores patches of a ``(B, 1, frames, bins)`` spectrogram image; also returns its features.

    ``widths`` and ``strides`` give one weight-normed conv (kernel ``kernel``) per entry.
    """

    def __init__(self, widths=(32, 32, 32, 32), strides=(1, (1, 2), (1, 2), (1, 2)), kernel=(3, 9)):
        super().__init__()
        padding = (kernel[0] // 2, kernel[1] // 2)
        self.convs = nn.ModuleList([nn.utils.parametrizations.weight_norm(nn.Conv2d(c_in, c_out, kernel, stride, padding))
                                    for c_in, c_out, stride in zip((1, *widths[:-1]), widths, strides)])
        self.post = nn.utils.parametrizations.weight_norm(nn.Conv2d(widths[-1], 1, 3, padding=1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, features = image, []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            features.append(h)
        return self.post(h).flatten(1), features


def lsgan_discriminator_loss(discriminators: nn.Module, real: torch.Tensor, fake: torch.Tensor):
    """``(d_loss, real_out)``: the discriminators' loss (real -> 1, detached fake -> 0), which
    reaches the generator not at all, and their outputs on ``real``."""
    d_loss = 0.0
    real_out = discriminators(real)
    for (score_real, _), (score_fake, _) in zip(real_out, discriminators(fake.detach())):
        d_loss = d_loss + ((1 - score_real) ** 2).mean() + (score_fake**2).mean()
    return d_loss, real_out


def lsgan_terms(discriminators: nn.Module, real: torch.Tensor, fake: torch.Tensor):
    """``(d_loss, g_adv, feature_matching)`` for ``discriminators(x) -> [(scores, features), ...]``.

    ``d_loss`` trains the discriminators (``lsgan_discriminator_loss``); ``g_adv`` and
    ``feature_matching`` train the generator and reach the discriminators not at all (their
    parameters are frozen while those terms are built).
    """
    d_loss, real_out = lsgan_discriminator_loss(discriminators, real, fake)
    g_adv, fm = 0.0, 0.0
    for p in discriminators.parameters():
        p.requires_grad_(False)
    try:
        for (score_fake, feats_fake), (_, feats_real) in zip(discriminators(fake), real_out):
            g_adv = g_adv + ((1 - score_fake) ** 2).mean()
            fm = fm + sum(F.l1_loss(a, b.detach()) for a, b in zip(feats_fake, feats_real))
    finally:
        for p in discriminators.parameters():
            p.requires_grad_(True)
    return d_loss, g_adv, fm
