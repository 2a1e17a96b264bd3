"""Where library recordings come from, and what their paths and metadata say about them.

A *source* knows one Debian package's layout (or a plain folder of audio files) and yields
:class:`RawSound` records: how to read the bytes, the category and captions derived from
folder names and metadata, the split group (which recordings must stay in one split) and the
dedupe key (which recordings are compared for near-duplicates). Sources never decode audio;
that is :mod:`v2a.data.processing`'s job.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .captions import (GM_VOICES, Category, captions_for, categorize, gm_captions, opensfx_label, sound_icon_label,
                       specific_caption)
from .formats import read_cat

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".wav", ".ogg", ".oga", ".flac", ".aif", ".aiff", ".mp3", ".opus"}


@dataclass
class RawSound:
    """One source recording before processing."""

    source: str  # source key ("0ad", "hydrogen", ...)
    original: str  # path inside the package (or folder), for the manifest and stable ids
    read: Callable[[], bytes]  # the encoded file's bytes
    category: Category
    captions: list[str]
    group: str  # split unit: never in two splits
    license: str
    attribution: str
    package: str | None = None
    dedupe_key: str = ""  # recordings compared for near-duplicates (same drum kit, same folder)
    priority: float = 0.0  # among near-duplicates the highest priority is kept
    picture: Path | None = None  # a picture of the sounding object (tuxpaint stamps)
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SourceSpec:
    key: str
    package: str | None  # Debian package; None for user folders
    license: str
    attribution: str
    scan: Callable[[Path, "SourceSpec"], Iterator[RawSound]]  # extracted package root -> sounds


def take_group(path: str) -> str:
    """The recording a numbered take belongs to: ``a/horse_neigh_12b.ogg`` -> ``a/horse_neigh``.

    Numbered takes of one sound were usually recorded in one session and sound alike, so
    they form one split group.
    """
    p = Path(path)
    stem = re.sub(r"([ _\-]?\d+[a-z]?)+$", "", p.stem) or p.stem
    return str(p.parent / stem)


def _file_reader(path: Path) -> Callable[[], bytes]:
    return lambda: path.read_bytes()


# ---------------------------------------------------------------------------------------------
# 0 A.D.: sounds inside mods/public/public.zip, labelled by folder and file names

ZERO_AD_SKIP = re.compile(r"^audio/(music|voice)/|^audio/interface/(alarm|complete|select/building)/|ship_select|siege_select|ram_attack_order")


def scan_0ad(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    archives = sorted(root.rglob("public.zip"))
    if not archives:
        logger.warning("0ad: no public.zip under %s", root)
        return
    archive = archives[0]
    with zipfile.ZipFile(archive) as zf:
        names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in AUDIO_EXTENSIONS and n.startswith("audio/"))

    # one open archive for all reads: opening the 3 GB zip (36,000 entries) costs ~0.4 s
    opened: dict[str, zipfile.ZipFile] = {}

    def reader(name):
        def read():
            if "zip" not in opened:
                opened["zip"] = zipfile.ZipFile(archive)
            return opened["zip"].read(name)
        return read

    for name in names:
        if ZERO_AD_SKIP.search(name):
            continue
        hint = name[len("audio/"):]
        category = categorize(Path(hint).with_suffix("").as_posix(), "effects")
        if category is None:
            logger.debug("0ad: no category for %s", name)
            continue
        yield RawSound(source=spec.key, original=name, read=reader(name), category=category,
                       captions=captions_for(category), group=f"{spec.key}/{take_group(hint)}",
                       license=spec.license, attribution=spec.attribution, package=spec.package,
                       dedupe_key=f"{spec.key}/{Path(hint).parent}")


# ---------------------------------------------------------------------------------------------
# Hydrogen drum kits: instrument names and velocity layers in drumkit.xml

# drumkit.xml's <license> is missing for some kits; these come from the package's copyright file
HYDROGEN_LICENSES = {
    "ElectricEmpireKit": "GPL-2+", "HardElectro1": "GPL-2+", "VariBreaks": "GPL-2+",
    "Millo-Drums_v.1": "GPL-2", "Millo_MultiLayered2": "GPL-2", "Millo_MultiLayered3": "GPL-2",
    "ColomboAcousticDrumkit": "GPL-2+ with composition exception", "circAfrique v4": "CC-BY-SA-3.0",
    "BJA_Pacific": "CC-BY-SA-3.0-US", "Gimme A Hand 1.0": "GPL-2", "The Black Pearl 1.0": "GPL-2",
    "rumpf_kit_z01_h2": "CC-BY-3.0", "Audiophob": "CC0", "ForzeeStereo": "GPL-2",
}


def _strip_ns(tree: ET.Element) -> None:
    for el in tree.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def parse_drumkit(xml_path: Path) -> tuple[dict, list[dict]]:
    """``(kit info, instruments)`` from a Hydrogen ``drumkit.xml``.

    Each instrument is ``{"name", "layers": [{"filename", "min", "max"}]}``; old kits put one
    ``<filename>`` directly in the instrument instead of layers.
    """
    tree = ET.parse(xml_path).getroot()
    _strip_ns(tree)
    info = {k: (tree.findtext(k) or "").strip() for k in ("name", "author", "license")}
    instruments = []
    for inst in tree.iter("instrument"):
        layers = []
        for layer in inst.iter("layer"):
            fn = layer.findtext("filename")
            if fn:
                layers.append({"filename": fn.strip(), "min": float(layer.findtext("min") or 0),
                               "max": float(layer.findtext("max") or 1)})
        if not layers and inst.findtext("filename"):
            layers.append({"filename": inst.findtext("filename").strip(), "min": 0.0, "max": 1.0})
        instruments.append({"name": (inst.findtext("name") or "").strip(), "layers": layers})
    return info, instruments


def scan_hydrogen(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    for xml_path in sorted(root.rglob("drumkit.xml")):
        kit_dir = xml_path.parent
        info, instruments = parse_drumkit(xml_path)
        license_ = HYDROGEN_LICENSES.get(kit_dir.name) or info["license"] or spec.license
        attribution = f"Hydrogen drum kit '{info['name'] or kit_dir.name}'" + (f" by {info['author']}" if info["author"] else "")
        for inst in instruments:
            for layer in inst["layers"]:
                path = kit_dir / layer["filename"]
                if not path.exists():
                    continue
                # instrument names are the label; numbered slots ("15") fall back to the file name
                hint = inst["name"]
                category = categorize(hint, "percussion") or categorize(Path(layer["filename"]).stem, "percussion")
                if category is None:
                    logger.debug("hydrogen: no category for %s / %s", kit_dir.name, inst["name"])
                    continue
                specific = specific_caption(inst["name"]) if categorize(hint, "percussion") else None
                yield RawSound(source=spec.key, original=str(path.relative_to(root)), read=_file_reader(path),
                               category=category, captions=captions_for(category, specific),
                               group=f"{spec.key}/{kit_dir.name}", license=license_, attribution=attribution,
                               package=spec.package, dedupe_key=f"{spec.key}/{kit_dir.name}/{category.name}",
                               # loudest velocity layer first: it is the most typical hit
                               priority=layer["max"], extra={"kit": kit_dir.name, "instrument": inst["name"]})


# ---------------------------------------------------------------------------------------------
# Tux Paint stamps: a sound, a picture and a caption file per stamp

TUXPAINT_SKIP = re.compile(r"/(math|alphabets?|faces)/|_desc")


def stamp_caption(txt_path: Path) -> str | None:
    """The English caption: the first line of the stamp's .txt that is not a translation."""
    if not txt_path.exists():
        return None
    for line in txt_path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not re.match(r"^[a-z]{2,3}(_[A-Za-z]+)?(@\w+)?\.utf8=", line):
            return line
    return None


