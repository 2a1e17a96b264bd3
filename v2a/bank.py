"""A sound bank: short labelled recordings that a prompt retrieves as reference sounds.

A bank is one safetensors file. Each entry is a recording's log-mel (the vocoder's format, 8 bits
in steps of ``MEL_STEP`` above silence: a few kB a second) with its caption, category, family,
source, licence and attribution, and the caption's sentence embedding from the pipeline's text
encoder. Log-mels rather than latents are stored, so a bank serves any audio latent: the
pipeline encodes what it retrieves with its own.

    bank = build_bank(pipe, [(waveform, BankEntry("a dog barking", ...)), ...])
    bank.save("sounds.bank.safetensors")
    hits = SoundBank.load(path).search(embed_texts(pipe, ["dog"])[0], k=3)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import V2AError
from .signal.audio import DEFAULT_AUDIO, log_mel

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
        from safetensors.numpy import save_file

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
        save_file(arrays, str(tmp), metadata=meta)
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
        return cls([levels[a:b] for a, b in zip(offsets[:-1], offsets[1:])], entries, text.astype(np.float32))


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
