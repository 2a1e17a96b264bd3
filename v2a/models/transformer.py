"""Diffusion transformer: predicts the flow-matching velocity of the audio latent.

Tokens are audio-latent frames (21.5 per second). Each block has self-attention over the
audio tokens, cross-attention to the conditioning tokens (prompt tokens and per-frame video
tokens), and an MLP, all modulated by the timestep and a pooled summary of the conditions
(adaLN-Zero as in DiT, one modulation layer shared by all blocks). The frame-aligned motion features from ``v2a.signal.motion`` are embedded by a
small temporal convolution and added to the audio tokens, so every latent frame knows what
moved at that instant. ``prepare_conditions`` runs once per clip; ``forward`` once per step.
Learned "empty" embeddings stand in for a missing prompt or video (condition dropout in
training, the unconditional branch of classifier-free guidance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from .base import ConfigModule, register_to_config
from torch import nn

# adaLN modulations per block: shift, scale and gate for each of self-attention, cross-attention and MLP
MODULATIONS = 9
# sigma in [0, 1] is embedded at the scale of the scheduler's timesteps (its num_train_timesteps)
TIMESTEP_SCALE = 1000.0


def sinusoidal(positions: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """``(...)`` positions -> ``(..., dim)`` sine/cosine features."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    args = positions.float()[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def frame_tokens_in_window(frame_times: np.ndarray, start: float, end: float) -> np.ndarray:
    """Which sampled frames condition the latent frames from ``start`` to ``end`` seconds.

    The frames shown in that span; when a very short span holds none, the nearest one. Training
    crops and the pipeline's windows over long clips choose them the same way, and both shift
    the chosen frames' times by ``start``, since the model only ever saw positions from 0.
    """
    keep = (frame_times >= start) & (frame_times < end)
    if not keep.any():
        keep[np.argmin(np.abs(frame_times - start))] = True
    return keep


@dataclass
class Conditions:
    """Everything the denoiser needs that does not change across steps."""

    context: torch.Tensor  # (B, N, W) prompt and video tokens
    context_mask: torch.Tensor  # (B, N) True where a token is real
    summary: torch.Tensor  # (B, W) pooled conditions for adaLN
    motion: torch.Tensor  # (B, T, W) embedded motion features

    @staticmethod
    def cat(items: list["Conditions"]) -> "Conditions":
        return Conditions(*(torch.cat([getattr(c, f) for c in items]) for f in ("context", "context_mask", "summary", "motion")))


