"""What the networks need of diffusers' ``ModelMixin`` / ``ConfigMixin``, without importing diffusers.

A network's typed ``__init__`` keyword arguments, recorded by ``@register_to_config``, are its
``config`` and its saved ``config.json``; its weights are one safetensors file beside it: the
folder layout of diffusers (and of transformers, for the vocoder), so folders written by either
load here and the other way round. Importing diffusers (and through it ``torch._dynamo``) took
longer than loading every weight of the shipped model, so v2a keeps its own small version.

Loading builds the network without its random initialisation (``skip_init``: the weights are
about to be replaced) and assigns the stored tensors, cast to the requested dtype; a weight
missing from the file, or one the network does not have, is an error rather than a silently
random parameter.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from pathlib import Path

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

CONFIG_NAME = "config.json"


class Config(dict):
    """A network's ``__init__`` keywords, read as attributes (``config.width``) or as a dict."""

    def __getattr__(self, name: str):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no '{name}'") from None

    def _frozen(self, *args, **kwargs):
        raise TypeError("a config is frozen: build a new network with changed keywords instead")

    __setitem__ = __delitem__ = update = pop = popitem = setdefault = clear = _frozen

    def __reduce__(self):  # copies and pickles are built whole, not item by item
        return Config, (dict(self),)


def register_to_config(init):
    """Decorates ``__init__`` so that the keywords it was called with (defaults included) become
    ``self.config``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self.config = Config({k: v for k, v in bound.arguments.items() if k != "self"})

    return wrapper


class ConfigModule(nn.Module):
    """An ``nn.Module`` saved as a folder: ``config.json`` (its ``__init__`` keywords) plus its
    weights in ``weights_name`` (safetensors)."""

    weights_name = "diffusion_pytorch_model.safetensors"

    @property
    def dtype(self) -> torch.dtype:
        return next(self._tensors()).dtype

    @property
    def device(self) -> torch.device:
        return next(self._tensors()).device

    def _tensors(self):
        yield from self.parameters()
        yield from self.buffers()

    @classmethod
    def from_config(cls, config: dict) -> "ConfigModule":
        """A freshly initialised network with these ``__init__`` keywords (``_``-keys are ignored)."""
        return cls(**{k: v for k, v in config.items() if not k.startswith("_")})

    @classmethod
    def config_from_folder(cls, folder: str | os.PathLike) -> dict:
        """The ``__init__`` keywords saved in ``folder``; keys the class does not take (written by
        diffusers or transformers, such as ``_class_name``) are left out."""
        saved = json.loads((Path(folder) / CONFIG_NAME).read_text())
        accepted = inspect.signature(cls.__init__).parameters
        return {k: v for k, v in saved.items() if k in accepted and k != "self"}

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, dtype: torch.dtype | None = None, *,
                        subfolder: str | None = None, torch_dtype: torch.dtype | None = None, **_ignored):
        """Loads a network saved by ``save_pretrained`` (or by diffusers / transformers).

        Args:
            folder: the network's folder (or a pipeline folder, with ``subfolder``).
            dtype: the dtype of the loaded weights (default float32, whatever the file stores).
            subfolder: a component of a pipeline folder.
            torch_dtype: diffusers' older name for ``dtype``.
        """
        folder = Path(folder) / (subfolder or "")
        with skip_init():
            model = cls(**cls.config_from_folder(folder))
        return model.load_weights(folder / cls.weights_name, dtype or torch_dtype or torch.float32).eval()

    def load_weights(self, path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> "ConfigModule":
        """Assigns the tensors stored in ``path`` (floats cast to ``dtype``) to the network: every
        parameter and buffer must be in the file, and none that it does not have."""
        state = load_tensors(path, dtype)
        expected = set(self.state_dict())
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        if missing or unexpected:
            raise ValueError(f"{path}: weights do not match {type(self).__name__} "
                             f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        self.load_state_dict(state, assign=True)
        return self

    def save_pretrained(self, folder: str | os.PathLike, **_ignored) -> None:
        """Writes ``config.json`` and the weights (safetensors) to ``folder``."""
        from safetensors.torch import save_file

        folder = Path(folder)
        write_config(folder / CONFIG_NAME, type(self).__name__, self.saved_config())
        save_file({k: v.detach().contiguous() for k, v in self.state_dict().items()}, str(folder / self.weights_name))

    def saved_config(self) -> dict:
        """What ``config.json`` holds besides the class name (tuples become lists)."""
        return json.loads(json.dumps(dict(self.config)))


class skip_init(TorchFunctionMode):
    """Within it, networks are built without the random initialisation of their weights (the
    ``torch.nn.init`` functions and in-place random fills do nothing), for weights that are loaded
    next. Building on the meta device instead imported ``torch._dynamo`` (its random fills are
    Python decompositions), which took seconds."""

    SKIPPED = {"normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
               "xavier_normal_", "orthogonal_"}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", None) in self.SKIPPED:
            return args[0] if args else kwargs["tensor"]
        return func(*args, **(kwargs or {}))


def load_tensors(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors, floating-point ones cast to ``dtype``."""
    from safetensors.torch import load_file

    state = load_file(str(path))
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}


def write_config(path: str | os.PathLike, class_name: str, config: dict) -> None:
    """A config file (``config.json``, ``scheduler_config.json``): the class name and its ``__init__``
    keywords; its folder is made."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"_class_name": class_name, **config}, indent=2, sort_keys=True) + "\n")
