"""A pipeline as a folder: what ``V2APipeline`` needs of diffusers' ``DiffusionPipeline``.

``model_index.json`` names each component's module and class; each component has a subfolder
(``config.json`` and safetensors for a network). Folders written by diffusers, whose index names
diffusers' scheduler and transformers' tokenizer and vocoder, load into v2a's own equivalents
(``COMPATIBLE``), so the shipped weights and older runs load without diffusers or transformers,
whose imports took longer than loading all the weights.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
from pathlib import Path

import torch

from .errors import V2AError

INDEX_NAME = "model_index.json"

# classes that folders written through diffusers name, and the v2a class that reads each folder
COMPATIBLE = {
    ("diffusers", "FlowMatchEulerDiscreteScheduler"): ("v2a.scheduler", "FlowMatchEulerScheduler"),
    ("transformers", "BertTokenizer"): ("v2a.models.text_encoder", "Tokenizer"),
    ("transformers", "BertTokenizerFast"): ("v2a.models.text_encoder", "Tokenizer"),
    ("transformers", "SpeechT5HifiGan"): ("v2a.models.vocoder", "HifiGan"),
}


class FolderPipeline:
    """Named components (``register_modules``), moved together (``to``), saved and loaded as a folder."""

    def __init__(self):
        self._component_names: list[str] = []
        self._progress_bar_config: dict = {}
        self.name_or_path: str | None = None  # the folder it was loaded from (as diffusers names it)

    def register_modules(self, **components) -> None:
        for name, component in components.items():
            setattr(self, name, component)
            if name not in self._component_names:
                self._component_names.append(name)

    @property
    def components(self) -> dict:
        """The components by name, in the order they were registered."""
        return {name: getattr(self, name) for name in self._component_names}

    def _modules(self) -> list[torch.nn.Module]:
        return [c for c in self.components.values() if isinstance(c, torch.nn.Module)]

    @property
    def device(self) -> torch.device:
        for module in self._modules():
            # lazily: this is read on every denoising step, and only the first tensor is wanted
            for tensor in itertools.chain(module.parameters(), module.buffers()):
                return tensor.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        for module in self._modules():
            for tensor in module.parameters():
                return tensor.dtype
        return torch.float32

    def to(self, device: str | torch.device | torch.dtype | None = None, dtype: torch.dtype | None = None):
        """Moves every network to ``device`` (and ``dtype``); returns the pipeline."""
        if isinstance(device, torch.dtype):
            device, dtype = None, device
        for module in self._modules():
            module.to(device=device, dtype=dtype)
        return self

    def set_progress_bar_config(self, **kwargs) -> None:
        """Keywords for the ``tqdm`` progress bar of sampling steps (``disable=True`` hides it)."""
        self._progress_bar_config = dict(kwargs)

    def progress_bar(self, iterable):
        if self._progress_bar_config.get("disable"):
            return iterable
        from tqdm.auto import tqdm

        return tqdm(iterable, **self._progress_bar_config)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, dtype: torch.dtype = torch.float32, *,
                        torch_dtype: torch.dtype | None = None, **_ignored):
        """Loads a pipeline folder; networks get ``dtype`` (default float32, whatever the files store)."""
        folder = Path(folder)
        index_path = folder / INDEX_NAME
        if not index_path.is_file():
            raise V2AError(f"{folder}: not a v2a model folder (no {INDEX_NAME})")
        index = json.loads(index_path.read_text())
        components = {}
        for name, spec in index.items():
            if name.startswith("_") or not isinstance(spec, list):
                continue
            component_class = _component_class(*spec)
            try:
                components[name] = component_class.from_pretrained(folder / name, dtype=torch_dtype or dtype)
            except (OSError, ValueError) as err:
                raise V2AError(f"{folder / name}: cannot load the {name} ({err})") from None
        pipe = cls(**components)
        pipe.name_or_path = str(folder)
        return pipe

    def save_pretrained(self, folder: str | os.PathLike, **_ignored) -> None:
        """Writes ``model_index.json`` and a subfolder per component."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        index = {"_class_name": type(self).__name__}
        for name, component in self.components.items():
            index[name] = [type(component).__module__, type(component).__name__]
            component.save_pretrained(folder / name)
        (folder / INDEX_NAME).write_text(json.dumps(index, indent=2) + "\n")


def _component_class(module: str, name: str):
    module, name = COMPATIBLE.get((module.split(".")[0], name), (module, name))
    if not module.startswith("v2a."):
        raise V2AError(f"model folder names an unsupported component class {module}.{name}")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise V2AError(f"model folder names an unknown component class {module}.{name}") from None
