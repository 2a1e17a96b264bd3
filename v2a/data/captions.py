"""Category vocabulary: from path words and metadata to a category and captions people write.

Every source turns what it knows about a recording (folder and file names, a drum kit's
instrument name, a stamp's caption) into *hint* text; :func:`categorize` matches it against
an ordered table of rules and returns the first category that fits, with several phrasings.
Several phrasings per category (and the clip's own specific caption first) keep the model
from latching onto one fixed sentence, and they are what users type ("a horse neighs",
"snare drum hit"), not file names.

Rules are regular expressions searched in the lower-cased hint with camelCase, ``_`` and
``-`` turned into spaces; order matters (``ride bell`` must win over ``bell``). A rule may be
limited to a domain: the drum words (``kick``, ``hat``, ``stick``) mean something else in a
game's sound folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# what the renderer shows for a category (see v2a.data.render)
IMPACT = "impact"  # short hits: something strikes, bounces, is struck
CALL = "call"  # voices, animal calls, tonal events: the source pulses / shakes while sounding
AMBIENCE = "ambience"  # continuous textures: a static or slowly drifting scene, no events


@dataclass(frozen=True)
class Category:
    name: str
    patterns: tuple[str, ...]
    captions: tuple[str, ...]
    kind: str = IMPACT
    domains: frozenset[str] = field(default_factory=lambda: frozenset({"any"}))


def _c(name, patterns, captions, kind=IMPACT, domains=("any",)):
    return Category(name, tuple(patterns), tuple(captions), kind, frozenset(domains))


PERCUSSION = ("percussion",)
EFFECTS = ("effects", "any")

# Ordered: the first match wins. Percussion rules first, only for drum kits.
CATEGORIES: tuple[Category, ...] = (
    # --- drum kits and hand percussion -------------------------------------------------------
    _c("cowbell", [r"cow ?bell", r"\bagogo"], ["cowbell", "a cowbell hit", "someone strikes a cowbell"], domains=PERCUSSION),
    _c("ride_cymbal", [r"\bride\b", r"\bride bell", r"\bbell\b"], ["ride cymbal", "a ride cymbal ping", "ride cymbal hit"], domains=PERCUSSION),
    _c("crash_cymbal", [r"\bcrash", r"\bchina\b", r"\bsplash\b", r"\bcymbal"], ["crash cymbal", "a cymbal crash", "cymbal hit"], domains=PERCUSSION),
    _c("hi_hat", [r"\bhi ?hat", r"\bhh\b", r"\bhats?\b", r"\bohh\b"], ["hi-hat", "hi-hat hit", "a hi-hat cymbal ticks"], domains=PERCUSSION),
    _c("rimshot", [r"rim ?shot", r"\brim\b", r"side stick", r"\bstick\b", r"\bclick\b"], ["rim shot", "a stick clicks on the drum rim", "side stick on a snare drum"], domains=PERCUSSION),
    _c("snare_drum", [r"\bsnare"], ["snare drum hit", "a snare drum", "a sharp snare drum crack"], domains=PERCUSSION),
    _c("kick_drum", [r"\bkick", r"bass ?drum", r"\bbd\b"], ["kick drum", "a bass drum thump", "kick drum hit"], domains=PERCUSSION),
    _c("tom_drum", [r"\btom"], ["tom drum hit", "a tom-tom", "a low drum hit"], domains=PERCUSSION),
    _c("hand_clap", [r"\bclap"], ["hand clap", "someone claps", "a single clap"], domains=PERCUSSION),
    _c("finger_snap", [r"\bsnap"], ["finger snap", "fingers snapping", "someone snaps their fingers"], domains=PERCUSSION),
    _c("tambourine", [r"tambourine"], ["tambourine", "a tambourine jingles", "tambourine hit"], domains=PERCUSSION),
    _c("shaker", [r"maraca", r"shaker"], ["maracas", "a shaker rattles", "maracas shaking"], domains=PERCUSSION),
    _c("hand_drum", [r"bongo", r"conga", r"djembe", r"cajon", r"sangban", r"dununba", r"kenkeni", r"\bdrum\b"],
       ["a hand drum", "someone slaps a hand drum", "bongo drum hit", "djembe slap"], domains=PERCUSSION),
    _c("wood_block", [r"wood ?block", r"\bclave"], ["wood block", "a wooden knock", "claves clicking"], domains=PERCUSSION),
    _c("glass_clink", [r"water ?glass", r"\bglass"], ["glass clink", "a glass is tapped", "clinking glass"], domains=("percussion", "any")),
    _c("electronic_zap", [r"\bzap", r"\bfx\b"], ["an electronic zap", "a synth blip", "electronic sound effect"], domains=PERCUSSION),
    # --- animals --------------------------------------------------------------------------------
    _c("hooves", [r"\bmstep", r"\bcanter", r"\bgallop", r"camel movement", r"movement camel", r"horseman walk"], ["hooves clopping", "a horse trotting", "hoofbeats"], AMBIENCE),
    _c("horse", [r"\bhorse", r"\bneigh", r"\bzebra", r"\bdonkey"], ["a horse neighs", "horse whinnying", "a horse snorts"], CALL),
    _c("cattle", [r"\bcattle", r"\bcows?\b", r"\bbull\b", r"\bbison", r"\bmoo"], ["a cow moos", "cattle mooing", "a cow lowing"], CALL),
    _c("sheep_goat", [r"\bsheep", r"\bgoat", r"\blamb\b", r"\bram\b(?! attack| move)", r"bleat"], ["a sheep bleats", "a goat bleating", "sheep baaing"], CALL),
    _c("pig", [r"\bpig\b", r"\bpigs\b", r"\bboar\b", r"\btusker", r"oink", r"squeal"], ["a pig grunts", "a pig squeals", "pigs oinking"], CALL),
    _c("chicken", [r"\bchicken", r"\bhen\b", r"\brooster", r"\bturkey"], ["a chicken clucks", "a rooster crows", "chickens clucking"], CALL),
    _c("duck_goose", [r"\bduck", r"\bdrake\b(?! die| hit)", r"\bgander", r"\bgoose"], ["a duck quacks", "a goose honks", "ducks quacking"], CALL),
    _c("camel", [r"\bcamel", r"\bdromedary"], ["a camel groans", "a camel grunting", "a camel"], CALL),
    _c("elephant", [r"\belephant"], ["an elephant trumpets", "elephant trumpeting", "an elephant roars"], CALL),
    _c("big_cat", [r"\blion", r"\btiger"], ["a lion roars", "a big cat growls", "roaring lion"], CALL),
    _c("wolf_dog", [r"\bwolf", r"\bdogs?\b", r"\bfox\b", r"\bbark", r"\bhowl"], ["a dog barks", "a wolf growls", "a wolf howling"], CALL),
    _c("bird", [r"\bbirds?\b", r"blackbird", r"\bcrow\b", r"cuckoo", r"\blark\b", r"\bowl\b", r"seagull", r"quetzal",
                r"tucan", r"toucan", r"vulture", r"penguin", r"\bhawk", r"\beagle\b", r"nandou", r"heron", r"flamingo", r"peacock", r"gryphon"],
       ["a bird chirps", "birdsong", "a bird calls", "birds singing"], CALL),
    _c("insect", [r"\bbee\b", r"hornet", r"mosquito", r"grasshopper", r"xanthia", r"\binsects?\b", r"\bfly\b"],
       ["insects buzzing", "a bee buzzes", "a buzzing insect"], AMBIENCE),
    _c("frog", [r"\bfrog", r"\btoad"], ["a frog croaks", "frogs croaking", "croaking frog"], CALL),
    _c("animal_call", [r"apes", r"chimp", r"gorilla", r"dolphin", r"orca", r"sea lion", r"whale", r"badger", r"\bbear\b",
                       r"caribou", r"\bdeer\b", r"\bdoe\b", r"ferret", r"giraffe", r"hippopotamus", r"beaver", r"mouse",
                       r"rabbit", r"squirrel", r"koala", r"wombat", r"iguana", r"\bbat\b", r"blackcat", r"\bcat\b",
                       r"animal death", r"\bspider"],
       ["an animal call", "a wild animal cries out", "an animal noise"], CALL),
    # --- people ---------------------------------------------------------------------------------
    _c("footsteps", [r"foo?r?tstep", r"\bhstep", r"\bfs\b", r"\bsteps?\b", r"\bwalk"], ["footsteps", "someone walking", "footsteps on the ground"]),
    _c("human_pain", [r"human (old |female )?(die|hit)", r"human death", r"(fe)?male death", r"dwarf (die|hit)", r"elf hit",
                      r"\bgroan", r"\bugg\b", r"\bwail", r"death death"],
       ["a man groans in pain", "a person cries out", "a pained grunt", "a scream"], CALL),
    _c("laughter", [r"laugh"], ["someone laughs", "evil laughter", "a cackle"], CALL),
    _c("monster_growl", [r"\b(ogre|troll|orc|goblin|zombie|ghoul|lich|skeleton|yeti|wose|naga|mermaid|mermen|drake|hiss)\b"],
       ["a monster growls", "a creature snarls", "a growling beast"], CALL),
    # --- weapons and impacts ----------------------------------------------------------------------
    _c("sword_clash", [r"sword ?hit", r"shield metal", r"\bsword\b(?! attack)", r"\bsword \d", r"\bblade"],
       ["swords clashing", "a sword strikes metal", "clanging blades"]),
    _c("sword_swing", [r"sword attack", r"\bswish", r"\bmiss\b", r"\bdagger", r"\bknife", r"throwing knife", r"\bclaws?\b"],
       ["a sword swishes through the air", "a whoosh", "a blade swing"]),
    _c("arrow_impact", [r"impact arrow", r"arrow hit", r"arrow (dirt|metal|stone|wood)"], ["an arrow hits a target", "an arrow thuds into wood", "arrow impact"]),
    _c("bow_shot", [r"\bbow\b", r"\bcrossbow", r"arrow ?fly", r"bow attack", r"\bdart\b"], ["a bow shoots an arrow", "an arrow whizzes by", "twang of a bowstring"]),
    _c("spear_throw", [r"\bjav", r"\bspear", r"\bpike", r"\bthrow", r"\bsling\b(?! metal| stone| wood)", r"sling attack", r"\bnet\b"],
       ["a spear is thrown", "a whoosh of a thrown weapon", "something flies through the air"]),
    _c("stone_impact", [r"sling (metal|stone|wood)", r"siege ?projectile ?hit", r"\brock\b", r"cave in"], ["a stone hits hard", "a rock impact", "a heavy thud"]),
    _c("shield_block", [r"shield wood", r"\bclub\b", r"\bmace\b", r"\bflail", r"\bstaff\b", r"\bfist\b", r"\bbat hit"],
       ["a heavy blow lands", "a club hits a shield", "a wooden thud"]),
    _c("flesh_hit", [r"flesh ?(imp|stab)", r"\bbite", r"squishy", r"pincers", r"\btail\b"], ["a punch lands", "a fleshy hit", "a stab"]),
    _c("gunshot", [r"musket", r"gunshot", r"thunderstick", r"dragonstick", r"\bgun\b"], ["a gunshot", "a musket fires", "a gun goes off"]),
    _c("siege_engine", [r"ballist", r"onager", r"catapult", r"\bram attack", r"\bram move", r"siege"], ["a catapult launches", "a wooden siege engine creaks", "a battering ram"]),
    _c("explosion", [r"explo", r"\bblast", r"fireworks", r"\bboom"], ["an explosion", "a loud blast", "something explodes"]),
    _c("collapse", [r"collapse", r"building fall", r"\bdebris", r"crumble", r"\brumble"], ["a building collapses", "rubble crashing down", "a wall crumbles"]),
    # --- work and tools ------------------------------------------------------------------------
    _c("axe_chop", [r"lumber", r"harvest wood", r"\baxe\b", r"hatchet", r"chop", r"tree expire"], ["an axe chops wood", "wood chopping", "chopping a tree"]),
    _c("saw", [r"\bsaw\b", r"con saw"], ["a saw cutting wood", "sawing", "a hand saw"]),
    _c("pickaxe", [r"\bmine\b", r"mining", r"pick ?axe", r"con stone"], ["a pickaxe strikes rock", "mining stone", "chiselling stone"]),
    _c("hammer", [r"hammer", r"\banvil", r"mallet", r"con wood", r"\bforge", r"technician build", r"worker build"], ["hammering", "a hammer strikes", "hammering a nail"]),
    _c("digging", [r"\bhoe\b", r"\bdig", r"gather field", r"farming"], ["digging soil", "a hoe scrapes the ground", "harvesting crops"]),
    _c("rustling", [r"leaves", r"foraging", r"gather fruit", r"rustl"], ["leaves rustling", "rustling bushes", "picking through leaves"]),
    _c("squelch", [r"gather meat", r"\bmeat\b", r"squelch", r"\bmud\b"], ["a wet squelch", "butchering meat", "squishy sounds"]),
    _c("door", [r"\bgate\b", r"\bdoor", r"chest", r"stonegate"], ["a heavy door opens", "a gate creaks", "a door closing"]),
    _c("coins", [r"\bgold\b", r"\bcoins?\b", r"\bpenny", r"\bdime"], ["coins jingling", "clinking coins", "money rattling"]),
    # --- nature and places ---------------------------------------------------------------------
    _c("fire", [r"\bfire\b(?!truck)", r"\bflame", r"\btorch", r"campfire", r"attack fire", r"\bfuse\b", r"melee fire", r"\bburn"],
       ["fire crackling", "a crackling fire", "flames burning"], AMBIENCE),
    _c("thunder", [r"thunder\b", r"lightning"], ["thunder", "a thunderclap", "lightning strikes"]),
    _c("rain", [r"\brain\b", r"raindrop"], ["rain falling", "heavy rain", "rain pattering"], AMBIENCE),
    _c("wind", [r"\bwind\b(?! attention| question)", r"\bwind ?(gust|leaves|storm)", r"snowstorm", r"\bstorm"], ["wind blowing", "a strong wind howls", "gusts of wind"], AMBIENCE),
    _c("sea_waves", [r"\bwaves?\b", r"wave ?crash", r"wave ?rocky", r"seashore", r"\bsurf\b"], ["waves crashing", "sea waves on the shore", "ocean surf"], AMBIENCE),
    _c("water_stream", [r"\briver", r"waterfall", r"\bstream\b", r"\bwater\b", r"water blast"], ["a flowing river", "running water", "a babbling stream"], AMBIENCE),
    _c("ship", [r"\bship\b", r"\bsmove\b", r"warship", r"\bboat", r"\boar"], ["a wooden ship creaks", "oars splashing", "a ship at sea"], AMBIENCE),
    _c("nature_ambience", [r"dayscape", r"day temperate", r"day tropical", r"\bmorning\b", r"\bnight\b", r"\bnighti?me\b", r"\bday\b", r"sunny"], ["countryside ambience", "birds and insects outdoors", "a quiet day in nature"], AMBIENCE),
    _c("town_ambience", [r"amb (farm|port|trade)", r"\bmarket", r"\btown\b"], ["a busy village", "market chatter", "a bustling town"], AMBIENCE),
    _c("war_drums", [r"war ?drums"], ["war drums", "pounding drums", "drums beating"], AMBIENCE),
    # --- objects, instruments, signals ---------------------------------------------------------
    _c("magic", [r"\bmagic", r"\bheal", r"\bspell", r"faerie", r"\bholy", r"petrified", r"\bslowed", r"poison", r"entangle",
                 r"\bink\b", r"summon", r"\bpotion", r"\bglob\b", r"wail"],
       ["a magical shimmer", "a spell is cast", "a sparkling magic sound"], CALL),
    _c("horn", [r"\bhorn\b", r"horn signals", r"fanfare", r"trumpet", r"bassoon"], ["a horn blows", "a trumpet fanfare", "a horn call"], CALL),
    _c("string_instrument", [r"\bcello", r"violin", r"guitar"], ["a violin plays", "a bowed string", "a cello note"], CALL),
    _c("bell", [r"\bbell\b", r"\bchime", r"\bdreydl", r"complete"], ["a bell rings", "a ringing bell", "a chime"], CALL),
    _c("camera_shutter", [r"camera"], ["a camera shutter clicks", "a camera click", "taking a photo"]),
    _c("siren", [r"fire ?truck", r"siren", r"emergency"], ["a siren wails", "a fire engine siren", "an emergency siren"], CALL),
    _c("household_appliance", [r"washing machine", r"vacuum", r"kettle", r"toilet"], ["a household appliance runs", "a machine humming", "a toilet flushing"], AMBIENCE),
    _c("rocket", [r"apollo", r"rocket", r"lander", r"bathyscape"], ["a rocket engine roars", "a rumbling engine", "machinery hums"], AMBIENCE),
    _c("squeak_toy", [r"rubber ?duck", r"squeak"], ["a squeaky toy", "a rubber duck squeaks", "squeak"]),
    _c("scissors", [r"scissors"], ["scissors snipping", "cutting with scissors", "a snip"]),
    _c("glass_bottle", [r"\bbottle", r"\bglass\b", r"hard candy", r"apple"], ["a glass bottle clinks", "a crunchy bite", "clinking glass"]),
    _c("ui_sound", [r"\bclick", r"\bbutton", r"\bcheckbox", r"\bslider", r"\bselect\b", r"\bchat\b", r"\bbeep", r"\bmessage",
                    r"dialog", r"\bdevice", r"\blogin", r"\blogout", r"\bjoin\b", r"\bleave\b", r"\breceive", r"\barrive",
                    r"\bexpand", r"\bcontract", r"\btimer", r"\bgift\b", r"trash", r"alarm", r"phone", r"suspend", r"attention",
                    r"highlight", r"sonar", r"\bcomplete\b", r"volume change", r"gamestart", r"santahat", r"ghost",
                    r"checkered", r"roll call", r"u ?turn", r"\bxing", r"window", r"network", r"power ?(un)?plug", r"screen capture"],
       ["a notification chime", "a computer beep", "an interface click"], CALL),
)

CATEGORY_BY_NAME = {c.name: c for c in CATEGORIES}


def normalise_hint(text: str) -> str:
    """Lower-case words separated by single spaces; camelCase and digits split off."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])(\d)", r"\1 \2", text)
    text = re.sub(r"[^A-Za-z0-9]+", " ", text).lower()
    return " ".join(text.split())


