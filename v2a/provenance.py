"""How an output was made: a small JSON record written into the output's own metadata (and, with
``--sidecar``, beside it), and read back by ``v2a info``.

The record names everything that decides the sound: the v2a version, the model (its folder's
content hash; the vocoder's too where another replaced the model's own), the prompts, reference
sounds (or the sound bank and the entries it gave), sampler settings, span and mix level, device
and precision. It holds no date or host, so the same job gives the same file, bit for bit.

A light module (no torch), so ``v2a info`` answers at once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

from .errors import V2AError

METADATA_KEY = "comment"  # the one tag every container v2a writes keeps (MP4 and AVI drop unknown ones)
# A model folder's files that decide what it computes; its model card and pictures are left out,
# so that editing the card does not change the hash.
_MODEL_FILE_SUFFIXES = {".json", ".safetensors", ".txt", ".model"}


def model_identity(pipe) -> dict:
    """``{"model": name, "model_sha256": hash}`` of a pipeline: the hash of its folder's files, or
    None for one that was built in memory (the ``debug`` preset is named so); with
    ``"vocoder"`` and ``"vocoder_sha256"`` likewise if another vocoder replaced the model's own."""
    return source_identity(getattr(pipe, "name_or_path", None), getattr(pipe, "vocoder_name_or_path", None))


def source_identity(source: str | os.PathLike | None, vocoder: str | os.PathLike | None = None) -> dict:
    """:func:`model_identity` of the pipeline loaded from ``source`` (a model folder, or the name of
    one built in memory) with the vocoder folder ``vocoder`` if given, known before it loads: folder
    mode compares it with existing outputs."""
    if source and Path(source).is_dir():
        identity = {"model": Path(source).resolve().name, "model_sha256": folder_hash(Path(source))}
    else:
        identity = {"model": str(source) if source else "in-memory pipeline", "model_sha256": None}
    if vocoder is not None:
        identity.update(vocoder=Path(vocoder).resolve().name, vocoder_sha256=folder_hash(Path(vocoder)))
    return identity


def folder_hash(folder: Path) -> str:
    """SHA-256 over a model folder's file names and contents (see ``_MODEL_FILE_SUFFIXES``).

    Hashing the contents names the weights themselves, the same on every machine (a checkout's
    file times differ). Reading 60 MB takes a fraction of a second, and the result is cached under
    ``~/.cache/v2a`` by the files' names, sizes and modification times, so it is computed once.
    """
    from .cache import cache_root

    folder = folder.resolve()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _MODEL_FILE_SUFFIXES)
    stamp = hashlib.sha256(json.dumps(
        [str(folder)] + [[p.relative_to(folder).as_posix(), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    ).encode()).hexdigest()
    cache = cache_root() / "model-hashes" / f"{stamp}.txt"
    if cache.is_file():
        return cache.read_text().strip()
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    value = digest.hexdigest()
    from .media.mux import atomic_output

    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache, overwrite=True) as tmp:
            tmp.write_text(value)
    except (OSError, V2AError):
        pass  # a read-only cache only costs the hash again next time
    return value


def provenance_record(pipe, video: str | os.PathLike, *, prompt: str | None, negative_prompt: str | None,
                      reference, settings, span: tuple[float, float] | None, mix_db: float | None, bank=None,
                      retrieved: list[int] = ()) -> dict:
    """The record of one output (see the module docstring).

    Args:
        pipe: the pipeline that made the sound.
        video: the input video (only its file name is kept).
        reference: what ``generate`` took as ``reference``: files are recorded by name.
        settings: the :class:`v2a.settings.GenerationSettings` used (all its fields are kept).
        span: ``(start, end)`` seconds the sound was made for, or None for the whole video.
        bank: the :class:`v2a.bank.SoundBank` a reference was retrieved from, if any; recorded by
            its file name, with the captions of the ``retrieved`` entries.
    """
    from . import __version__
    from .presets import dtype_name

    return {
        "v2a": __version__,
        **model_identity(pipe),
        **request_record(video, prompt=prompt, negative_prompt=negative_prompt, reference=reference,
                         settings=settings, span=span, mix_db=mix_db),
        "bank": (bank.name or "a bank given in memory") if bank is not None and retrieved else None,
        "bank_retrieved": [bank.entries[i].caption for i in retrieved] if bank is not None and retrieved else None,
        "device": str(pipe.device),
        # both chosen per machine by default (bfloat16 on a CPU with bfloat16 arithmetic)
        "dtype": dtype_name(pipe.transformer.dtype),
        "vocoder_dtype": dtype_name(pipe.vocoder.dtype),
    }


def request_record(video: str | os.PathLike, *, prompt: str | None, negative_prompt: str | None, reference,
                   settings, span: tuple[float, float] | None, mix_db: float | None) -> dict:
    """The part of :func:`provenance_record` that the request alone decides, before any model loads
    or anything is generated (arguments as there): folder mode compares it, with the model's
    :func:`source_identity`, to an existing output's record to tell a finished job from another."""
    references = reference if isinstance(reference, list) else [] if reference is None else [reference]
    return {
        "input": Path(video).name,
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "reference": [Path(r).name if isinstance(r, (str, os.PathLike)) else "waveform" for r in references] or None,
        **dataclasses.asdict(settings),
        "span": list(span) if span is not None else None,
        "mix_db": mix_db,
    }


def to_metadata(record: dict) -> dict[str, str]:
    """The container tags that carry ``record`` (ASCII JSON: AVI and WAV tags hold no UTF-8)."""
    return {METADATA_KEY: json.dumps(record, sort_keys=True)}


def read_provenance(path: str | os.PathLike) -> dict:
    """The record of a file v2a wrote (or of its ``.json`` sidecar); a one-line V2AError otherwise."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise V2AError(f"{path}: not a readable v2a sidecar ({err})") from None
        if isinstance(record, dict) and "v2a" in record:
            return record
        raise V2AError(f"{path}: not a v2a sidecar")
    from .media.decode import open_container

    with open_container(path) as container:
        # Ogg keeps tags per stream, and Matroska names them in capitals
        tags = [container.metadata, *(stream.metadata for stream in container.streams)]
        values = [value for t in tags for key, value in t.items() if key.lower() == METADATA_KEY]
    for value in values:
        try:
            record = json.loads(value)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "v2a" in record:
            return record
    raise V2AError(f"{path}: records no v2a provenance (not written by v2a, or the container keeps no tags)")


def output_record(output: str | os.PathLike) -> dict:
    """The record v2a wrote for ``output``: from its tags, or from its sidecar for a container that
    keeps none (MPEG-TS, MPEG-PS, 3GP); a one-line V2AError where there is none."""
    from .media.mux import keeps_tags

    return read_provenance(output if keeps_tags(output) else sidecar_path(output))


def sidecar_path(output: str | os.PathLike) -> Path:
    """``clip.v2a.mp4`` -> ``clip.v2a.mp4.json``."""
    output = Path(output)
    return output.with_name(output.name + ".json")


def write_sidecar(output: str | os.PathLike, record: dict, overwrite: bool = False) -> Path:
    """Writes ``record`` as JSON beside ``output``, atomically."""
    from .media.mux import atomic_output

    path = sidecar_path(output)
    with atomic_output(path, overwrite) as tmp:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