class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(width, 2 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x, context, key_mask=None):
        b, t, w = x.shape
        q = self.q(x).view(b, t, self.heads, -1).transpose(1, 2)  # (B, H, T, D)
        k, v = self.kv(context).view(b, context.shape[1], 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        mask = key_mask[:, None, None, :] if key_mask is not None else None
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.out(y.transpose(1, 2).reshape(b, t, w))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.self_attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.cross_attn = Attention(width, heads)
        self.norm3 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        # per-block offset to the shared modulation (adaLN-single, as in PixArt-alpha)
        self.modulation_offset = nn.Parameter(torch.zeros(MODULATIONS, width))

    def forward(self, x, shared_modulation: torch.Tensor, context, context_mask, token_mask):
        mods = (shared_modulation + self.modulation_offset).unbind(1)  # MODULATIONS x (B, W)
        mods = [m[:, None] for m in mods]  # each (B, 1, W)
        h = self.norm1(x) * (1 + mods[1]) + mods[0]
        x = x + mods[2] * self.self_attn(h, h, token_mask)
        h = self.norm2(x) * (1 + mods[4]) + mods[3]
        x = x + mods[5] * self.cross_attn(h, context, context_mask)
        h = self.norm3(x) * (1 + mods[7]) + mods[6]
        return x + mods[8] * self.mlp(h)


class SoundTransformer(ConfigModule):
    """Flow-matching denoiser over audio-latent tokens; its keyword arguments are its ``config.json``."""

    @register_to_config
    def __init__(
        self,
        latent_channels: int = 16,  # channels of the autoencoder latent
        width: int = 256,  # transformer size: width, depth, heads, mlp_ratio
        depth: int = 6,
        heads: int = 4,
        mlp_ratio: float = 4.0,
        text_dim: int = 384,  # the text encoder's token width (also the frame labels')
        frame_dim: int = 1280,  # the frame encoder's pooled feature width
        # motion features per latent frame (v2a.signal.motion.NUM_MOTION_FEATURES); "timing" in this
        # name and in timing_in / empty_timing is the saved config's and weights' spelling of "motion"
        timing_dim: int = 50,
        frame_token_rate: float = 2.0,  # video tokens per second of clip (one sampled frame each)
        reference_tokens: int = 0,  # tokens a reference sound is pooled into ("sound like this"); 0: none
    ):
        super().__init__()
        self.latent_in = nn.Linear(latent_channels, width)
        self.text_in = nn.Linear(text_dim, width)
        self.frame_in = nn.Linear(frame_dim, width)
        self.label_in = nn.Linear(text_dim, width)
        self.timing_in = nn.Sequential(
            nn.Conv1d(timing_dim, width, 5, padding=2), nn.GELU(), nn.Conv1d(width, width, 3, padding=1)
        )
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        self.summary_mlp = nn.Sequential(nn.Linear(2 * width, width), nn.SiLU(), nn.Linear(width, width))
        # stand-ins for an absent prompt / absent video (guidance and condition dropout)
        self.empty_text = nn.Parameter(torch.randn(1, 1, text_dim) * 0.02)
        self.empty_frame = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.empty_timing = nn.Parameter(torch.zeros(1, 1, width))
        self.type_embed = nn.Parameter(torch.randn(2, width) * 0.02)  # 0: text token, 1: video token
        # One modulation layer shared by all blocks keeps the model small (MODULATIONS x width^2 per
        # block otherwise); zero init makes every block start as the identity (adaLN-Zero).
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, MODULATIONS * width))
        nn.init.zeros_(self.modulation[1].weight)
        nn.init.zeros_(self.modulation[1].bias)
        self.blocks = nn.ModuleList([Block(width, heads, mlp_ratio) for _ in range(depth)])
        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.out_modulation = nn.Sequential(nn.SiLU(), nn.Linear(width, 2 * width))
        self.latent_out = nn.Linear(width, latent_channels)
        for layer in (self.out_modulation[1], self.latent_out):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        if reference_tokens:
            self.reference_in = nn.Linear(latent_channels, width)
            self.empty_reference = nn.Parameter(torch.randn(1, 1, width) * 0.02)
            # zero init: a transformer warm-started without references starts out ignoring them in adaLN
            self.reference_summary = nn.Linear(width, width)
            nn.init.zeros_(self.reference_summary.weight)
            nn.init.zeros_(self.reference_summary.bias)

    def prepare_conditions(
        self,
        text_tokens: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        frame_features: torch.Tensor | None,
        frame_labels: torch.Tensor | None,
        frame_times: torch.Tensor | None,
        motion: torch.Tensor | None,
        num_latent_frames: int,
        batch_size: int,
        *,
        frame_mask: torch.Tensor | None = None,
        drop_text: torch.Tensor | None = None,
        drop_video: torch.Tensor | None = None,
        reference: torch.Tensor | None = None,
        reference_mask: torch.Tensor | None = None,
        drop_reference: torch.Tensor | None = None,
    ) -> Conditions:
        """Embeds the conditions of a batch once per clip: the one conditioning function that
        inference, training (with condition dropout) and validation all call.

        "No prompt" and "no video" are the learned empty embeddings: for the whole batch when
        the tokens are None, for single rows with ``drop_text`` / ``drop_video`` (a prompt-less
        clip in a batch with prompts, or condition dropout in training). Either way the row sees
        one empty token where its prompt (or video) would be, so it means the same alone or in
        a batch.

        Args:
            text_tokens: ``(B, L, text_dim)`` prompt token embeddings, or None for "no prompt".
            text_mask: ``(B, L)`` True for real tokens.
            frame_features: ``(B, F, frame_dim)`` sampled-frame features, or None for "no video".
            frame_labels: ``(B, F, text_dim)`` label embeddings of the same frames.
            frame_times: ``(B, F)`` their times in seconds.
            motion: ``(B, T, timing_dim)`` motion features on the latent clock, or None.
            num_latent_frames: ``T``.
            batch_size: ``B`` (needed when every condition is None).
            frame_mask: ``(B, F)`` True for real frames when clips with different numbers of
                frames share a batch (default: all real).
            drop_text: ``(B,)`` True where the row has no prompt.
            drop_video: ``(B,)`` True where the row has no video (frames and motion).
            reference: ``(B, R, latent_channels)`` latent of a reference sound (encoded like the
                audio), or None for "no reference"; ignored when ``config.reference_tokens`` is 0.
            reference_mask: ``(B, R)`` True for real reference frames (default: all real).
            drop_reference: ``(B,)`` True where the row has no reference.
        """
        if text_tokens is None:
            text_tokens = self.empty_text.expand(batch_size, 1, -1)
            text_mask = torch.ones(batch_size, 1, dtype=torch.bool, device=self.device)
        elif drop_text is not None:
            text_tokens, text_mask = _only_first(text_tokens, text_mask.bool(), drop_text, self.empty_text[0, 0])
        text = self.text_in(text_tokens.to(self.dtype)) + self.type_embed[0]
        if frame_features is None:
            video = self.empty_frame.expand(batch_size, 1, -1)
            video_mask = torch.ones(batch_size, 1, dtype=torch.bool, device=self.device)
        else:
            seconds = sinusoidal(frame_times * 10.0, self.config.width).to(self.dtype)  # 0.1 s resolution
            video = self.frame_in(frame_features.to(self.dtype)) + self.label_in(frame_labels.to(self.dtype)) + seconds
            video_mask = (frame_mask.bool() if frame_mask is not None
                          else torch.ones(video.shape[:2], dtype=torch.bool, device=self.device))
            if drop_video is not None:
                video, video_mask = _only_first(video, video_mask, drop_video, self.empty_frame[0, 0])
        video = video + self.type_embed[1]
        context = torch.cat([text, video], dim=1)
        context_mask = torch.cat([text_mask.bool(), video_mask], dim=1)
        summary = self.summary_mlp(torch.cat([_masked_mean(text, text_mask.bool()), _masked_mean(video, video_mask)], -1))
        if self.config.reference_tokens:
            sound, sound_mask = self._embed_reference(reference, reference_mask, drop_reference, batch_size)
            context = torch.cat([context, sound], dim=1)
            context_mask = torch.cat([context_mask, sound_mask], dim=1)
            summary = summary + self.reference_summary(_masked_mean(sound, sound_mask))
        empty_motion = self.empty_timing.expand(batch_size, num_latent_frames, -1)
        if motion is None:
            return Conditions(context, context_mask, summary, empty_motion)
        assert motion.shape[1] == num_latent_frames, f"{motion.shape=} {num_latent_frames=}"
        motion_emb = self.timing_in(motion.to(self.dtype).transpose(1, 2)).transpose(1, 2)
        if drop_video is not None:
            motion_emb = torch.where(drop_video[:, None, None], empty_motion, motion_emb)
        return Conditions(context, context_mask, summary, motion_emb)

    def _embed_reference(self, reference, reference_mask, drop_reference, batch_size: int):
        """``reference_tokens`` tokens per row: the reference latent averaged over that many equal
        spans of the row's own frames (real frames first, padding after, as batches are stacked), so
        a reference pools the same alone or in a batch. No position is added, and cross-attention
        does not see the order of its keys, so the tokens say what the reference sounds like but
        not when its sounds happen: the video decides the timing. A missing or dropped reference is
        one learned empty token."""
        k, width = self.config.reference_tokens, self.config.width
        if reference is None:
            tokens = torch.zeros(batch_size, k, width, dtype=self.dtype, device=self.device)
            mask = torch.zeros(batch_size, k, dtype=torch.bool, device=self.device)
            everyone = torch.ones(batch_size, dtype=torch.bool, device=self.device)
            return _only_first(tokens, mask, everyone, self.empty_reference[0, 0])
        b, r, _ = reference.shape
        real = (reference_mask.bool().sum(1) if reference_mask is not None
                else torch.full((b,), r, device=reference.device))
        # frame p of a row with n real frames goes to token floor(p * k / n); padding to none
        position = torch.arange(r, device=reference.device)[None]
        token_of = torch.where(position < real[:, None], position * k // real.clamp(min=1)[:, None], k)
        assign = (token_of[:, None, :] == torch.arange(k, device=reference.device)[None, :, None]).to(self.dtype)
        counts = assign.sum(2, keepdim=True)
        pooled = assign @ reference.to(self.dtype) / counts.clamp(min=1)
        tokens, mask = self.reference_in(pooled), counts[..., 0] > 0
        dropped = ~mask.any(1) if drop_reference is None else drop_reference.to(mask.device) | ~mask.any(1)
        return _only_first(tokens, mask, dropped, self.empty_reference[0, 0])

    def forward(self, latents: torch.Tensor, sigma: torch.Tensor, conditions: Conditions,
                token_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Velocity ``noise - clean`` for ``latents = (1 - sigma) * clean + sigma * noise``.

        Args:
            latents: ``(B, T, latent_channels)``.
            sigma: ``(B,)`` noise level in [0, 1].
            conditions: from ``prepare_conditions``.
            token_mask: ``(B, T)`` True for real latent frames when clips of different
                lengths share a batch.
        """
        b, t, _ = latents.shape
        assert conditions.motion.shape[1] == t, f"{conditions.motion.shape=} {latents.shape=}"
        w = self.config.width
        positions = torch.arange(t, device=latents.device)
        x = self.latent_in(latents.to(self.dtype)) + conditions.motion + sinusoidal(positions, w).to(self.dtype)
        cond = self.time_mlp(sinusoidal(sigma * TIMESTEP_SCALE, w).to(self.dtype)) + conditions.summary
        modulation = self.modulation(cond).view(b, MODULATIONS, w)
        for block in self.blocks:
            x = block(x, modulation, conditions.context, conditions.context_mask, token_mask)
        shift, scale = self.out_modulation(cond)[:, None].chunk(2, dim=-1)
        return self.latent_out(self.norm_out(x) * (1 + scale) + shift)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` ``(B, N, W)`` over the tokens where ``mask`` ``(B, N)`` is True."""
    m = mask[..., None].to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


def _only_first(tokens: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, empty: torch.Tensor):
    """Rows ``rows`` of ``tokens`` ``(B, N, W)`` replaced by ``empty`` ``(W,)`` as their one real token."""
    emptied = torch.zeros_like(tokens[0])
    emptied[0] = empty.to(tokens.dtype)
    only_first = torch.zeros_like(mask[0])
    only_first[0] = True
    rows = rows.to(tokens.device)
    return (torch.where(rows[:, None, None], emptied, tokens), torch.where(rows[:, None], only_first, mask))
