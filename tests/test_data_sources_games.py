"""The game and music package sources, Clonk groups, DEP-5 licenses and the cross-source dedupe
on tiny generated package trees (file contents are placeholders: scanning never decodes)."""

from __future__ import annotations

import gzip
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from v2a.data.captions import CATEGORIES, CATEGORY_BY_NAME, FAMILIES, categorize
from v2a.data.formats import C4GROUP_ENTRY, C4GROUP_HEADER, c4_unscramble, read_c4group, read_qt_rcc
from v2a.data.library import finalise, process_sounds
from v2a.data.sources import DEFAULT_SOURCES, NEW_SOURCES, SOURCES, RawSound, dep5_license, read_dep5

SR = 22050


# ---------------------------------------------------------------------------------------------
# Clonk groups


def c4_group(files: dict[str, bytes | dict]) -> bytes:
    """An uncompressed group: scrambled header, entry table, data; a dict value is a child group."""
    table, body = bytearray(), bytearray()
    for name, content in files.items():
        data = c4_group(content) if isinstance(content, dict) else content
        entry = name.encode().ljust(260, b"\0") + struct.pack("<5i", 0, isinstance(content, dict), len(data), 0, len(body))
        table += entry.ljust(C4GROUP_ENTRY, b"\0")
        body += data
    header = b"RedWolf Design GrpFolder".ljust(28, b"\0") + struct.pack("<3i", 1, 2, len(files))
    # scrambling is its own inverse: the same swap and XOR undo it
    return c4_unscramble(header.ljust(C4GROUP_HEADER, b"\0")) + bytes(table) + bytes(body)


def c4_file(files: dict) -> bytes:
    packed = gzip.compress(c4_group(files))
    return b"\x1e\x8c" + packed[2:]


def test_read_c4group_walks_child_groups():
    files = {"Animals.ocg": {"Bat.ocg": {"Chirp.wav": b"chirp", "Flutter1.wav": b"flutter"}}, "authors.txt": b"ala"}
    assert read_c4group(c4_file(files)) == [("Animals.ocg/Bat.ocg/Chirp.wav", b"chirp"),
                                            ("Animals.ocg/Bat.ocg/Flutter1.wav", b"flutter"), ("authors.txt", b"ala")]
    with pytest.raises(Exception):
        read_c4group(gzip.compress(c4_group(files)))  # a plain gzip is not a group file


# ---------------------------------------------------------------------------------------------
# Qt resource files


def qt_rcc(tree: dict) -> bytes:
    """A version-2 rcc: nodes breadth first (a directory's children contiguous), then data and
    names; a ``("zlib", bytes)`` value is stored compressed."""
    nodes: list[bytes] = [b""]
    data, names = bytearray(), bytearray()
    queue = [(0, "", tree)]
    while queue:
        index, name, content = queue.pop(0)
        name_offset = len(names)
        names.extend(struct.pack(">HI", len(name), 0) + name.encode("utf-16-be"))
        if isinstance(content, dict):
            first = len(nodes)
            nodes.extend([b""] * len(content))
            nodes[index] = struct.pack(">IHII", name_offset, 2, len(content), first) + bytes(8)
            queue.extend((first + j, n, c) for j, (n, c) in enumerate(content.items()))
        else:
            flags, payload = (1, struct.pack(">I", len(content[1])) + zlib.compress(content[1])) if isinstance(content, tuple) else (0, content)
            nodes[index] = struct.pack(">IHHHI", name_offset, flags, 0, 0, len(data)) + bytes(8)
            data.extend(struct.pack(">I", len(payload)) + payload)
    tree_bytes = b"".join(nodes)
    header_size = 20
    return (b"qres" + struct.pack(">4I", 2, header_size, header_size + len(tree_bytes), header_size + len(tree_bytes) + len(data))
            + tree_bytes + bytes(data) + bytes(names))