def scan_tuxpaint(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        rel = sound.relative_to(root).as_posix()
        if TUXPAINT_SKIP.search("/" + rel):
            continue
        # a stamp's own sound shares its picture's name; name_xx.ogg are spoken translations
        png, svg = sound.with_suffix(".png"), sound.with_suffix(".svg")
        if not (png.exists() or svg.exists()):
            continue
        caption = stamp_caption(sound.with_suffix(".txt"))
        hint = f"{Path(rel).parent.as_posix()} {sound.stem} {caption or ''}"
        # the stamp's own name decides first ("animals/birds/owl"), the folder only if needed
        category = (categorize(f"{sound.stem} {caption or ''}", "effects") or categorize(hint, "effects")
                    or (categorize(sound.stem, "percussion") if "/percussion/" in rel else None))
        if category is None:
            logger.debug("tuxpaint: no category for %s", rel)
            continue
        yield RawSound(source=spec.key, original=rel, read=_file_reader(sound), category=category,
                       captions=captions_for(category, caption), group=f"{spec.key}/{take_group(rel)}",
                       license=spec.license, attribution=spec.attribution, package=spec.package,
                       dedupe_key=f"{spec.key}/{Path(rel).parent}", picture=png if png.exists() else None)


# ---------------------------------------------------------------------------------------------
# Wesnoth and freedesktop: file names are the labels


def _scan_named_files(root: Path, spec: SourceSpec, under: str, skip: re.Pattern | None = None) -> Iterator[RawSound]:
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        rel = sound.relative_to(root).as_posix()
        if under not in rel or (skip and skip.search(rel)):
            continue
        hint = rel.split(under, 1)[1]
        category = categorize(str(Path(hint).with_suffix("")), "effects")
        if category is None:
            logger.debug("%s: no category for %s", spec.key, rel)
            continue
        yield RawSound(source=spec.key, original=rel, read=_file_reader(sound), category=category,
                       captions=captions_for(category), group=f"{spec.key}/{take_group(hint)}",
                       license=spec.license, attribution=spec.attribution, package=spec.package,
                       dedupe_key=f"{spec.key}/{Path(hint).parent}")


def scan_wesnoth(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sounds/", re.compile(r"/music/|/sounds/(ambient/)?(chat|gamestart)"))


FREEDESKTOP_LICENSES = {"alarm-clock-elapsed": "CC-BY-SA-3.0", "audio-volume-change": "CC-BY-SA-3.0",
                        "bell": "CC-BY-3.0", "complete": "CC-BY-3.0", "trash-empty": "CC-BY-3.0",
                        "camera-shutter": "CC-BY-SA-3.0", "screen-capture": "CC-BY-SA-3.0"}


def scan_freedesktop(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    for sound in _scan_named_files(root, spec, "/stereo/", re.compile(r"audio-channel|audio-test-signal")):
        sound.license = FREEDESKTOP_LICENSES.get(Path(sound.original).stem, spec.license)
        yield sound


# ---------------------------------------------------------------------------------------------
# MegaGlest: tileset ambiences (day, night, rain, animals) and a few common unit sounds; the
# rest is unit voice lines ("yes, sir") that are neither sound effects nor labelled


MEGAGLEST_COMMON = re.compile(r"^(anvil|arrow_hit|catapult_(attack|hit|walk)|cow_|pig_|horseman_walk|golem_walk|"
                              r"tech_building_fall|worker_(harvest_wood|mine|build))")


def scan_megaglest(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        rel = sound.relative_to(root).as_posix()
        if "/tilesets/" in rel and "/sounds/" in rel:
            # tilesets reuse the same recordings under the same names: one group and one
            # dedupe key per name, so copies are dropped and never straddle splits
            kind, hint = "tileset", sound.stem
        elif "/water_sounds/" in rel:
            kind, hint = "water", "water"
        elif "/commondata/sounds/" in rel and MEGAGLEST_COMMON.match(sound.stem):
            kind, hint = "common", sound.stem
        else:
            continue
        category = categorize(hint, "effects")
        if category is None:
            logger.debug("megaglest: no category for %s", rel)
            continue
        group = f"{spec.key}/{kind}/{take_group(sound.name)}"
        yield RawSound(source=spec.key, original=rel, read=_file_reader(sound), category=category,
                       captions=captions_for(category), group=group, license=spec.license,
                       attribution=spec.attribution, package=spec.package,
                       dedupe_key=group if kind == "tileset" else f"{spec.key}/{kind}")


# ---------------------------------------------------------------------------------------------
# OpenSFX (OpenTTD base sounds): WAVs inside opensfx.cat, each titled with its credits and license

OPENSFX_LICENSES = (  # the per-sound license named in the title -> SPDX-like id
    (r"Attribution-ShareAlike 3\.0", "CC-BY-SA-3.0"), (r"Attribution 3\.0", "CC-BY-3.0"),
    (r"Zero 1\.0|Public Domain", "CC0-1.0"),
)


def opensfx_credits(title: str) -> tuple[str, str, str]:
    """``(name, credit, license)`` from an OpenSFX title.

    ``'"Horse". Original "x.wav" by "dobroide". Edited by "Wuzzy". License: Creative Commons
    Attribution 3.0 Unported.'`` -> ``("Horse", 'Original "x.wav" by "dobroide". Edited by
    "Wuzzy".', "CC-BY-3.0")``. The set as a whole is distributed under CC-BY-SA-3.0, which is
    what is recorded when a title names no license.
    """
    m = re.match(r'\s*"([^"]*)"?\.?\s*(.*)', title)
    name, rest = (m.group(1), m.group(2)) if m else (title, "")
    credit = re.split(r"\s*License:", rest, maxsplit=1)[0].strip()
    license_ = "CC-BY-SA-3.0"
    for pattern, spdx in OPENSFX_LICENSES:
        if re.search(pattern, rest):
            license_ = spdx
            break
    return name.strip(), credit, license_


def scan_opensfx(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    cats = sorted(root.rglob("*.cat"))
    if not cats:
        logger.warning("opensfx: no .cat file under %s", root)
        return
    for entry in read_cat(cats[0].read_bytes()):
        name, credit, license_ = opensfx_credits(entry.name)
        label = opensfx_label(name)
        if label is None:
            logger.debug("opensfx: skipping %r", name)
            continue
        category, caption = label
        original = f"{cats[0].name}#{entry.index:02d} {name}"
        yield RawSound(source=spec.key, original=original, read=(lambda d=entry.data: d), category=category,
                       captions=captions_for(category, caption),
                       # edits of one original recording ("crash.wav" in "Crash" and "Big crash",
                       # "wind1.wav" in "Wind" and "Heavy wind") share a group
                       group=f"{spec.key}/{_opensfx_origin(credit) or name.lower()}",
                       license=license_, attribution=f'OpenSFX "{name}": {credit or "OpenSFX team"}',
                       package=spec.package, dedupe_key=spec.key, extra={"title": entry.name})


def _opensfx_origin(credit: str) -> str | None:
    m = re.search(r'Original "([^"]+)"', credit)
    return m.group(1).lower() if m else None


# ---------------------------------------------------------------------------------------------
# sound-icons: short instrument and signal sounds, named in Czech and English


def scan_sound_icons(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    for sound in sorted(p for p in root.rglob("*.wav") if p.is_file() and not p.is_symlink()):
        label = sound_icon_label(sound.stem)
        if label is None:
            logger.debug("sound-icons: no category for %s", sound.name)
            continue
        category, caption = label
        rel = sound.relative_to(root).as_posix()
        yield RawSound(source=spec.key, original=rel, read=_file_reader(sound), category=category,
                       captions=captions_for(category, caption), group=f"{spec.key}/{take_group(sound.name)}",
                       license=spec.license, attribution=spec.attribution, package=spec.package,
                       dedupe_key=f"{spec.key}/{category.name}")


# ---------------------------------------------------------------------------------------------
# FluidR3 General MIDI sound font: GM programs and percussion rendered with fluidsynth


def scan_soundfont(root: Path, spec: SourceSpec, clips_per_range: int = 10, voices=GM_VOICES) -> Iterator[RawSound]:
    """One recording per planned clip (:mod:`v2a.data.soundfont`).

    A voice is rendered once, on the first read of one of its clips, and kept until a clip of
    another voice is read: the builder processes one dedupe key (here: one voice) at a time.
    The split group is the voice and pitch range (percussion: the voice and kit), so renders of
    one program in one range never straddle splits.
    """
    from .soundfont import plan_voice, render_voice, wav_bytes

    fonts = sorted(root.rglob("*.sf2"))
    if not fonts:
        logger.warning("soundfont: no .sf2 under %s", root)
        return
    sf2 = fonts[0]
    rendered: dict[str, list] = {}

    def reader(voice, plans, i):
        def read():
            if voice.key not in rendered:
                rendered.clear()
                rendered[voice.key] = render_voice(voice, plans, sf2)
            return wav_bytes(rendered[voice.key][i])
        return read

    from .captions import CATEGORY_BY_NAME

    for voice in voices:
        plans = plan_voice(voice, clips_per_range)
        category = CATEGORY_BY_NAME[voice.category]
        for i, plan in enumerate(plans):
            yield RawSound(source=spec.key, original=f"{sf2.name}#{plan.name}", read=reader(voice, plans, i),
                           category=category, captions=gm_captions(voice, plan.phrase),
                           group=f"{spec.key}/{voice.key}/{plan.range}", license=spec.license,
                           attribution=spec.attribution, package=spec.package,
                           dedupe_key=f"{spec.key}/{voice.key}",
                           extra={"program": voice.program, "range": plan.range,
                                  "notes": [[n.start, n.duration, n.pitch, n.velocity] for n in plan.notes]})


# ---------------------------------------------------------------------------------------------
# a user's folder of plain audio files


def scan_folder(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    """Any audio files under ``root``; folder and file names are the labels.

    A ``LICENSE`` or ``LICENSE.txt`` file at the top of the folder is recorded as the license
    (its first line); without one the license is recorded as unknown.
    """
    license_ = spec.license
    for name in ("LICENSE", "LICENSE.txt", "license.txt"):
        if (root / name).exists():
            license_ = (root / name).read_text(errors="replace").strip().splitlines()[0][:200]
            break
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS):
        rel = sound.relative_to(root).as_posix()
        hint = str(Path(rel).with_suffix(""))
        category = categorize(hint, "effects") or categorize(hint, "percussion")
        if category is None:
            logger.info("%s: no category for %s (name it after what it sounds like)", spec.key, rel)
            continue
        yield RawSound(source=spec.key, original=rel, read=_file_reader(sound), category=category,
                       captions=captions_for(category), group=f"{spec.key}/{take_group(rel)}",
                       license=license_, attribution=spec.attribution or str(root), package=None,
                       dedupe_key=f"{spec.key}/{Path(rel).parent}")


SOURCES: dict[str, SourceSpec] = {
    s.key: s
    for s in (
        SourceSpec("0ad", "0ad-data", "CC-BY-SA-3.0", "0 A.D. (Wildfire Games), sound effects", scan_0ad),
        SourceSpec("hydrogen", "hydrogen-drumkits", "GPL-2", "Hydrogen drum kits", scan_hydrogen),
        SourceSpec("tuxpaint", "tuxpaint-stamps-default", "GPL-2", "Tux Paint stamps (New Breed Software and contributors)", scan_tuxpaint),
        SourceSpec("wesnoth", "wesnoth-1.16-data", "GPL-2+", "Battle for Wesnoth (the Wesnoth project)", scan_wesnoth),
        SourceSpec("freedesktop", "sound-theme-freedesktop", "GPL-2+", "freedesktop.org sound theme", scan_freedesktop),
        SourceSpec("megaglest", "megaglest-data", "CC-BY-SA-3.0", "MegaGlest (the MegaGlest team)", scan_megaglest),
        SourceSpec("opensfx", "openttd-opensfx", "CC-BY-SA-3.0", "OpenSFX (OpenTTD base sounds)", scan_opensfx),
        SourceSpec("sound-icons", "sound-icons", "GPL-2+", "sound-icons (Brailcom, o.p.s.)", scan_sound_icons),
        SourceSpec("soundfont", "fluid-soundfont-gm", "MIT", "FluidR3 GM sound font by Frank Wen and contributors, "
                   "rendered with FluidSynth", scan_soundfont),
    )
}
DEFAULT_SOURCES = ("0ad", "hydrogen", "tuxpaint", "wesnoth", "megaglest", "freedesktop", "opensfx", "sound-icons",
                   "soundfont")


def folder_source(path: Path, key: str | None = None) -> SourceSpec:
    return SourceSpec(key or f"folder-{path.name}", None, "unknown (user supplied)", str(path), scan_folder)
