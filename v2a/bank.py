"""A sound bank: short labelled recordings that a prompt retrieves as reference sounds.

A bank is one safetensors file. Each entry is a recording's log-mel (the vocoder's format, 8 bits
in steps of ``MEL_STEP`` above silence: a few kB a second) with its caption, category, family,
source, licence and attribution, and the caption's sentence embedding from the pipeline's text
encoder. Log-mels rather than latents are stored, so a bank serves any audio latent: the
pipeline encodes what it retrieves with its own.

    bank = build_bank(pipe, [(waveform, BankEntry("a dog barking", ...)), ...])
    bank.save("sounds.bank.safetensors")
    hits = retrieve(pipe, SoundBank.load(path), k=2, prompt="dog")

The shipped bank (``weights/bank.safetensors``, built from the sound library's train split by
``python -m v2a.data build-bank``) is used when ``GenerationSettings.use_bank`` says so, or when
asked for (``bank=True``); a path or a ``SoundBank`` uses another. ``retrieve`` is the one way a
clip's reference is looked up: the pipeline and ``v2a bank search`` both call it.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import V2AError
from .signal.audio import DEFAULT_AUDIO, log_mel

BANK_FILE = "bank.safetensors"  # the shipped bank's name in the shipped model's folder
MEL_STEP = 0.05  # natural-log units per 8-bit step: 12.75 above silence, beyond any real level
ENTRY_SECONDS = 3.0  # the start of each recording kept as its reference


@dataclass(frozen=True)
class BankEntry:
    caption: str
    category: str = ""
    family: str = ""
    source: str = ""
    license: str = ""
    attribution: str = ""


@dataclass
class SoundBank:
    mels: list[np.ndarray]  # per entry (frames, n_mels) log-mel
    entries: list[BankEntry]
    text: np.ndarray  # (N, D) unit-length caption embeddings
    name: str = ""  # the file it was loaded from, which provenance records

    def search(self, query: np.ndarray, k: int = 3, avoid: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``k`` entries whose captions are closest to the ``query`` embedding, as ``(index,
        similarity)``; with ``avoid`` (a negative prompt's embedding) entries closer to it than to the
        query are left out."""
        scores = self.text @ np.asarray(query, dtype=np.float32)
        allowed = np.ones(len(scores), dtype=bool) if avoid is None else scores > self.text @ np.asarray(avoid)
        order = [int(i) for i in np.argsort(-scores, kind="stable") if allowed[i]]
        return [(i, float(scores[i])) for i in order[:k]]

    def reference_mel(self, indices: list[int]) -> np.ndarray:
        """The chosen entries' log-mels one after another: one reference for the pipeline."""
        return np.concatenate([self.mels[i] for i in indices])

    def save(self, path: str | Path) -> Path:
        from safetensors.numpy import save

        path = Path(path)
        silence = DEFAULT_AUDIO.silence_level
        steps = [np.clip(np.round((m - silence) / MEL_STEP), 0, 255).astype(np.uint8) for m in self.mels]
        arrays = {"mels": np.concatenate(steps), "offsets": np.cumsum([0] + [len(m) for m in steps]).astype(np.int64),
                  "text": self.text.astype(np.float16)}
        # safetensors writes an array's buffer as it lies: a transposed view (torch's mel) must be copied first
        arrays = {name: np.ascontiguousarray(a) for name, a in arrays.items()}
        meta = {"entries": json.dumps([asdict(e) for e in self.entries]), "mel_step": str(MEL_STEP),
                "silence": str(silence)}
        tmp = path.with_name(f".{path.name}.tmp")
        # written as bytes, not with save_file, which makes the file readable by its owner alone
        tmp.write_bytes(save(arrays, metadata=meta))
        tmp.replace(path)  # a bank appears whole or not at all
        return path

    @classmethod
    def load(cls, path: str | Path) -> "SoundBank":
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise V2AError(f"{path}: no such sound bank")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                mels, offsets, text = f.get_tensor("mels"), f.get_tensor("offsets"), f.get_tensor("text")
            entries = [BankEntry(**e) for e in json.loads(meta["entries"])]
            step, silence = float(meta["mel_step"]), float(meta["silence"])
        except (SafetensorError, OSError, KeyError, ValueError, TypeError) as err:
            raise V2AError(f"{path}: not a sound bank ({err})") from None
        levels = mels.astype(np.float32) * step + silence
        return cls([levels[a:b] for a, b in zip(offsets[:-1], offsets[1:])], entries, text.astype(np.float32),
                   name=path.name)


def shipped_bank_path() -> Path:
    from .presets import default_weights_dir

    return default_weights_dir() / BANK_FILE


@functools.lru_cache(maxsize=2)
def _load_once(path: str, modified_ns: int) -> SoundBank:
    # a batch or a script calling generate() again and again reads (and dequantises) a bank once
    return SoundBank.load(path)


def open_bank(bank):
    """What ``bank=`` (or ``--bank``) names, opened: a path is loaded and ``True`` is the shipped bank;
    a ``SoundBank``, ``None`` (the settings decide) and ``False`` (no bank) stay as they are. A bad
    bank file fails here, before any model loads."""
    if bank is None or bank is False or isinstance(bank, SoundBank):
        return bank
    if bank is True:
        bank = shipped_bank_path()
    if not isinstance(bank, (str, os.PathLike)):
        raise V2AError(f"bank must be a path, a SoundBank, True or False, not {type(bank).__name__}")
    path = Path(bank)
    if not path.is_file():
        return SoundBank.load(path)  # its one-line error
    return _load_once(str(path.resolve()), path.stat().st_mtime_ns)


