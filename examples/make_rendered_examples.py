"""Rebuilds examples/rendered_*.mp4: silent rendered clips (shapes, no audio) whose visible
events are timed on the onsets of test-split library recordings, as the evaluation's clips are.

    python examples/make_rendered_examples.py --library .cache/library
"""

import argparse
from pathlib import Path

from v2a.data.library import load_clip, read_manifest
from v2a.data.render import render_pair
from v2a.media.write import write_video

here = Path(__file__).parent
parser = argparse.ArgumentParser()
parser.add_argument("--library", type=Path, required=True)
args = parser.parse_args()

wanted = {"rendered_strike.mp4": ("strike", "impact"), "rendered_drop.mp4": ("drop", "impact")}
records = [r for r in read_manifest(args.library) if r["split"] == "test" and r["kind"] == "impact"
           and 0.8 < r["duration"] < 3.0]
for (name, (style, kind)), record in zip(wanted.items(), records[::7]):
    pair = render_pair(load_clip(args.library, record), seed=7, kind=kind, styles=(style,), fps=25, short_side=180)
    write_video(here / name, pair.frames, pair.fps, crf=28)  # video only: these are the silent inputs
    print(f"{name}: {record['category']} ({record['license']}), events at {[round(float(t), 2) for t in pair.event_times]}")