def categorize(hint: str, domain: str = "effects") -> Category | None:
    """The first category whose pattern occurs in ``hint``, or None when nothing fits.

    ``domain`` selects the domain-limited rules ("percussion" for drum kits); rules marked
    "any" always apply.
    """
    text = normalise_hint(hint)
    for category in CATEGORIES:
        if "any" not in category.domains and domain not in category.domains:
            continue
        if any(re.search(p, text) for p in category.patterns):
            return category
    return None


def specific_caption(name: str) -> str:
    """A readable caption from a free-text label: "Tom Low (Tama 16\")" -> "tom low"."""
    name = re.sub(r"\(.*?\)", " ", name)
    name = normalise_hint(name)
    name = re.sub(r"\b\d+\b", " ", name)  # take numbers ("kick 2") are not part of what it sounds like
    return " ".join(name.split())


def captions_for(category: Category, specific: str | None = None) -> list[str]:
    """The clip's own caption (when there is one) followed by the category phrasings."""
    out = []
    if specific:
        s = specific.strip().rstrip(".").strip()
        if s and s.lower() not in (c.lower() for c in category.captions):
            first = s.split()[0]
            # "A badger" -> "a badger", but keep acronyms ("UFO lands")
            out.append(s if len(first) > 1 and first.isupper() else s[0].lower() + s[1:])
    out.extend(category.captions)
    return out