def test_read_qt_rcc_finds_nested_and_compressed_files():
    rcc = qt_rcc({"gcompris": {"src": {"instruments": {"resource": {"cello.ogg": b"cello", "harp.ogg": ("zlib", b"harp" * 50)}}},
                               "readme.txt": b"hi"}})
    assert read_qt_rcc(rcc) == [("gcompris/src/instruments/resource/cello.ogg", b"cello"),
                                ("gcompris/src/instruments/resource/harp.ogg", b"harp" * 50), ("gcompris/readme.txt", b"hi")]
    with pytest.raises(Exception):
        read_qt_rcc(b"RIFF" + rcc[4:])


def test_gcompris_scans_activity_resources_but_not_speech_or_music(tmp_path):
    folder = tmp_path / "usr/share/gcompris-qt/rcc"
    folder.mkdir(parents=True)
    (folder / "instruments.rcc").write_bytes(qt_rcc({"gcompris": {"src": {"activities": {"instruments": {"resource": {
        "cello.ogg": b"c", "tambourine.ogg": ("zlib", b"t")}}}}}}))
    (folder / "memory-sound.rcc").write_bytes(qt_rcc({"gcompris": {"src": {"activities": {"memory-sound": {"resource": {
        "LRStartAndStopCarEngine1LACut.ogg": b"e", "LRHeart_beat_01_LA.ogg": b"h"}}}}}}))
    (folder / "lang.rcc").write_bytes(qt_rcc({"gcompris": {"resource": {"cow.ogg": b"spoken"}}}))
    (folder / "explore_world_music.rcc").write_bytes(qt_rcc({"gcompris": {"resource": {"music": {"ireland.ogg": b"m"}}}}))
    found = {Path(s.original).name: s for s in SOURCES["gcompris"].scan(tmp_path, SOURCES["gcompris"])}
    assert {k: s.category.name for k, s in found.items()} == {
        "cello.ogg": "string_instrument", "tambourine.ogg": "tambourine", "LRStartAndStopCarEngine1LACut.ogg": "motor_vehicle",
        "LRHeart_beat_01_LA.ogg": "heartbeat"}
    assert found["tambourine.ogg"].read() == b"t"


# ---------------------------------------------------------------------------------------------
# DEP-5 copyright files

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2010 The Game Team
License: GPL-2+

