"""Command line of the data recipe: ``python -m v2a.data build-library --out DIR``, and
``python -m v2a.data build-bank --library DIR --out weights/bank.safetensors`` (the shipped sound bank)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..errors import V2AError

# preview video i of a run with --seed s is rendered with seed s * PREVIEW_SEED_STRIDE + i
PREVIEW_SEED_STRIDE = 100003


def main(argv: list[str] | None = None) -> int:
    from .library import DEDUPE_THRESHOLD, build_library, default_cache_dir, summary_table
    from .sources import DEFAULT_SOURCES, SOURCES

    parser = argparse.ArgumentParser(prog="python -m v2a.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build-library", help="build the labelled sound library from Debian packages / folders")
    b.add_argument("--out", type=Path, required=True, help="library folder (clips/, manifest.jsonl)")
    b.add_argument("--debs", type=Path, default=None, help="folder of .deb files to use instead of apt-get download")
    b.add_argument("--sources", default=",".join(DEFAULT_SOURCES),
                   help=f"comma-separated package sources ({', '.join(SOURCES)}); empty for none")
    b.add_argument("--folder", type=Path, action="append", default=[],
                   help="a folder of plain audio files named after what they sound like (repeatable)")
    b.add_argument("--cache", type=Path, default=None, help=f"download/extract cache (default {default_cache_dir()})")
    b.add_argument("--force", action="store_true", help="rebuild sources that are already built")
    b.add_argument("--dedupe-threshold", type=float, default=DEDUPE_THRESHOLD)
    b.add_argument("-v", "--verbose", action="store_true")

    r = sub.add_parser("render", help="render example videos (mp4 with sound) from a built library, for inspection")
    r.add_argument("--library", type=Path, required=True)
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--count", type=int, default=8)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--split", default=None, help="only clips of this split")
    r.add_argument("--styles", default=None, help="comma-separated event styles (default all)")
    r.add_argument("-v", "--verbose", action="store_true")

    k = sub.add_parser("build-bank", help="build the shipped sound bank from a library's train split")
    k.add_argument("--library", type=Path, required=True)
    k.add_argument("--out", type=Path, required=True, help="the bank file (.safetensors)")
    k.add_argument("--model", default=None, help="model whose text encoder embeds the captions (default: shipped)")
    k.add_argument("--max-bytes", type=int, default=None, help="size budget of the file (default 8,000,000)")
    k.add_argument("-v", "--verbose", action="store_true")

    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "build-library":
            sources = [s.strip() for s in args.sources.split(",") if s.strip()]
            records = build_library(args.out, sources, debs_dir=args.debs, folders=args.folder, cache=args.cache,
                                    force=args.force, dedupe_threshold=args.dedupe_threshold)
            print(summary_table(records))
        elif args.command == "build-bank":
            _build_bank(args)
        else:
            _render_examples(args)
    except V2AError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _build_bank(args) -> None:
    from ..presets import load_pipeline
    from .shipped_bank import MAX_BYTES, attribution_path, build_shipped_bank, sources_table, summary

    pipe = load_pipeline(args.model)
    bank = build_shipped_bank(pipe, args.library, args.out, args.max_bytes or MAX_BYTES)
    print(summary(bank, args.out))
    print(f"credits of every entry: {attribution_path(args.out)}")
    print(sources_table(bank))


def _pick(library: Path, split: str | None, count: int | None, seed: int) -> list[dict]:
    import numpy as np

    from .library import read_manifest

    records = [r for r in read_manifest(library) if split is None or r["split"] == split]
    if count is not None and count < len(records):
        idx = np.random.default_rng(seed).choice(len(records), size=count, replace=False)
        records = [records[i] for i in sorted(idx)]
    return records


def _render_examples(args) -> None:
    import json

    from .render import ALL_STYLES, render_record, write_pair_mp4

    styles = tuple(s.strip() for s in args.styles.split(",")) if args.styles else ALL_STYLES
    args.out.mkdir(parents=True, exist_ok=True)
    for i, rec in enumerate(_pick(args.library, args.split, args.count, args.seed)):
        pair = render_record(args.library, rec, seed=args.seed * PREVIEW_SEED_STRIDE + i, styles=styles)
        path = write_pair_mp4(pair, args.out / f"{i:03d}-{rec['category']}-{pair.style}.mp4")
        info = {"clip": rec["id"], "captions": rec["captions"], "event_times": pair.event_times.round(3).tolist(), **pair.meta}
        path.with_suffix(".json").write_text(json.dumps(info, indent=1))
        print(path)


if __name__ == "__main__":
    sys.exit(main())
