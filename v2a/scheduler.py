"""The flow-matching Euler schedule: which noise levels the sampler visits, and one Euler step.

The same numbers as diffusers' ``FlowMatchEulerDiscreteScheduler`` with its default options (the
options v2a's models were trained and evaluated with), which reads and writes the same
``scheduler_config.json``; v2a keeps this small copy so that loading a pipeline does not import
diffusers. A config that asks for another of diffusers' options is refused, not ignored.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .models.base import Config, write_config

CONFIG_NAME = "scheduler_config.json"

# diffusers options this schedule does not implement, with the value that means "off"
_UNSUPPORTED = {"use_dynamic_shifting": False, "invert_sigmas": False, "shift_terminal": None,
                "use_karras_sigmas": False, "use_exponential_sigmas": False, "use_beta_sigmas": False,
                "stochastic_sampling": False}


@dataclass
class StepOutput:
    prev_sample: torch.Tensor


def shift_sigmas(sigmas, shift: float):
    """Noise levels moved toward noise: ``shift * s / (1 + (shift - 1) * s)`` (numpy or torch); the
    sampler's steps and, with ``--sigma-shift``, the training levels both go through it."""
    return shift * sigmas / (1 + (shift - 1) * sigmas)


class FlowMatchEulerScheduler:
    """Noise levels ``sigma`` from 1 down to ``1 / num_train_timesteps`` in equal steps, shifted by
    ``shift * s / (1 + (shift - 1) * s)``; timesteps are ``sigma * num_train_timesteps``.

    Args:
        num_train_timesteps: the scale of timesteps (the transformer embeds ``sigma`` at it).
        shift: > 1 spends more steps at high noise.
    """

    def __init__(self, num_train_timesteps: int = 1000, shift: float = 1.0):
        self.config = Config(num_train_timesteps=num_train_timesteps, shift=shift)
        self.timesteps = self.sigmas = None
        self._index = 0

    @classmethod
    def from_config(cls, config: dict) -> "FlowMatchEulerScheduler":
        """From a ``scheduler_config.json``'s contents (this class's or diffusers')."""
        asked = {k: config[k] for k, off in _UNSUPPORTED.items() if config.get(k, off) != off}
        if asked:
            raise ValueError(f"scheduler options not supported by v2a: {asked}")
        return cls(num_train_timesteps=config.get("num_train_timesteps", 1000), shift=config.get("shift", 1.0))

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, **_ignored) -> "FlowMatchEulerScheduler":
        return cls.from_config(json.loads((Path(folder) / CONFIG_NAME).read_text()))

    def save_pretrained(self, folder: str | os.PathLike, **_ignored) -> None:
        write_config(Path(folder) / CONFIG_NAME, type(self).__name__, dict(self.config))

    def _shifted(self, sigmas: np.ndarray) -> np.ndarray:
        return shift_sigmas(sigmas, self.config.shift)

    def set_timesteps(self, num_inference_steps: int, device: str | torch.device | None = None) -> None:
        """Prepares ``num_inference_steps`` steps: ``timesteps`` to visit and ``sigmas`` (one more, a final 0)."""
        scale = self.config.num_train_timesteps
        # the ends as diffusers rounds them: its training schedule is float32, from 1 to 1/scale
        ends = self._shifted(np.array([1.0, 1.0 / scale], dtype=np.float32)).astype(np.float32).astype(np.float64)
        timesteps = np.linspace(ends[0] * scale, ends[1] * scale, num_inference_steps)
        sigmas = torch.from_numpy(self._shifted(timesteps / scale)).to(dtype=torch.float32, device=device)
        self.timesteps = sigmas * scale
        self.sigmas = torch.cat([sigmas, torch.zeros(1, device=sigmas.device)])
        self._index = 0

    def step(self, model_output: torch.Tensor, timestep: torch.Tensor, sample: torch.Tensor) -> StepOutput:
        """One Euler step of the flow ``model_output``, the velocity at ``timestep``: steps are taken
        in the order of ``timesteps`` (as diffusers' scheduler does), computed in float32."""
        assert self.timesteps is not None and self._index < len(self.timesteps), "call set_timesteps first"
        dt = self.sigmas[self._index + 1] - self.sigmas[self._index]
        self._index += 1
        return StepOutput((sample.float() + dt * model_output).to(model_output.dtype))