Files: mtg/mods/doors/sounds/*
Copyright: 2014 Someone
 2015 Someone Else
License: CC-BY-3.0

Files:
 base/sound/footsteps/grass1.ogg
 base/sound/footsteps/grass2.ogg
Copyright: Grass Recorder
License: CC0-1.0

Files: debian/*
Copyright: A Packager
License: MIT
"""


def test_dep5_license_matches_installed_paths_and_last_stanza_wins():
    stanzas = read_dep5(COPYRIGHT)
    assert [s[1] for s in stanzas] == ["GPL-2+", "CC-BY-3.0", "CC0-1.0", "MIT"]
    doors = "usr/share/games/minetest/games/minetest_game/mods/doors/sounds/doors_door_open.ogg"
    assert dep5_license(stanzas, doors) == ("CC-BY-3.0", "2014 Someone 2015 Someone Else")
    assert dep5_license(stanzas, "usr/share/games/ufoai/base/sound/footsteps/grass2.ogg") == ("CC0-1.0", "Grass Recorder")
    # neither a bare "sounds/*" tail nor the packaging stanza's "debian/*" claims other files
    assert dep5_license(stanzas, "usr/share/games/minetest/games/minetest_game/mods/fire/sounds/fire_small.ogg")[0] == "GPL-2+"
    assert dep5_license(stanzas, "usr/share/games/x/sounds/debian/x.ogg")[0] == "GPL-2+"
    assert dep5_license(stanzas, "usr/share/games/ufoai/base/sound/footsteps/grass3.ogg")[0] == "GPL-2+"


# ---------------------------------------------------------------------------------------------
# every new source on a small package tree


def zip_of(members: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for m in members:
            zf.writestr(m, b"RIFF")
    return buf.getvalue()


DRUMKIT = """<?xml version="1.0"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>belofilms.com - AC-Guitar-Strums (flac)</name><author>Belo</author><license>CC-BY 3.0 Unported</license>
 <instrumentList>
  <instrument><name>\\\\ B Key \\\\</name><layer><filename>Bmajor_00.flac</filename><min>0</min><max>1</max></layer></instrument>
  <instrument><name>F#major / B5</name><layer><filename>Fsharp major_02.flac</filename><min>0</min><max>1</max></layer></instrument>
 </instrumentList>
</drumkit_info>
"""

# source -> (files to create: path -> bytes, or an archive path -> list of members; expected
# categories of the originals found, None where a file must be skipped)
CASES = {
    "qabcs": ({"usr/share/qabcs/abcs/all/noises/cow.ogg": b"", "usr/share/qabcs/abcs/all/noises/tractor.ogg": b"",
               "usr/share/qabcs/abcs/en/sounds/words/cow.ogg": b"", "usr/share/qabcs/abcs/all/noises/quilt.ogg": b""},
              {"usr/share/qabcs/abcs/all/noises/cow.ogg": "cattle", "usr/share/qabcs/abcs/all/noises/tractor.ogg": "tractor",
               "usr/share/qabcs/abcs/en/sounds/words/cow.ogg": None, "usr/share/qabcs/abcs/all/noises/quilt.ogg": None}),
    "triplea": ({"a/sounds/classical/battle_air/battle_air_01_hawk_scream.mp3": b"",
                 "a/sounds/generic/placed_land/placed_land_01_boots_landing.mp3": b"",
                 "a/sounds/ww2/required_your_turn_series_French/French_Anthem_Intro.mp3": b""},
                {"a/sounds/classical/battle_air/battle_air_01_hawk_scream.mp3": "bird_of_prey",
                 "a/sounds/generic/placed_land/placed_land_01_boots_landing.mp3": "marching",
                 "a/sounds/ww2/required_your_turn_series_French/French_Anthem_Intro.mp3": None}),
    "minetest": ({"g/mods/default/sounds/default_gravel_footstep.1.ogg": b"", "g/mods/doors/sounds/doors_glass_door_open.ogg": b"",
                  "g/mods/default/sounds/player_damage.ogg": b""},
                 {"g/mods/default/sounds/default_gravel_footstep.1.ogg": "footsteps_gravel",
                  "g/mods/doors/sounds/doors_glass_door_open.ogg": "door", "g/mods/default/sounds/player_damage.ogg": None}),
    "ufoai": ({"usr/share/games/ufoai/base/0snd.pk3": ["sound/footsteps/grass1.ogg", "sound/ambience/radiomessage.ogg",
                                                       "sound/misc/breakglass01.ogg", "music/theme.ogg"]},
              {"usr/share/games/ufoai/base/0snd.pk3/sound/footsteps/grass1.ogg": "footsteps_grass",
               "usr/share/games/ufoai/base/0snd.pk3/sound/misc/breakglass01.ogg": "glass_break",
               "usr/share/games/ufoai/base/0snd.pk3/sound/ambience/radiomessage.ogg": None}),
    "redeclipse": ({"d/sounds/ambience/waterfall_huge.ogg": b"", "d/sounds/voice/yes.ogg": b"", "d/sounds/music/a_storm.ogg": b"",
                    "d/sounds/player/footstep2.ogg": b""},
                   {"d/sounds/ambience/waterfall_huge.ogg": "waterfall", "d/sounds/voice/yes.ogg": None,
                    "d/sounds/music/a_storm.ogg": None, "d/sounds/player/footstep2.ogg": "footsteps"}),
    "widelands": ({"w/data/sound/farm/sheep_01.ogg": b"", "w/data/sound/animals/crickets1_00.ogg": b"",
                   "w/data/music/farm_01.ogg": b""},
                  {"w/data/sound/farm/sheep_01.ogg": "sheep_goat", "w/data/sound/animals/crickets1_00.ogg": "crickets",
                   "w/data/music/farm_01.ogg": None}),
    "supertuxkart": ({"s/data/sfx/skid.ogg": b"", "s/data/music/farm_theme.ogg": b"", "s/data/tracks/scotland/sheep.ogg": b""},
                     {"s/data/sfx/skid.ogg": "tires_skid", "s/data/music/farm_theme.ogg": None,
                      "s/data/tracks/scotland/sheep.ogg": "sheep_goat"}),
    "lmms": ({"l/samples/drums/kick01.ogg": b"", "l/samples/drums/hihat_closed01.ogg": b"", "l/samples/waveforms/saw1.flac": b"",
              "l/samples/misc/applause01.ogg": b""},
             {"l/samples/drums/kick01.ogg": "kick_drum", "l/samples/drums/hihat_closed01.ogg": "hi_hat",
              "l/samples/waveforms/saw1.flac": None, "l/samples/misc/applause01.ogg": "applause"}),
    "sonic-pi": ({"p/samples/bd_haus.flac": b"", "p/samples/sn_dolf.flac": b"", "p/samples/loop_garzul.flac": b"",
                  "p/samples/loop_amen.flac": b""},
                 {"p/samples/bd_haus.flac": "kick_drum", "p/samples/sn_dolf.flac": "snare_drum", "p/samples/loop_garzul.flac": None,
                  "p/samples/loop_amen.flac": "drum_loop"}),
    "nexuiz": ({"n/data.pk3": ["sound/player/marine/coms/attack.ogg", "sound/misc/metalfootstep01.ogg", "sound/tutorial/hello.ogg"]},
               {"n/data.pk3/sound/misc/metalfootstep01.ogg": "footsteps_metal", "n/data.pk3/sound/player/marine/coms/attack.ogg": None,
                "n/data.pk3/sound/tutorial/hello.ogg": None}),
    "warzone2100": ({"z/base.wz": ["audio/sfx/weapons/mgheavy.ogg", "audio/sfx/explons/lrgexpl.ogg", "audio/tutorial/pcv001.ogg",
                                   "audio/memressp/combat/pcv410.ogg"]},
                    {"z/base.wz/audio/sfx/weapons/mgheavy.ogg": "machine_gun", "z/base.wz/audio/sfx/explons/lrgexpl.ogg": "explosion",
                     "z/base.wz/audio/tutorial/pcv001.ogg": None, "z/base.wz/audio/memressp/combat/pcv410.ogg": None}),
    "lincity": ({"c/sounds/TraficHigh2.wav": b"", "c/sounds/Health3.wav": b"", "c/sounds/WindMill1.wav": b""},
                {"c/sounds/TraficHigh2.wav": "traffic", "c/sounds/Health3.wav": None, "c/sounds/WindMill1.wav": "windmill"}),
    "openarena": ({"o/baseoa/pak0.pk3": ["sound/player/footsteps/splash1.wav", "sound/player/sarge/death1.wav"],
                   "o/missionpack/mp-pak0.pk3": ["sound/weapons/vulcan/wvulfire.wav"]},
                  {"o/baseoa/pak0.pk3/sound/player/footsteps/splash1.wav": "footsteps_water",
                   "o/baseoa/pak0.pk3/sound/player/sarge/death1.wav": None,
                   "o/missionpack/mp-pak0.pk3/sound/weapons/vulcan/wvulfire.wav": "machine_gun"}),
    "lugaru": ({"usr/share/games/lugaru/Sounds/FootStepSnow1.ogg": b"", "usr/share/games/lugaru/Sounds/ConsoleFail.ogg": b""},
               {"usr/share/games/lugaru/Sounds/FootStepSnow1.ogg": "footsteps_snow", "usr/share/games/lugaru/Sounds/ConsoleFail.ogg": None}),
    "btanks": ({"b/data/sounds/nuke-explosion.ogg": b"", "b/data/sounds/menu/select.ogg": b""},
               {"b/data/sounds/nuke-explosion.ogg": "explosion", "b/data/sounds/menu/select.ogg": None}),
    "endless-sky": ({"e/sounds/heavy laser~.wav": b"", "e/sounds/explosion huge.wav": b""},
                    {"e/sounds/heavy laser~.wav": "laser_gun", "e/sounds/explosion huge.wav": "explosion"}),
    "flare": ({"f/soundfx/environment/river_loop.ogg": b"", "f/soundfx/npcs/male_merchant_01.ogg": b"", "f/soundfx/steps/step_metal1.ogg": b""},
              {"f/soundfx/environment/river_loop.ogg": "water_stream", "f/soundfx/npcs/male_merchant_01.ogg": None,
               "f/soundfx/steps/step_metal1.ogg": "footsteps_metal"}),
    "hedgewars": ({"h/Data/Sounds/shotgunfire.ogg": b"", "h/Data/Sounds/voices/Pirate/Hello.ogg": b"", "h/Data/Sounds/5G.ogg": b""},
                  {"h/Data/Sounds/shotgunfire.ogg": "shotgun", "h/Data/Sounds/voices/Pirate/Hello.ogg": None, "h/Data/Sounds/5G.ogg": None}),
    "warmux": ({"w/sound/default/weapons/grenade_bounce.ogg": b"", "w/sound/default/voices/bomb.ogg": b""},
               {"w/sound/default/weapons/grenade_bounce.ogg": "bounce", "w/sound/default/voices/bomb.ogg": None}),
    "freedroidrpg": ({"d/sound/effects/Glass_Break.ogg": b"", "d/sound/effects/tux_ingame_comments/CantRepairThat.ogg": b""},
                     {"d/sound/effects/Glass_Break.ogg": "glass_break", "d/sound/effects/tux_ingame_comments/CantRepairThat.ogg": None}),
    "bucklespring": ({"usr/share/buckle/wav/1c-0.wav": b"", "usr/share/buckle/wav/1c-1.wav": b""},
                     {"usr/share/buckle/wav/1c-0.wav": "keyboard_typing", "usr/share/buckle/wav/1c-1.wav": "keyboard_typing"}),
    "cube2": ({"c/packages/sounds/q009/minigun2.ogg": b"", "c/packages/sounds/aard/pain5.wav": b""},
              {"c/packages/sounds/q009/minigun2.ogg": "machine_gun", "c/packages/sounds/aard/pain5.wav": "human_pain"}),
    "tuxfootball": ({"t/sound/refwhistlelong.wav": b"", "t/sound/ingame.ogg": b""}, {"t/sound/refwhistlelong.wav": "whistle", "t/sound/ingame.ogg": None}),
    "extremetuxracer": ({"x/sounds/snow_slide.wav": b"", "x/sounds/pickup1.wav": b""}, {"x/sounds/snow_slide.wav": "sliding", "x/sounds/pickup1.wav": None}),
    "supertux": ({"s/supertux2/sounds/icecrash.ogg": b"", "s/supertux2/speech/welcome.ogg": b"", "s/supertux2/sounds/welldone.ogg": b""},
                 {"s/supertux2/sounds/icecrash.ogg": "ice_crack", "s/supertux2/speech/welcome.ogg": None,
                  "s/supertux2/sounds/welldone.ogg": None}),
    "naev": ({"n/dat/snd/sounds/hyperspace_engine.ogg": b"", "n/dat/snd/music/battle.ogg": b""},
             {"n/dat/snd/sounds/hyperspace_engine.ogg": "spaceship", "n/dat/snd/music/battle.ogg": None}),
    "berusky2": ({"b/sound/sound/Hrom2.wav": b"", "b/sound/sound/Vytah_jizda.wav": b"", "b/sound/sound/Crow1.wav": b"",
                  "b/sound/sound/hopla1.wav": b""},
                 {"b/sound/sound/Hrom2.wav": "thunder", "b/sound/sound/Vytah_jizda.wav": "machinery", "b/sound/sound/Crow1.wav": "crow",
                  "b/sound/sound/hopla1.wav": None}),
    "hydrogen-effects": ({"usr/share/hydrogen/data/drumkits/GuitarStrums/drumkit.xml": DRUMKIT.encode(),
                          "usr/share/hydrogen/data/drumkits/GuitarStrums/Bmajor_00.flac": b"",
                          "usr/share/hydrogen/data/drumkits/GuitarStrums/Fsharp major_02.flac": b""},
                         {"usr/share/hydrogen/data/drumkits/GuitarStrums/Bmajor_00.flac": "guitar_strum",
                          "usr/share/hydrogen/data/drumkits/GuitarStrums/Fsharp major_02.flac": "guitar_strum"}),
}


def test_hydrogen_data_is_read_as_drum_kits(tmp_path):
    kit = tmp_path / "usr/share/hydrogen/data/drumkits/GMRockKit"
    kit.mkdir(parents=True)
    (kit / "drumkit.xml").write_text(DRUMKIT.replace("belofilms.com - AC-Guitar-Strums (flac)", "GMRockKit")
                                     .replace("\\\\ B Key \\\\", "Kick Long").replace("F#major / B5", "Snare Rock"))
    for name in ("Bmajor_00.flac", "Fsharp major_02.flac"):
        (kit / name).write_bytes(b"")
    spec = SOURCES["hydrogen-data"]
    assert sorted(s.category.name for s in spec.scan(tmp_path, spec)) == ["kick_drum", "snare_drum"]


def make_tree(root: Path, files: dict) -> None:
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(zip_of(content) if isinstance(content, list) else content)


@pytest.mark.parametrize("key", sorted(CASES))
def test_new_source_scans_label_and_skip(tmp_path, key):
    files, expected = CASES[key]
    make_tree(tmp_path, files)
    spec = SOURCES[key]
    found = {s.original: s for s in spec.scan(tmp_path, spec)}
    for original, category in expected.items():
        if category is None:
            assert original not in found, f"{key}: {original} should be skipped"
        else:
            assert found[original].category.name == category, f"{key}: {original}"
            assert found[original].captions[:3] == list(CATEGORY_BY_NAME[category].captions[:3])
            assert found[original].license and found[original].attribution
    assert set(found) <= set(expected)
    assert key in DEFAULT_SOURCES


def test_openclonk_reads_sounds_inside_its_group_and_drops_mumbled_voices(tmp_path):
    sound = {"Animals.ocg": {"Bat.ocg": {"Flutter1.wav": b"a"}, "Mooq.ocg": {"Snort1.wav": b"b"}},
             "Clonk.ocg": {"Skin.ocg": {"Adventurer.ocg": {"Confirm1.wav": b"c", "Hurt1.wav": b"d"}},
                           "Movement.ocg": {"StepHard1.ogg": b"e"}},
             "Environment.ocg": {"Lightning.ocg": {"Thunder1.ogg": b"f"}}, "authors.txt": b"x"}
    path = tmp_path / "usr/share/games/openclonk/Sound.ocg"
    path.parent.mkdir(parents=True)
    path.write_bytes(c4_file(sound))
    found = {s.original.split("Sound.ocg/", 1)[1]: s for s in SOURCES["openclonk"].scan(tmp_path, SOURCES["openclonk"])}
    assert {k: s.category.name for k, s in found.items()} == {
        "Animals.ocg/Bat.ocg/Flutter1.wav": "bat", "Animals.ocg/Mooq.ocg/Snort1.wav": "creature",
        "Clonk.ocg/Skin.ocg/Adventurer.ocg/Hurt1.wav": "human_pain", "Clonk.ocg/Movement.ocg/StepHard1.ogg": "footsteps_stone",
        "Environment.ocg/Lightning.ocg/Thunder1.ogg": "thunder"}
    assert found["Environment.ocg/Lightning.ocg/Thunder1.ogg"].read() == b"f"


def test_ufoai_takes_per_file_licenses_from_its_copyright_file(tmp_path):
    make_tree(tmp_path, {"usr/share/games/ufoai/base/0snd.pk3": ["sound/footsteps/grass1.ogg", "sound/footsteps/snow1.ogg"],
                         "usr/share/doc/ufoai-sound/copyright": COPYRIGHT.encode()})
    found = {Path(s.original).name: s for s in SOURCES["ufoai"].scan(tmp_path, SOURCES["ufoai"])}
    assert found["grass1.ogg"].license == "CC0-1.0" and "Grass Recorder" in found["grass1.ogg"].attribution
    assert found["snow1.ogg"].license == "GPL-2+" and "The Game Team" in found["snow1.ogg"].attribution
    assert found["snow1.ogg"].read() == b"RIFF"


def test_triplea_compares_copies_in_different_event_folders(tmp_path):
    copy = "placed_infrastructure_01_sawing_wood.mp3"
    make_tree(tmp_path, {f"t/sounds/generic/placed_infrastructure/{copy}": b"", f"t/sounds/generic/others/{copy}": b"",
                         "t/sounds/generic/others/battle_dice_rolled_01_dice_shaken_then_rolled.mp3": b""})
    sounds = list(SOURCES["triplea"].scan(tmp_path, SOURCES["triplea"]))
    assert len(sounds) == 3 and len({s.dedupe_key for s in sounds}) == 1
    assert {s.category.name for s in sounds} == {"saw", "dice"}


def test_taxonomy_families_cover_every_category():
    assert len(CATEGORIES) >= 250 and len({c.name for c in CATEGORIES}) == len(CATEGORIES)
    assert 18 <= len(FAMILIES) <= 22
    assert all(c.family in FAMILIES and c.name in FAMILIES[c.family] for c in CATEGORIES)
    assert all(len(c.captions) >= 3 for c in CATEGORIES)
    assert categorize("footsteps/snow3").family == "footsteps" and categorize("sound/animals/bird1_00").family == "birds"
    # specific rules win over broad ones: a shotgun reload is no shot, an electric guitar no violin
    assert categorize("weapons/reload-shotgun").name == "gun_reload" and categorize("weapons/shotgun").name == "shotgun"
    assert categorize("electric_guitar").name == "guitar" and categorize("violin").name == "string_instrument"
    assert set(NEW_SOURCES) <= set(SOURCES)


# ---------------------------------------------------------------------------------------------
# cross-source dedupe


def noise_burst(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    return (0.4 * rng.normal(size=len(t)) * np.exp(-3 * t)).astype(np.float32)


def tone(seconds: float, freq: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t) * np.exp(-3 * t)).astype(np.float32)


def sound_of(source: str, name: str, wav: np.ndarray, tmp: Path, key: str | None = None) -> RawSound:
    path = tmp / "raw" / source / f"{name}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, wav, SR)
    return RawSound(source=source, original=f"{name}.wav", read=path.read_bytes, category=CATEGORY_BY_NAME["explosion"],
                    captions=["an explosion"], group=f"{source}/{name}", license="CC0-1.0", attribution=source,
                    dedupe_key=key or f"{source}/{name}")


def test_finalise_drops_recordings_an_earlier_source_already_has(tmp_path):
    blast = noise_burst(1.2, 1)
    out = tmp_path / "lib"
    first = [sound_of("cube2", "blast", blast, tmp_path), sound_of("cube2", "thud", tone(1.2, 150), tmp_path)]
    second = [sound_of("redeclipse", "boom", 0.5 * blast, tmp_path),  # the same clip, quieter
              sound_of("redeclipse", "long_boom", np.concatenate([blast, noise_burst(0.6, 3)]), tmp_path),  # 50 % longer
              sound_of("redeclipse", "other", tone(1.2, 900), tmp_path)]
    records = process_sounds(first, out)[0] + process_sounds(second, out)[0]
    kept = finalise(out, records)
    names = {(r["source"], r["original"]) for r in kept}
    assert ("redeclipse", "boom.wav") not in names  # the copy in the later source goes
    assert {("cube2", "blast.wav"), ("cube2", "thud.wav"), ("redeclipse", "other.wav"), ("redeclipse", "long_boom.wav")} <= names
    assert all(r["family"] == "explosions" for r in kept)
    # the earlier listed source wins, whichever it is
    kept = finalise(out, process_sounds(second, out)[0] + process_sounds(first, out)[0])
    assert ("redeclipse", "boom.wav") in {(r["source"], r["original"]) for r in kept}
    assert ("cube2", "blast.wav") not in {(r["source"], r["original"]) for r in kept}


def test_cross_source_pass_leaves_one_sources_own_copies_alone(tmp_path):
    blast = noise_burst(1.0, 5)
    # within one source, copies under different dedupe keys are that source's choice
    sounds = [sound_of("kit", "a", blast, tmp_path, key="kit/a"), sound_of("kit", "b", blast, tmp_path, key="kit/b")]
    kept = finalise(tmp_path / "lib", process_sounds(sounds, tmp_path / "lib")[0])
    assert len(kept) == 2
