"""Where library recordings come from, and what their paths and metadata say about them.

A *source* knows one Debian package's layout (or a plain folder of audio files) and yields
:class:`RawSound` records: how to read the bytes, the category and captions derived from
folder names and metadata, the split group (which recordings must stay in one split) and the
dedupe key (which recordings are compared for near-duplicates). Sources never decode audio;
that is :mod:`v2a.data.processing`'s job.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..media.audio import AUDIO_FILE_EXTENSIONS
from .captions import (GM_VOICES, Category, captions_for, categorize, gm_captions, opensfx_label, sound_icon_label,
                       specific_caption)
from .formats import read_c4group, read_cat, read_qt_rcc

logger = logging.getLogger(__name__)



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


def _zip_reader(archive: Path) -> Callable[[str], Callable[[], bytes]]:
    """``reader(name)`` for members of ``archive``, all reading through one archive opened on
    first use: opening a big zip (0 A.D.'s 3 GB, 36,000 entries) costs ~0.4 s."""
    opened: dict[str, zipfile.ZipFile] = {}

    def reader(name: str) -> Callable[[], bytes]:
        def read():
            if "zip" not in opened:
                opened["zip"] = zipfile.ZipFile(archive)
            return opened["zip"].read(name)
        return read
    return reader


Member = tuple[str, Callable[[], bytes]]  # (path inside the package, reader of its bytes)


def _audio_files(root: Path) -> Iterator[Member]:
    for path in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_FILE_EXTENSIONS and p.is_file()):
        yield path.relative_to(root).as_posix(), _file_reader(path)


def _zip_audio(root: Path, archive_name: str) -> Iterator[Member]:
    """Audio files inside the zip archives (Quake-style ``.pk3``, Warzone's ``.wz``) called
    ``archive_name`` under ``root``, as ``<archive path>/<member>``."""
    for archive in sorted(root.rglob(archive_name)):
        with zipfile.ZipFile(archive) as zf:
            names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in AUDIO_FILE_EXTENSIONS)
        reader = _zip_reader(archive)
        for name in names:
            yield f"{archive.relative_to(root).as_posix()}/{name}", reader(name)


def _archive_audio(root: Path, archive_name: str, read_archive: Callable[[bytes], list[tuple[str, bytes]]]) -> Iterator[Member]:
    """Audio files inside the archives called ``archive_name`` under ``root`` that
    ``read_archive`` unpacks whole (Clonk groups, Qt resources: a few MB each)."""
    for archive in sorted(p for p in root.rglob(archive_name) if p.is_file()):
        for name, data in read_archive(archive.read_bytes()):
            if Path(name).suffix.lower() in AUDIO_FILE_EXTENSIONS:
                yield f"{archive.relative_to(root).as_posix()}/{name}", (lambda d=data: d)


# ---------------------------------------------------------------------------------------------
# Per-file licenses from a package's machine-readable debian/copyright (DEP-5)