def check_bank(pipe, bank: SoundBank, generating: bool = True) -> None:
    """Refuses, in one line, a bank that ``pipe`` cannot search (``generating`` False) or generate from."""
    if generating and not pipe.takes_reference:
        raise V2AError("this model takes no reference sound (its transformer has no reference tokens), "
                       "so it cannot use a sound bank")
    width = pipe.text_encoder.hidden_size
    if bank.text.shape[1] != width:
        raise V2AError(f"the sound bank's captions were embedded by another text encoder ({bank.text.shape[1]}-d, "
                       f"this model's is {width}-d): rebuild it with this model (v2a bank build --model ...)")
    bins = pipe.audio_settings.n_mels
    if bank.mels and bank.mels[0].shape[1] != bins:
        raise V2AError(f"the sound bank holds {bank.mels[0].shape[1]}-bin mels, this model reads {bins}")


def select_bank(bank, pipe, use_default: bool) -> SoundBank | None:
    """The bank a generation retrieves from, given ``bank`` as :func:`open_bank` returns it.

    ``None`` follows the settings (``use_default``): the shipped bank if the model takes reference
    sounds, else no bank, so a model without reference tokens never fails because of the default.
    A bank asked for explicitly must suit the model (:func:`check_bank`).
    """
    if bank is False:
        return None
    if bank is None:
        if not (use_default and pipe.takes_reference):
            return None
        bank = open_bank(True)
    check_bank(pipe, bank)
    return bank


def retrieve(pipe, bank: SoundBank, k: int, prompt: str | None = None, negative_prompt: str | None = None,
             frame_labels: torch.Tensor | None = None) -> list[tuple[int, float]]:
    """The entries a clip takes as its reference, as ``(index, similarity)``, closest first.

    The query is the prompt or, without one, the clip's pictures: ``frame_labels`` ``(frames, D)``
    are the frame encoder's label embeddings, each frame's likeliest ImageNet class names embedded
    by the same text encoder (``FrameEncoder.label_embeddings``), so their mean lies in the space of
    the captions. Entries closer to the negative prompt than to the query are left out. With
    neither a prompt nor pictures nothing is retrieved.
    """
    prompt = prompt if prompt and prompt.strip() else None
    negative = negative_prompt if negative_prompt and negative_prompt.strip() else None
    texts = [t for t in (prompt, negative) if t]
    vectors = embed_texts(pipe, texts) if texts else None
    if prompt is not None:
        query = vectors[0]
    elif frame_labels is not None and len(frame_labels):
        query = torch.nn.functional.normalize(frame_labels.float().mean(0), dim=-1).cpu().numpy()
    else:
        return []
    return bank.search(query, k, avoid=vectors[-1] if negative else None)


@torch.no_grad()
def embed_texts(pipe, texts: list[str]) -> np.ndarray:
    """Unit-length sentence embeddings ``(N, D)`` of ``texts`` (none empty) from the pipeline's text
    encoder, tokenised as prompts are."""
    prompts = pipe.encode_prompts(texts)
    return pipe.text_encoder.pool(prompts.tokens, prompts.mask).float().cpu().numpy()


def build_bank(pipe, items: list[tuple[np.ndarray, BankEntry]]) -> SoundBank:
    """A bank of ``(waveform at the vocoder's rate, entry)`` items: the first ``ENTRY_SECONDS`` of each."""
    if not items:
        raise V2AError("no sounds to put in the bank")
    rate = pipe.audio_settings.sample_rate
    mels = [log_mel(torch.from_numpy(np.asarray(w[: int(ENTRY_SECONDS * rate)], np.float32))).numpy()
            for w, _ in items]
    entries = [entry for _, entry in items]
    return SoundBank(mels, entries, embed_texts(pipe, [e.caption for e in entries]))


def caption_from_name(path: Path) -> str:
    """``dog_bark-02.wav`` -> ``dog bark``: what a file named after its sound says."""
    words = "".join(c if c.isalpha() else " " for c in path.stem).split()
    return " ".join(words).lower()


def folder_items(folder: Path, sample_rate: int) -> list[tuple[np.ndarray, BankEntry]]:
    """The audio files under ``folder`` with captions from their names (or from ``captions.csv``
    beside them: ``file,caption[,category,license,attribution]``)."""
    import csv

    from .media.audio import AUDIO_FILE_EXTENSIONS, load_reference

    table = {}
    captions = folder / "captions.csv"
    if captions.is_file():
        with captions.open(newline="", encoding="utf-8") as handle:
            table = {row["file"].strip(): row for row in csv.DictReader(handle) if (row.get("file") or "").strip()}
    items = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_FILE_EXTENSIONS):
        row = table.get(path.relative_to(folder).as_posix()) or table.get(path.name) or {}
        caption = (row.get("caption") or "").strip() or caption_from_name(path)
        if not caption:
            continue
        wave = load_reference(path, sample_rate)
        items.append((wave, BankEntry(caption, (row.get("category") or "").strip(), "", str(folder),
                                      (row.get("license") or "").strip(), (row.get("attribution") or "").strip())))
    return items
