"""The shipped sound bank: a few recordings of every category, from the library's train split.

    python -m v2a.data build-bank --library .cache/library-v6 --out weights/bank.safetensors

Only train-split clips are candidates: the evaluation takes held-out references from the test
split, and a bank that held them would let retrieval hand the model the answer. Per category
the candidates are ordered so that the first picks are the most useful references:

1. real recordings before sound-font notes (``SYNTHESIZED_SOURCES``), and clips of at least
   ``MIN_SECONDS`` before shorter ones (training gave the model 1-4 s references);
2. one clip per recording group (the pieces and takes of one recording sound alike), and
   the sources taken in turn, each source's loudest first, so a category's entries come from
   different packages where it has several;
3. louder first: the level (RMS) of the part that is stored, so an entry that is mostly
   silence or a faint tail comes last (library clips are levelled, so this favours dense sound).

Categories then take turns: every category's first pick, then every category's second, and so
on, rarest categories (fewest training minutes) first within a turn, where a reference helps
most, until the file would exceed the size budget. The file is measured, not estimated: if
its metadata makes it larger, the last picks are dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from ..bank import ENTRY_SECONDS, BankEntry, SoundBank, build_bank
from ..errors import V2AError
from ..signal.audio import DEFAULT_AUDIO

logger = logging.getLogger(__name__)

MAX_BYTES = 8_000_000  # the budget for the bank inside weights/ (8 MB)
MAX_PER_CATEGORY = 4
MIN_SECONDS = 1.0  # shorter clips say less about a sound; taken only when a category has nothing longer
SYNTHESIZED_SOURCES = frozenset({"soundfont"})  # General MIDI notes rendered with FluidSynth, not recordings
HEADER_BYTES = 512  # safetensors' array index and the bank's scalar metadata, with room to spare


def entry_of(record: dict) -> BankEntry:
    """A library record as a bank entry: its first caption, its labels and where it came from."""
    return BankEntry(caption=record["captions"][0], category=record["category"], family=record.get("family", ""),
                     source=record.get("package") or record.get("source", ""), license=record.get("license", ""),
                     attribution=record.get("attribution", ""))


def entry_bytes(record: dict, text_dim: int) -> int:
    """What an entry adds to the file: 8-bit mel frames, its offset, its float16 embedding, its metadata."""
    import json
    from dataclasses import asdict

    a = DEFAULT_AUDIO
    frames = int(min(record["duration"], ENTRY_SECONDS) * a.sample_rate) // a.hop_length
    # the metadata is JSON stored as a string inside safetensors' JSON header: escaped twice
    return frames * a.n_mels + 8 + 2 * text_dim + len(json.dumps(json.dumps(asdict(entry_of(record)))))


def ranked_candidates(records: list[dict], levels: dict[str, float]) -> dict[str, list[dict]]:
    """Per category, its train-split clips in the order they should enter the bank (module docstring)."""
    by_group: dict[tuple[str, str], dict] = {}
    for r in records:
        if r.get("split") != "train":
            continue
        key = (r["category"], r["group"])
        if key not in by_group or levels[r["id"]] > levels[by_group[key]["id"]]:
            by_group[key] = r  # the loudest clip of each recording group
    per_category: dict[str, list[dict]] = defaultdict(list)
    for r in by_group.values():
        per_category[r["category"]].append(r)
    ranked = {}
    for category, pool in per_category.items():
        def tier(r):
            return (r["source"] in SYNTHESIZED_SOURCES, r["duration"] < MIN_SECONDS)

        turn = {}  # a clip's place among its source's clips of its tier, loudest first
        by_source = defaultdict(list)
        for r in pool:
            by_source[(tier(r), r["source"])].append(r)
        for clips in by_source.values():
            for i, r in enumerate(sorted(clips, key=lambda r: (-levels[r["id"]], r["id"]))):
                turn[r["id"]] = i
        ranked[category] = sorted(pool, key=lambda r: (tier(r), turn[r["id"]], -levels[r["id"]], r["id"]))
    return ranked


def choose_entries(records: list[dict], levels: dict[str, float], text_dim: int, max_bytes: int = MAX_BYTES,
                   max_per_category: int = MAX_PER_CATEGORY) -> list[dict]:
    """The records of the bank, in the order they were picked (categories taking turns, rarest first)."""
    ranked = ranked_candidates(records, levels)
    minutes = defaultdict(float)
    for r in records:
        if r.get("split") == "train":
            minutes[r["category"]] += r["duration"]
    order = sorted(ranked, key=lambda c: (minutes[c], c))
    chosen, used = [], HEADER_BYTES
    for turn in range(max_per_category):
        for category in order:
            if turn < len(ranked[category]):
                size = entry_bytes(ranked[category][turn], text_dim)
                if used + size <= max_bytes:  # a long clip that does not fit may leave room for a short one
                    chosen.append(ranked[category][turn])
                    used += size
    return chosen


def stored_part(library: Path, record: dict) -> np.ndarray:
    """The part of a library clip that a bank stores: its first ``ENTRY_SECONDS``, mono."""
    from .library import load_clip

    wave = load_clip(library, record)
    wave = wave.mean(1) if wave.ndim == 2 else wave
    return np.array(wave[: int(ENTRY_SECONDS * DEFAULT_AUDIO.sample_rate)])  # a copy: the rest can go


def level_db(wave: np.ndarray) -> float:
    """RMS level in dBFS."""
    return float(10 * np.log10(np.mean(np.square(wave, dtype=np.float64)) + 1e-12)) if wave.size else -120.0


def attribution_path(bank_path: Path) -> Path:
    """``weights/bank.safetensors`` -> ``weights/bank.attribution.md``."""
    return bank_path.with_name(f"{bank_path.stem}.attribution.md")


def build_shipped_bank(pipe, library: Path, out: Path, max_bytes: int = MAX_BYTES,
                       max_per_category: int = MAX_PER_CATEGORY) -> SoundBank:
    """Chooses, embeds and writes the bank (atomically) and its attribution file; returns the bank as written."""
    from .library import read_manifest

    records = read_manifest(library)
    train = [r for r in records if r.get("split") == "train"]
    if not train:
        raise V2AError(f"{library}: the library has no train split to take the bank from")
    levels = {r["id"]: level_db(stored_part(library, r)) for r in train}
    chosen = choose_entries(records, levels, pipe.text_encoder.hidden_size, max_bytes, max_per_category)
    # the file keeps a category's entries together, its best first: equal captions tie in a search,
    # and a tie goes to the earlier entry
    rank = {r["id"]: i for i, r in enumerate(chosen)}
    stored = sorted(chosen, key=lambda r: (r["category"], rank[r["id"]]))
    bank = build_bank(pipe, [(stored_part(library, r), entry_of(r)) for r in stored])
    out.parent.mkdir(parents=True, exist_ok=True)
    while True:
        bank.save(out)
        if out.stat().st_size <= max_bytes:
            write_attribution(bank, attribution_path(out))
            return bank
        last = stored.index(chosen.pop())  # the estimate was short: drop the last pick and measure again
        logger.info("bank over %d bytes: dropping %s", max_bytes, stored[last]["id"])
        del stored[last]
        bank = SoundBank([m for i, m in enumerate(bank.mels) if i != last],
                         [e for i, e in enumerate(bank.entries) if i != last], np.delete(bank.text, last, axis=0))


def sources_table(bank: SoundBank) -> str:
    """Markdown: entries and licences per source package (the model card's summary)."""
    entries: dict[str, int] = defaultdict(int)
    licences: dict[str, set[str]] = defaultdict(set)
    for e in bank.entries:
        entries[e.source] += 1
        licences[e.source].add(e.license)
    lines = ["| source (Debian package) | licences | entries |", "|---|---|---|"]
    lines += [f"| {source} | {', '.join(sorted(licences[source]))} | {count} |"
              for source, count in sorted(entries.items())]
    return "\n".join(lines)


def write_attribution(bank: SoundBank, path: Path) -> Path:
    """Writes (atomically) every entry's source, licence and attribution, grouped, with its categories:
    the bank carries recordings, so their credits travel with it."""
    rows: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for e in bank.entries:
        rows[(e.source, e.license, e.attribution)].append(e.category)
    lines = ["# Sound bank sources, licences and attributions", "",
             f"{len(bank.entries)} entries (the first {ENTRY_SECONDS:g} s of each recording, as an 8-bit log-mel), "
             "from the train split of the v2a sound library (`python -m v2a.data build-bank`).", "",
             "| source (Debian package) | licence | attribution | entries | categories |", "|---|---|---|---|---|"]
    for (source, license_, attribution), categories in sorted(rows.items()):
        lines.append(f"| {source} | {license_} | {attribution} | {len(categories)} | "
                     f"{', '.join(sorted(set(categories)))} |")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def summary(bank: SoundBank, path: Path) -> str:
    """One paragraph: entries, categories, families, sources, licences, seconds and bytes."""
    a = DEFAULT_AUDIO
    seconds = sum(len(m) for m in bank.mels) * a.hop_length / a.sample_rate
    return (f"{path}: {len(bank.entries)} entries, {len({e.category for e in bank.entries})} categories in "
            f"{len({e.family for e in bank.entries})} families, "
            f"{len({e.source for e in bank.entries})} source packages, "
            f"{len({e.license for e in bank.entries})} licences, {seconds / 60:.1f} minutes of sound, "
            f"{path.stat().st_size:,} bytes")
