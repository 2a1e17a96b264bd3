"""The sound library builder: Debian packages in, labelled FLAC clips and a manifest out.

    python -m v2a.data build-library --out .cache/library [--debs DIR] [--sources 0ad,hydrogen]

Steps, per source (so a 1.4 GB package is handled on its own and a crash loses one source):

1. get the package: a ``.deb`` from ``--debs``, else ``apt-get download`` into the cache;
2. extract it once (``dpkg-deb -x``) into ``<cache>/extract/<package>``;
3. scan it (:mod:`v2a.data.sources`) for recordings with a category, captions and a group;
4. per dedupe key: decode, trim, split, level (:mod:`v2a.data.processing`), drop near-duplicates;
5. write 16-bit FLAC clips and ``parts/<source>.jsonl``.

Then recordings that another, earlier listed source already has are dropped (packages share
recordings), all parts are split by group (:mod:`v2a.data.splits`) into ``manifest.jsonl``,
licenses and attributions go to ``ATTRIBUTION.md``, and counts and minutes per category are printed.
Re-running skips sources whose part file exists (``--force`` redoes them).

Manifest line (one clip)::

    {"id", "path" (relative to the library folder), "duration", "captions" [..], "category",
     "family" (the category's upper level, captions.FAMILIES), "kind" (impact/call/ambience), "source", "package", "license", "attribution", "split",
     "group", "original" (path inside the package), "piece" (index within the recording),
     "picture" (relative path of the source's picture or null), "sample_rate"}
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..signal.audio import DEFAULT_AUDIO
from ..cache import cache_root
from ..errors import V2AError
from .captions import CATEGORY_BY_NAME
from .processing import FINGERPRINT_SECONDS, ProcessingSettings, decode_audio_bytes, mel_fingerprint, near_duplicates, prepare_clips
from .sources import DEFAULT_SOURCES, SOURCES, RawSound, SourceSpec, folder_source
from .splits import assign_splits

logger = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
DEDUPE_THRESHOLD = 0.97  # cosine similarity of mel fingerprints; see processing.mel_fingerprint
CROSS_SOURCE_DURATION_RATIO = 1.1  # recordings compared across sources differ in length by at most this factor
# copies of one file across packages (re-encoded, re-trimmed) score above this; the within-source
# threshold is lower because it also catches different takes and velocity layers of one sound
CROSS_SOURCE_THRESHOLD = 0.99


def default_cache_dir() -> Path:
    return cache_root() / "data"


# ---------------------------------------------------------------------------------------------
# packages


def find_or_download_deb(package: str, debs_dir: Path | None, cache: Path) -> Path:
    """The ``.deb`` of ``package``: from ``debs_dir`` if it holds one, else ``apt-get download``."""
    for folder in [d for d in (debs_dir, cache / "debs") if d is not None]:
        found = sorted(folder.glob(f"{package}_*.deb"))
        if found:
            return found[-1]
    if shutil.which("apt-get") is None:
        raise V2AError(f"{package}: no .deb given and apt-get is not available; pass --debs DIR")
    target = cache / "debs"
    target.mkdir(parents=True, exist_ok=True)
    logger.info("downloading %s with apt-get", package)
    result = subprocess.run(["apt-get", "download", package], cwd=target, capture_output=True, text=True)
    found = sorted(target.glob(f"{package}_*.deb"))
    if result.returncode != 0 or not found:
        raise V2AError(f"{package}: apt-get download failed ({result.stderr.strip().splitlines()[-1:] or 'no output'}); "
                       "run 'apt-get update' or pass --debs DIR")
    return found[-1]


def extract_deb(deb: Path, cache: Path, package: str) -> Path:
    """Extracts ``deb`` once; a marker file says the extraction finished."""
    root = cache / "extract" / package
    marker = root / ".v2a-extracted"
    if marker.exists() and marker.read_text() == deb.name:
        return root
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    logger.info("extracting %s", deb.name)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    marker.write_text(deb.name)
    return root


# ---------------------------------------------------------------------------------------------
# clips


def clip_id(sound: RawSound, piece: int) -> str:
    digest = hashlib.sha1(f"{sound.source}:{sound.original}:{piece}".encode()).hexdigest()[:10]
    return f"{sound.source}-{sound.category.name}-{digest}"


def process_sounds(sounds: Sequence[RawSound], out_dir: Path, cfg: ProcessingSettings = ProcessingSettings(),
                   dedupe_threshold: float = DEDUPE_THRESHOLD) -> tuple[list[dict], dict]:
    """Decodes, cleans and de-duplicates ``sounds`` and writes their clips under ``out_dir``.

    Returns the manifest records (without splits) and counters of what was dropped and why.
    """
    import soundfile as sf

    rate = DEFAULT_AUDIO.sample_rate
    stats = defaultdict(int)
    by_key: dict[str, list[RawSound]] = defaultdict(list)
    for s in sounds:
        by_key[s.dedupe_key or s.source].append(s)

    records = []
    for key in sorted(by_key):
        # highest priority first, so the near-duplicate kept is the preferred one
        group = sorted(by_key[key], key=lambda s: (-s.priority, s.original))
        candidates = []  # (sound, piece index, waveform, fingerprint)
        for sound in group:
            try:
                audio, sr = decode_audio_bytes(sound.read(), sound.original)
            except (V2AError, OSError) as err:
                logger.warning("skipping %s: %s", sound.original, err)
                stats["unreadable"] += 1
                continue
            clips = prepare_clips(audio, sr, cfg)
            if not clips:
                stats["silent_or_short"] += 1
            for i, wav in enumerate(clips):
                candidates.append((sound, i, wav, mel_fingerprint(wav)))
        # compare only the first piece of each recording: the pieces of one long rain or river
        # recording are alike by nature and all of them are kept (or all dropped with the first)
        firsts = [i for i, c in enumerate(candidates) if c[1] == 0]
        dropped = {id(candidates[firsts[i]][0]) for i in near_duplicates([candidates[i][3] for i in firsts], dedupe_threshold)}
        for sound, piece, wav, _ in candidates:
            if id(sound) in dropped:
                stats["near_duplicate"] += 1
                continue
            cid = clip_id(sound, piece)
            rel = Path("clips") / sound.source / f"{cid}.flac"
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            sf.write(out_dir / rel, wav, rate, subtype="PCM_16")
            picture = None
            if sound.picture is not None:
                pic_rel = Path("pictures") / sound.source / f"{Path(sound.original).stem}{sound.picture.suffix}"
                (out_dir / pic_rel).parent.mkdir(parents=True, exist_ok=True)
                if not (out_dir / pic_rel).exists():
                    shutil.copyfile(sound.picture, out_dir / pic_rel)
                picture = pic_rel.as_posix()
            records.append({
                "id": cid, "path": rel.as_posix(), "duration": round(len(wav) / rate, 4),
                "captions": list(sound.captions), "category": sound.category.name, "family": sound.category.family,
                "kind": sound.category.kind,
                "source": sound.source, "package": sound.package, "license": sound.license,
                "attribution": sound.attribution, "group": sound.group, "original": sound.original,
                "piece": piece, "picture": picture, "sample_rate": rate, **({"extra": sound.extra} if sound.extra else {}),
            })
            stats["clips"] += 1
    return records, dict(stats)


# ---------------------------------------------------------------------------------------------
# the build


def build_library(out_dir: Path, sources: Iterable[str] = DEFAULT_SOURCES, debs_dir: Path | None = None,
                  folders: Sequence[Path] = (), cache: Path | None = None, force: bool = False,
                  cfg: ProcessingSettings = ProcessingSettings(), dedupe_threshold: float = DEDUPE_THRESHOLD) -> list[dict]:
    """Builds (or completes) the library in ``out_dir`` and returns the manifest records."""
    out_dir = Path(out_dir)
    cache = Path(cache) if cache else default_cache_dir()
    parts = out_dir / "parts"
    parts.mkdir(parents=True, exist_ok=True)

    specs: list[tuple[SourceSpec, Path | None]] = []
    for key in sources:
        if key not in SOURCES:
            raise V2AError(f"unknown source '{key}' (known: {', '.join(SOURCES)})")
        specs.append((SOURCES[key], None))
    for folder in folders:
        if not Path(folder).is_dir():
            raise V2AError(f"{folder}: not a folder")
        specs.append((folder_source(Path(folder)), Path(folder)))

    for spec, folder in specs:
        part = parts / f"{spec.key}.jsonl"
        if part.exists() and not force:
            logger.info("%s: already built (%s), skipping; --force rebuilds", spec.key, part)
            continue
        if folder is None:
            deb = find_or_download_deb(spec.package, debs_dir, cache)
            root = extract_deb(deb, cache, spec.package)
        else:
            root = folder
        sounds = list(spec.scan(root, spec))
        logger.info("%s: %d recordings to process", spec.key, len(sounds))
        shutil.rmtree(out_dir / "clips" / spec.key, ignore_errors=True)  # no stale clips from older builds
        records, stats = process_sounds(sounds, out_dir, cfg, dedupe_threshold)
        logger.info("%s: %s", spec.key, stats)
        tmp = part.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
        tmp.replace(part)  # the part file appears only once the source is complete

    records = []
    for spec, _ in specs:
        records.extend(read_manifest(parts / f"{spec.key}.jsonl"))
    return finalise(out_dir, records)


def finalise(out_dir: Path, records: list[dict], cross_source_threshold: float = CROSS_SOURCE_THRESHOLD) -> list[dict]:
    """Drops recordings repeated across sources, sets families, assigns splits, writes
    ``manifest.jsonl`` and ``ATTRIBUTION.md``.

    Among copies of one recording in several sources the one of the source listed first in
    ``records`` is kept (the build lists sources in the order they were asked for).
    """
    source_order = list(dict.fromkeys(r["source"] for r in records))
    repeated = cross_source_duplicates(out_dir, records, source_order, cross_source_threshold)
    if repeated:
        logger.info("dropping %d recordings that an earlier source already has", len(repeated))
    records = [r for r in records if (r["source"], r["original"]) not in repeated]
    for r in records:
        # parts built before a category got its family are completed from the current taxonomy
        if r["category"] in CATEGORY_BY_NAME:
            r["family"] = CATEGORY_BY_NAME[r["category"]].family
    splits = assign_splits(records)
    for r in records:
        r["split"] = splits[r["group"]]
    records.sort(key=lambda r: (r["source"], r["category"], r["id"]))
    (out_dir / MANIFEST).write_text("".join(json.dumps(r) + "\n" for r in records))
    write_attribution(out_dir, records)
    return records


def cross_source_duplicates(out_dir: Path, records: list[dict], source_order: Sequence[str],
                            threshold: float = CROSS_SOURCE_THRESHOLD) -> set[tuple[str, str]]:
    """``(source, original)`` of recordings that a source earlier in ``source_order`` also has.

    Game packages share recordings (the same Freesound clips in Teeworlds and DDNet, Cube 2
    and Red Eclipse, the OpenArena packages), which within-source dedupe keys never compare.
    Each recording's first clip is fingerprinted (its first second, read from the library)
    and compared with the kept first clips of *other* sources whose duration is within
    ``CROSS_SOURCE_DURATION_RATIO``: a copy keeps its length up to trimming. Durations are
    bucketed on a log scale, so each clip meets only a few hundred others and ~10,000 clips
    take seconds; a dropped first clip drops all pieces of its recording.
    """
    import soundfile as sf

    rank = {source: i for i, source in enumerate(source_order)}
    firsts = sorted((r for r in records if r["piece"] == 0), key=lambda r: (rank.get(r["source"], len(rank)), r["id"]))
    step = np.log(CROSS_SOURCE_DURATION_RATIO)
    kept: dict[int, list[tuple[float, np.ndarray, str]]] = defaultdict(list)  # log-duration bucket -> clips
    repeated = set()
    for r in firsts:
        wav, _ = sf.read(Path(out_dir) / r["path"], frames=int(FINGERPRINT_SECONDS * DEFAULT_AUDIO.sample_rate), dtype="float32")
        fp = mel_fingerprint(wav)
        bucket = int(np.floor(np.log(r["duration"]) / step))
        near = [f for b in (bucket - 1, bucket, bucket + 1) for d, f, source in kept[b]
                if source != r["source"] and abs(np.log(d / r["duration"])) <= step]
        if near and float(np.max(np.stack(near) @ fp)) >= threshold:
            repeated.add((r["source"], r["original"]))
        else:
            kept[bucket].append((r["duration"], fp, r["source"]))
    return repeated


def read_manifest(path: Path) -> list[dict]:
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.exists():
        raise V2AError(f"{path}: no manifest (build the library first)")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_attribution(out_dir: Path, records: list[dict]) -> None:
    """Licenses and attributions of everything in the library, for the model card."""
    seen: dict[tuple, dict] = {}
    for r in records:
        key = (r["source"], r["package"], r["license"], r["attribution"])
        entry = seen.setdefault(key, {"clips": 0, "seconds": 0.0})
        entry["clips"] += 1
        entry["seconds"] += r["duration"]
    lines = ["# Sound library sources and licenses", "",
             "| source | package | license | attribution | clips | minutes |", "|---|---|---|---|---|---|"]
    for (source, package, license_, attribution), e in sorted(seen.items(), key=lambda kv: (kv[0][0], kv[0][3])):
        lines.append(f"| {source} | {package or '-'} | {license_} | {attribution} | {e['clips']} | {e['seconds'] / 60:.1f} |")
    (out_dir / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n")


def summary_table(records: list[dict]) -> str:
    """Counts and minutes per category and per split, as printed after a build."""
    per_cat: dict[str, dict] = defaultdict(lambda: {"clips": 0, "seconds": 0.0, "train": 0, "val": 0, "test": 0, "sources": set()})
    for r in records:
        e = per_cat[r["category"]]
        e["clips"] += 1
        e["seconds"] += r["duration"]
        e[r.get("split", "train")] += 1
        e["sources"].add(r["source"])
    lines = [f"{'category':<22}{'clips':>7}{'minutes':>9}{'train':>7}{'val':>6}{'test':>6}  sources"]
    for name, e in sorted(per_cat.items(), key=lambda kv: -kv[1]["seconds"]):
        lines.append(f"{name:<22}{e['clips']:>7}{e['seconds'] / 60:>9.1f}{e['train']:>7}{e['val']:>6}{e['test']:>6}  {','.join(sorted(e['sources']))}")
    total = sum(r["duration"] for r in records)
    by_split = defaultdict(float)
    for r in records:
        by_split[r.get("split", "train")] += r["duration"]
    families = {CATEGORY_BY_NAME[name].family for name in per_cat if name in CATEGORY_BY_NAME}
    lines.append(f"{len(per_cat)} categories in {len(families)} families, {len(records)} clips, {total / 60:.1f} minutes "
                 f"({total / 3600:.2f} h); " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in sorted(by_split.items())))
    return "\n".join(lines)


def load_clip(library: Path, record: dict) -> np.ndarray:
    """A library clip's waveform, float32 at the library sample rate."""
    import soundfile as sf

    wav, rate = sf.read(Path(library) / record["path"], dtype="float32")
    if rate != DEFAULT_AUDIO.sample_rate:
        raise V2AError(f"{record['path']}: sample rate {rate}, expected {DEFAULT_AUDIO.sample_rate}")
    return wav