def read_dep5(text: str) -> list[tuple[list[str], str, str]]:
    """``(file patterns, license, copyright holders)`` of each ``Files:`` stanza, in order."""
    stanzas = []
    for block in re.split(r"\n[ \t]*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip()
                fields[key] = value.strip()
        if "Files" in fields and fields.get("License", "").strip():
            holders = " ".join(line.strip() for line in fields.get("Copyright", "").splitlines() if line.strip() != ".")
            stanzas.append((fields["Files"].split(), fields["License"].strip().splitlines()[0], holders))
    return stanzas


def _dep5_matches(pattern: str, path: str) -> bool:
    """Whether a DEP-5 pattern (a path in the source tree) names an installed ``path``.

    Installed paths differ from source paths in their leading folders (``mtg/mods/doors/...``
    is installed as ``.../minetest_game/mods/doors/...``), so the pattern's leading folders
    are dropped one by one while what is left still names a folder and a file (three parts
    when it ends in a wildcard, so ``debian/*`` or ``sounds/*`` alone never match).
    """
    parts = pattern.strip("/").split("/")
    if len(parts) == 1:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    target = path.split("/")
    for start in range(len(parts)):
        tail = parts[start:]
        if len(tail) < (3 if "*" in tail[-1] else 2):
            return False
        if len(tail) <= len(target) and fnmatch.fnmatchcase("/".join(target[-len(tail):]), "/".join(tail)):
            return True
    return False


def dep5_license(stanzas: list[tuple[list[str], str, str]], path: str) -> tuple[str, str] | None:
    """``(license, holders)`` of ``path``: the last matching stanza wins, as DEP-5 says."""
    found = None
    for patterns, license_, holders in stanzas:
        if any(_dep5_matches(p, path) for p in patterns):
            found = (license_, holders)
    return found


def with_dep5_licenses(sounds: Iterable[RawSound], root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    """Gives each sound the license and holders its package's copyright file states for it.

    Paths inside archives are looked up without the archive's name (``base/0snd.pk3/sound/x``
    as ``base/sound/x``), which is how copyright files list them.
    """
    copyright_file = root / "usr/share/doc" / spec.package / "copyright"
    stanzas = read_dep5(copyright_file.read_text(errors="replace")) if copyright_file.exists() else []
    for sound in sounds:
        found = dep5_license(stanzas, re.sub(r"[^/]+\.(pk3|wz)/", "", sound.original))
        if found:
            sound.license = found[0]
            sound.attribution = f"{spec.attribution}: {found[1]}" if found[1] else spec.attribution
        yield sound


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
        names = sorted(n for n in zf.namelist() if Path(n).suffix.lower() in AUDIO_FILE_EXTENSIONS and n.startswith("audio/"))

    reader = _zip_reader(archive)
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
                # drums of one category are compared for near-duplicates (two kicks of a kit); a
                # kit of one instrument named by its chords ("F#major / B5") is labelled by the
                # kit's name, and its chords, alike to the fingerprint, are compared only by layer
                dedupe_key = f"{spec.key}/{kit_dir.name}/{category.name if category else inst['name']}"
                category = category or categorize(info["name"] or kit_dir.name, "effects")
                if category is None:
                    logger.debug("hydrogen: no category for %s / %s", kit_dir.name, inst["name"])
                    continue
                specific = specific_caption(inst["name"]) if categorize(hint, "percussion") else None
                yield RawSound(source=spec.key, original=str(path.relative_to(root)), read=_file_reader(path),
                               category=category, captions=captions_for(category, specific),
                               group=f"{spec.key}/{kit_dir.name}", license=license_, attribution=attribution,
                               package=spec.package, dedupe_key=dedupe_key,
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
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_FILE_EXTENSIONS):
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
# Wesnoth, freedesktop and most game data: folder and file names are the labels


def _scan_named_files(root: Path, spec: SourceSpec, under: str, skip: re.Pattern | None = None,
                      members: Iterable[Member] | None = None, hint: Callable[[str], str] = str,
                      domain: str = "effects", dedupe_whole_source: bool = False) -> Iterator[RawSound]:
    """Sounds whose path after ``under`` names what they are (``sounds/animals/wolf_01.ogg``).

    ``members`` are the package's audio files (default: the plain files under ``root``);
    ``skip`` drops paths (speech, music); ``hint`` turns the path after ``under`` (without
    its suffix) into the text that is categorised, for layouts whose folders say nothing or
    mislead. Near-duplicates are looked for within a folder, or across the whole source
    where a package copies one recording into several folders.
    """
    for rel, read in (_audio_files(root) if members is None else members):
        if under not in rel or (skip and skip.search(rel)):
            continue
        named = rel.split(under, 1)[1]
        category = categorize(hint(str(Path(named).with_suffix(""))), domain)
        if category is None:
            logger.debug("%s: no category for %s", spec.key, rel)
            continue
        yield RawSound(source=spec.key, original=rel, read=read, category=category,
                       captions=captions_for(category), group=f"{spec.key}/{take_group(named)}",
                       license=spec.license, attribution=spec.attribution, package=spec.package,
                       dedupe_key=spec.key if dedupe_whole_source else f"{spec.key}/{Path(named).parent}")


def _file_name(named: str) -> str:
    """The hint of layouts whose folders are work areas, not sounds (widelands' ``farm/sheep``)."""
    return Path(named).name


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
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_FILE_EXTENSIONS):
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
# Game and music packages whose folder and file names are the labels. Each skip pattern drops
# speech (voice lines, announcers, tutorials) and music; what remains unnamed is left out.

# qabcs: an alphabet game's object noises ("cow", "tractor", "bagpipes"); the words/ and alpha/
# folders are spoken letters and words
def scan_qabcs(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/abcs/all/noises/"), root, spec)


TRIPLEA_SKIP = re.compile(r"anthem|overture|music|lotr|gladiator|colosseum|battlemarch|epic|fanfare|reine|robot_chatter")


def scan_triplea(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # "battle_air_01_hawk_scream": the game event, a take number, then what it sounds like; the
    # same file sits in several event folders, so near-duplicates are looked for source-wide
    yield from _scan_named_files(root, spec, "/sounds/", TRIPLEA_SKIP, hint=lambda named: re.split(r"_\d+_", Path(named).name)[-1],
                                 dedupe_whole_source=True)


# OpenClonk's clonk voices (Confirm, Doubt, Singing) are mumbled words
OPENCLONK_SKIP = re.compile(r"/Skin\.ocg/\w+\.ocg/(Confirm|Decline|Doubt|EvilConfirm|Singing)|/UI\.ocg/(NextWave|Cleared)")


def scan_openclonk(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # sounds live in Sound.ocg only; a group's folders end in ".ocg", which the hint drops
    yield from _scan_named_files(root, spec, "Sound.ocg/", OPENCLONK_SKIP, members=_archive_audio(root, "Sound.ocg", read_c4group),
                                 hint=lambda named: named.replace(".ocg", ""))


def scan_minetest(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/mods/", re.compile(r"/devtest/|player_damage")), root, spec)


UFOAI_SKIP = re.compile(r"radiomessage|tv_news|/talk|jingle|disco|lobbyprivmsg|roundstart|aliencom|/geoscape/(mail|newmission|promotion|info|standard)")


def scan_ufoai(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/sound/", UFOAI_SKIP, members=_zip_audio(root, "0snd.pk3")), root, spec)


def scan_redeclipse(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    skip = re.compile(r"/sounds/(music|voice|announcer)/|/sounds/[^/]+$|/maps/")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/sounds/", skip), root, spec)


def scan_widelands(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    skip = re.compile(r"/music/|/military/|lobby|message|construction_site|/mortar")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/data/", skip, hint=_file_name), root, spec)


SUPERTUXKART_SKIP = re.compile(r"/music/|speech|intro2?\.|track_intro|airport_pa|gp_end|race_finish|last_lap|start_race|goal_scored|"
                               r"energy_bar|grab_collectable|WilhelmScream|Gran_Paradiso|Battle_Theme|rabbit_hole|/xr591/")


def scan_supertuxkart(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/data/", SUPERTUXKART_SKIP, hint=_file_name), root, spec)


def scan_lmms(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # synth waveforms, bass lines, pads and latin riffs are music material, not sounds of things
    skip = re.compile(r"/samples/(waveforms|shapes|basses|bassloops|stringsnpads|latin)/|undefined")
    yield from _scan_named_files(root, spec, "/samples/", skip, domain="percussion")


def scan_sonic_pi(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # drum names ("bd_haus", "sn_dolf") are the labels; melodic loops and bass notes are music
    skip = re.compile(r"loop_(?!amen|breakbeat|tabla|perc|3d_printer)|/bass_|glitch_bass|/buffers/")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/samples/", skip, domain="percussion"), root, spec)


NEXUIZ_SKIP = re.compile(r"/(coms|tutorial|announcer|ctf|onslaught|kh|nexball|domination)/|cyberparcour")


def scan_nexuiz(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sound/", NEXUIZ_SKIP, members=_zip_audio(root, "data.pk3"))


def scan_warzone2100(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # audio/sfx only: everything else in base.wz is voice (pcv* lines, taunts, tutorial)
    sounds = _scan_named_files(root, spec, "/audio/sfx/", re.compile(r"silence|help|pcv"), members=_zip_audio(root, "base.wz"))
    yield from with_dep5_licenses(sounds, root, spec)


def scan_lincity(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # building names ("IndustryHigh2", "TraficLow1"); those that do not say what is heard are skipped
    skip = re.compile(r"/(Commune|Health|Monument|Shanty|Tip|Recycle|University|Pottery|Green|PowerSolar|Build|FireStation)\d")
    yield from _scan_named_files(root, spec, "/sounds/", skip)


def scan_openarena(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    skip = re.compile(r"/(feedback|announcer|sarge)/")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/sound/", skip, members=_zip_audio(root, "*.pk3")), root, spec)


def scan_lugaru(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # the copyright file's "Data/*" (CC-BY-SA-3.0) is the installed sound folder: the spec's license
    yield from _scan_named_files(root, spec, "/Sounds/", re.compile(r"Console"))


def scan_btanks(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/sounds/", re.compile(r"/menu/")), root, spec)


def scan_endless_sky(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/sounds/"), root, spec)


def scan_flare(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # merchants' greetings (npcs/) and the war cry are voices
    skip = re.compile(r"/npcs/|warcry|level_up|no_mana|flying_loot")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/soundfx/", skip), root, spec)


def scan_hedgewars(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # voices/ are the hedgehogs' lines; "1C".."9D" are piano notes of a tune, custom* unnamed
    skip = re.compile(r"/voices/|/\d[A-G]\.ogg|custom\d|valkyries|hogchant|Yoohoo|countdown|Hellish|TARDIS|suddendeath")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/Data/Sounds/", skip), root, spec)


def scan_warmux(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sound/default/", re.compile(r"/voices/|victory|sherif|newcomer"))


def scan_freedroidrpg(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # Tux's comments and the bots' phrases are speech
    skip = re.compile(r"tux_ingame_comments|bot_sounds|Takeover|Mission_Status|read_sign")
    yield from _scan_named_files(root, spec, "/sound/effects/", skip)


def scan_bucklespring(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # one press and one release per key of an IBM Model M, named by scan code ("1c-0.wav")
    yield from _scan_named_files(root, spec, "/buckle/wav/", hint=lambda named: "keyboard key")


def scan_cube2(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/packages/sounds/"), root, spec)


def scan_tuxfootball(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sound/", re.compile(r"ingame"))


def scan_extremetuxracer(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sounds/", re.compile(r"pickup"))


# GCompris: each activity's sounds inside its Qt resource file; lang.rcc and the voices are
# speech, explore_world_music is music
GCOMPRIS_SKIP = re.compile(r"/(lang|explore_world_music|chronos)\.rcc/|youcannot|tuxok|silence|guitar_melody|bonus|completetask")


def scan_gcompris(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # "LRFireballs_01_LA", "LRStartAndStopCarEngine1LACut": Freesound names with the LA
    # recordist's initials, which the hint drops
    sounds = _scan_named_files(root, spec, "/resource/", GCOMPRIS_SKIP, members=_archive_audio(root, "*.rcc", read_qt_rcc),
                               hint=lambda named: re.sub(r"^LR|LA(Cut)?$|_LA$", "", Path(named).name))
    yield from with_dep5_licenses(sounds, root, spec)


def scan_supertux(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    # sounds/ only: speech/ holds the spoken lines
    skip = re.compile(r"welldone|excellent|tada|lifeup|upgrade|invincible|outfit|retro_fall")
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/supertux2/sounds/", skip), root, spec)


def scan_naev(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from with_dep5_licenses(_scan_named_files(root, spec, "/dat/snd/sounds/", re.compile(r"hail|nav\.|target")), root, spec)


# Berusky 2 names its sounds in Czech; the words that say what is heard, in English
BERUSKY2_WORDS = {
    "auto": "car", "blesk": "lightning", "bubl": "bubbles", "bubliny": "bubbles", "dest": "rain", "exploze": "explosion",
    "hrebik": "hammer nail", "hrom": "thunder", "kap": "water drip", "krysa": "rat", "ptak": "bird", "racek": "seagull",
    "vitr": "wind", "voda": "water", "vytah": "elevator", "zblunk": "splash", "dvereotevrit": "door open",
    "dverezavrit": "door close", "krumpac": "pickaxe", "odemceni": "unlock", "parnik": "steamboat ship", "zvon": "bell",
    "les": "forest", "swamp": "frog", "stepsand": "sand footsteps", "stepsgrass": "grass footsteps", "stepsnow": "snow footsteps",
    "stepssteel": "metal footsteps", "stepsstone": "stone footsteps", "stepswood": "wood footsteps", "wstep": "water footsteps",
    "eat": "eating", "bedna": "wood hit", "padkov": "metal hit", "paddrevo": "wood hit", "pad": "thud", "mesto": "town",
    "village": "town", "telep": "teleport", "rozpad": "collapse",
}


def _berusky2_hint(named: str) -> str:
    """The English for a name's first word ("Vytah_jizda" -> "elevator"); English names ("Crow2") stay."""
    word = re.split(r"[\d_ ]", Path(named).name.lower())[0]
    return BERUSKY2_WORDS.get(word, word)


def scan_berusky2(root: Path, spec: SourceSpec) -> Iterator[RawSound]:
    yield from _scan_named_files(root, spec, "/sound/sound/", hint=_berusky2_hint)


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
    for sound in sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_FILE_EXTENSIONS):
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
        SourceSpec("qabcs", "qabcs-data", "GPL-3+", "qABCs (Alexander Ivanov and contributors)", scan_qabcs),
        SourceSpec("triplea", "triplea", "GPL-2+", "TripleA (the TripleA developers)", scan_triplea),
        SourceSpec("openclonk", "openclonk-data", "CC-BY-3.0", "OpenClonk sound effects by the OpenClonk team and contributors "
                   "(per-sound authors in Sound.ocg/authors.txt)", scan_openclonk),
        SourceSpec("minetest", "minetest-data", "CC-BY-SA-3.0", "Minetest Game", scan_minetest),
        SourceSpec("ufoai", "ufoai-sound", "GPL-2+", "UFO: Alien Invasion", scan_ufoai),
        SourceSpec("redeclipse", "redeclipse-data", "CC-BY-SA-3.0", "Red Eclipse", scan_redeclipse),
        SourceSpec("widelands", "widelands-data", "GPL-2+", "Widelands (the Widelands development team)", scan_widelands),
        SourceSpec("supertuxkart", "supertuxkart-data", "CC-BY-SA-3.0", "SuperTuxKart", scan_supertuxkart),
        SourceSpec("lmms", "lmms-common", "GPL-2+", "LMMS sample library (the LMMS developers)", scan_lmms),
        SourceSpec("sonic-pi", "sonic-pi-samples", "CC0", "Sonic Pi samples", scan_sonic_pi),
        SourceSpec("hydrogen-effects", "hydrogen-drumkits-effects", "CC-BY-3.0", "Hydrogen effect kits", scan_hydrogen),
        SourceSpec("nexuiz", "nexuiz-data", "GPL-2+", "Nexuiz (Alientrap, Lee Vermeulen and contributors)", scan_nexuiz),
        SourceSpec("warzone2100", "warzone2100-data", "GPL-2+", "Warzone 2100 (Pumpkin Studios, the Warzone 2100 Project)", scan_warzone2100),
        SourceSpec("lincity", "lincity-ng-data", "GPL-2+", "LinCity-NG (the LinCity-NG developers)", scan_lincity),
        SourceSpec("openarena", "openarena-data", "GPL-2+", "OpenArena (the OpenArena team, id Software)", scan_openarena),
        SourceSpec("lugaru", "lugaru-data", "CC-BY-SA-3.0", "Lugaru (Wolfire Games and the Lugaru community)", scan_lugaru),
        SourceSpec("btanks", "btanks-data", "Battle-Tanks-License", "Battle Tanks (Netive Media Group)", scan_btanks),
        SourceSpec("endless-sky", "endless-sky-data", "GPL-3+", "Endless Sky (Michael Zahniser and contributors)", scan_endless_sky),
        SourceSpec("flare", "flare-game", "CC-BY-SA-3.0+", "Flare: Empyrean Campaign (the Flare team)", scan_flare),
        SourceSpec("hedgewars", "hedgewars-data", "GPL-2", "Hedgewars (Andrey Korotaev and contributors)", scan_hedgewars),
        SourceSpec("warmux", "warmux-data", "GPL-2+", "WarMUX (the WarMUX team and contributors)", scan_warmux),
        SourceSpec("freedroidrpg", "freedroidrpg-data", "GPL-2+", "FreedroidRPG (the FreedroidRPG team)", scan_freedroidrpg),
        SourceSpec("bucklespring", "bucklespring-data", "GPL-2+", "bucklespring (Ico Doornekamp)", scan_bucklespring),
        SourceSpec("hydrogen-data", "hydrogen-data", "GPL-2+", "Hydrogen default drum kits", scan_hydrogen),
        SourceSpec("cube2", "cube2-data", "CC-BY-3.0", "Cube 2: Sauerbraten", scan_cube2),
        SourceSpec("tuxfootball", "tuxfootball", "GPL-2+", "Tux Football (Jason Wood and contributors)", scan_tuxfootball),
        SourceSpec("gcompris", "gcompris-qt-data", "GPL-3+", "GCompris (Timothée Giet, Bruno Coudoin and contributors)", scan_gcompris),
        SourceSpec("supertux", "supertux-data", "GPL-2+", "SuperTux (the SuperTux Devel Team)", scan_supertux),
        SourceSpec("naev", "naev-data", "GPL-3+", "Naev (Edgar Simo-Serra and others)", scan_naev),
        SourceSpec("berusky2", "berusky2-data", "GPL-2+", "Berusky 2 (AnakreoN)", scan_berusky2),
        SourceSpec("extremetuxracer", "extremetuxracer-data", "GPL-2+", "Extreme Tux Racer (the ETR team)", scan_extremetuxracer),
    )
}
# new sources in the order their labels are trusted: the first of a near-duplicate pair across
# sources is kept (see library.cross_source_duplicates)
NEW_SOURCES = ("qabcs", "triplea", "openclonk", "minetest", "ufoai", "redeclipse", "widelands", "supertuxkart", "lmms",
               "sonic-pi", "hydrogen-effects", "nexuiz", "warzone2100", "lincity", "openarena", "lugaru", "btanks",
               "endless-sky", "flare", "hedgewars", "warmux", "freedroidrpg", "bucklespring", "hydrogen-data", "cube2",
               "tuxfootball", "extremetuxracer", "gcompris", "supertux", "naev", "berusky2")
DEFAULT_SOURCES = ("0ad", "hydrogen", "tuxpaint", "wesnoth", "megaglest", "freedesktop", "opensfx", "sound-icons",
                   "soundfont") + NEW_SOURCES


def folder_source(path: Path, key: str | None = None) -> SourceSpec:
    return SourceSpec(key or f"folder-{path.name}", None, "unknown (user supplied)", str(path), scan_folder)
