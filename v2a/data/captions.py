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

Categories are the lower level of a two-level taxonomy: each belongs to one of about twenty
families (:data:`FAMILIES`: animals, birds, footsteps, weapons, ...), recorded in the manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

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
    family: str = ""  # the upper level of the taxonomy (FAMILIES), set from FAMILIES below


def _c(name, patterns, captions, kind=IMPACT, domains=("any",)):
    return Category(name, tuple(patterns), tuple(captions), kind, frozenset(domains))


def _steps(surface: str) -> list[str]:
    """Patterns for footsteps on a surface: "gravel footstep", "footsteps snow", "step hard"."""
    return [rf"\b({surface}) ?(foot ?)?steps?\b", rf"\b(foot ?)?steps? ({surface})\b"]


PERCUSSION = ("percussion",)

# Ordered: the first match wins. Percussion rules first, only for drum kits.
CATEGORIES: tuple[Category, ...] = (
    # --- drum kits and hand percussion -------------------------------------------------------
    _c("cowbell", [r"cow ?bell", r"\bagogo"], ["cowbell", "a cowbell hit", "someone strikes a cowbell"], domains=PERCUSSION),
    _c("ride_cymbal", [r"\bride\b", r"\bride bell", r"\bbell\b"], ["ride cymbal", "a ride cymbal ping", "ride cymbal hit"], domains=PERCUSSION),
    _c("crash_cymbal", [r"\bcrash", r"\bchina\b", r"\bsplash\b", r"\bcymbal"], ["crash cymbal", "a cymbal crash", "cymbal hit"], domains=PERCUSSION),
    _c("hi_hat", [r"\bhi ?hat", r"\bhh\b", r"\bhats?\b", r"\bohh\b"], ["hi-hat", "hi-hat hit", "a hi-hat cymbal ticks"], domains=PERCUSSION),
    _c("rimshot", [r"rim ?shot", r"\brim\b", r"side ?stick", r"\bstick\b", r"\bclick\b"], ["rim shot", "a stick clicks on the drum rim", "side stick on a snare drum"], domains=PERCUSSION),
    _c("snare_drum", [r"\bsnare", r"\bsn\b"], ["snare drum hit", "a snare drum", "a sharp snare drum crack"], domains=PERCUSSION),
    _c("kick_drum", [r"\bkick", r"bass ?drum", r"\bbd\b"], ["kick drum", "a bass drum thump", "kick drum hit"], domains=PERCUSSION),
    _c("tom_drum", [r"\btom"], ["tom drum hit", "a tom-tom", "a low drum hit"], domains=PERCUSSION),
    _c("hand_clap", [r"\bclap"], ["hand clap", "someone claps", "a single clap"], domains=PERCUSSION),
    _c("finger_snap", [r"\bsnap"], ["finger snap", "fingers snapping", "someone snaps their fingers"], domains=PERCUSSION),
    _c("tambourine", [r"tambourine"], ["tambourine", "a tambourine jingles", "tambourine hit"], domains=("percussion", "any")),
    _c("shaker", [r"maraca", r"shaker"], ["maracas", "a shaker rattles", "maracas shaking"], domains=("percussion", "any")),
    _c("hand_drum", [r"bongo", r"conga", r"djembe", r"cajon", r"sangban", r"dununba", r"kenkeni", r"\bdrum\b"],
       ["a hand drum", "someone slaps a hand drum", "bongo drum hit", "djembe slap"], domains=PERCUSSION),
    _c("wood_block", [r"wood ?block", r"\bclave", r"\bclav\b"], ["wood block", "a wooden knock", "claves clicking"], domains=PERCUSSION),
    _c("glass_clink", [r"water ?glass", r"^(?!.*(break|shatter|door|foot ?step)).*\bglass"], ["glass clink", "a glass is tapped", "clinking glass"], domains=("percussion", "any")),
    _c("electronic_zap", [r"\bzap", r"\bfx\b"], ["an electronic zap", "a synth blip", "electronic sound effect"], domains=PERCUSSION),
    _c("drum_loop", [r"\bbeat\b", r"breakbeat", r"\bbreak \d", r"jungle", r"\bamen\b", r"drum ?loop", r"loop (perc|tabla)", r"house loop"],
       ["a drum loop", "a drum beat", "a breakbeat plays"], domains=PERCUSSION),
    # --- specific sounds ------------------------------------------------------------------------
    # Finer categories added with the game-data sources (qabcs, triplea, OpenClonk, Minetest,
    # UFO:AI, Red Eclipse, ...). They come before the broad rules below, which catch the rest.
    # footsteps by surface: "default_gravel_footstep", "footsteps/snow3", "StepHard2"
    _c("footsteps_grass", _steps(r"grass|leaves"), ["footsteps on grass", "someone walks through grass", "walking on grass"]),
    _c("footsteps_gravel", _steps(r"gravel"), ["footsteps on gravel", "gravel crunching underfoot", "walking on gravel"]),
    _c("footsteps_dirt", _steps(r"dirt|earth|soil"), ["footsteps on dirt", "walking on a dirt path", "footsteps on soft earth"]),
    _c("footsteps_sand", _steps(r"sand"), ["footsteps in sand", "walking on sand", "feet crunching through sand"]),
    _c("footsteps_snow", _steps(r"snow"), ["footsteps in snow", "snow crunching underfoot", "walking through snow"]),
    _c("footsteps_wood", _steps(r"wood(en)?"), ["footsteps on a wooden floor", "walking on wooden boards", "steps on creaky floorboards"]),
    _c("footsteps_metal", _steps(r"metal|clank|steel") + [r"\bclank \d"], ["footsteps on metal", "boots clanging on a metal floor", "walking on a metal grate"]),
    _c("footsteps_stone", _steps(r"stone|hard|concrete|tile|linoleum|marble") + [r"\bconc ?step"], ["footsteps on stone", "hard shoes on a tiled floor", "walking on concrete"]),
    _c("footsteps_water", _steps(r"water|splash|puddle"), ["splashing footsteps", "walking through water", "wading through puddles"]),
    _c("footsteps_ice", _steps(r"ice"), ["footsteps on ice", "walking on ice", "steps on a frozen surface"]),
    _c("footsteps_carpet", _steps(r"carpet|rug"), ["footsteps on carpet", "soft footsteps on a rug", "walking on a carpet"]),
    _c("marching", [r"\bmarch(ing)?\b", r"boots landing"], ["soldiers marching", "marching boots", "troops march in step"]),
    _c("body_fall", [r"player land", r"rustle land", r"footsteps hit ?ground", r"body ?fall"],
       ["something lands with a thud", "a body falls to the ground", "a heavy landing"]),
    # animals and birds
    _c("cat", [r"\bcats?\b", r"blackcat", r"kitten", r"\bmeow", r"\bpurr"], ["a cat meows", "cat meowing", "meow", "a cat purrs"], CALL),
    _c("monkey", [r"monkey", r"\bapes?\b", r"chimp", r"gorilla", r"baboon"], ["a monkey screeches", "monkeys chattering", "a chimpanzee hoots"], CALL),
    _c("bear", [r"\bbears?\b", r"\bpanda"], ["a bear growls", "a roaring bear", "a bear grunts"], CALL),
    _c("whale_dolphin", [r"whale", r"dolphin", r"\borca"], ["a whale sings", "dolphins clicking and whistling", "whale song"], CALL),
    _c("rodent", [r"mouse", r"\bmice\b", r"\brats?\b", r"hamster", r"squirrel", r"chinchilla", r"jerboa", r"guinea pig", r"beaver",
                  r"porcupine", r"hedgehog", r"ferret"], ["a mouse squeaks", "a small rodent squeaking", "squeaking mice"], CALL),
    _c("deer", [r"\bdeer\b", r"\bstag\b", r"\bmoose", r"\belk\b", r"caribou", r"reindeer", r"\bdoe\b"], ["a deer bellows", "a stag roars", "a moose calls"], CALL),
    _c("bat", [r"\bbats?\b(?! hit)"], ["a bat squeaks", "bats fluttering", "bat wings flapping"], CALL),
    _c("snake", [r"snake", r"python", r"\bcobra", r"\bviper"], ["a snake hisses", "a hissing snake", "a rattlesnake rattles"], CALL),
    _c("hyena", [r"hyena"], ["a hyena laughs", "hyenas cackling", "a hyena whoops"], CALL),
    _c("seal", [r"\bseals?\b", r"sea lion", r"walrus"], ["a seal barks", "sea lions barking", "a walrus grunts"], CALL),
    _c("rhino_hippo", [r"rhino", r"hippo"], ["a rhinoceros snorts", "a hippo grunts", "a large animal bellows"], CALL),
    _c("crickets", [r"cricket", r"cicada", r"cycada", r"grasshopper"], ["crickets chirping", "cicadas buzzing", "crickets at night"], AMBIENCE),
    _c("bee", [r"\bbees?\b", r"hornet", r"\bwasps?\b", r"bumble"], ["a bee buzzes", "bees buzzing", "a buzzing bee"], AMBIENCE),
    _c("owl", [r"\bowls?\b", r"\bhoot"], ["an owl hoots", "owl hooting", "an owl calls at night"], CALL),
    _c("crow", [r"\bcrows?\b", r"raven", r"\brooks?\b", r"magpie", r"\bcaw"], ["a crow caws", "crows cawing", "a raven croaks"], CALL),
    _c("seagull", [r"seagull", r"\bgulls?\b", r"albatross", r"pelican", r"\bbooby\b"], ["seagulls cry", "a gull squawks", "seabirds calling"], CALL),
    _c("bird_of_prey", [r"\bhawks?\b", r"\beagle\b", r"falcon", r"vulture", r"buzzard"], ["a hawk screeches", "an eagle cries", "a bird of prey calls"], CALL),
    _c("waterbird", [r"heron", r"\bstorks?\b", r"flamingo", r"\bswans?\b", r"adjutant"], ["a heron calls", "a stork clatters its bill", "wading birds calling"], CALL),
    _c("game_bird", [r"pheasant", r"quail", r"grouse", r"guinea ?fowl", r"partridge", r"\bemu\b", r"peacock"],
       ["a pheasant calls", "a quail calls", "a game bird clucks"], CALL),
    _c("parrot", [r"parrot", r"toucan", r"tucan", r"macaw", r"cockatoo", r"quetzal", r"exotic birds?"], ["a parrot squawks", "tropical birds calling", "a parrot screeching"], CALL),
    _c("songbird", [r"sparrow", r"blackbird", r"canary", r"\blark\b", r"nightingale", r"robin", r"finch", r"warbler", r"\biora\b", r"thrush"],
       ["a songbird sings", "a small bird chirps", "a sparrow chirps"], CALL),
    _c("cuckoo", [r"cuckoo", r"zozulka"], ["a cuckoo calls", "cuckoo cuckoo", "a cuckoo bird"], CALL),
    _c("pigeon", [r"pigeon", r"\bdoves?\b"], ["a pigeon coos", "pigeons cooing", "a cooing dove"], CALL),
    _c("bird_wings", [r"flutter", r"wings? flap", r"flapping"], ["wings flapping", "a bird flutters away", "flapping wings"]),
    _c("dawn_chorus", [r"birds ?loop", r"birdsong", r"bird ?chorus"], ["birds singing in a forest", "a dawn chorus", "many birds chirping"], AMBIENCE),
    _c("eating", [r"munch", r"\bchew", r"\beat(ing)?\b", r"\bgulp", r"crunch", r"\bmeal\b", r"\bration\b"], ["someone eating", "munching and chewing", "crunchy chewing"]),
    _c("creature", [r"\b(mooq|puka|wipf|ortnok|shevaar|taman|bloodspider|chippie|hovernet)\b"], ["a creature growls", "a strange animal cries", "a beast snorts"], CALL),
    # people
    _c("scream", [r"scream", r"shriek"], ["a person screams", "a loud scream", "someone shrieks"], CALL),
    _c("cheering", [r"cheer", r"sports ?cro?u?wd", r"raving crowd", r"hooray", r"goal scored"], ["a crowd cheers", "people cheering", "cheering and applause"], AMBIENCE),
    _c("crying", [r"\bcry(ing)?\b", r"\bweep", r"\bsob", r"\bwhine", r"whimper"], ["someone crying", "sobbing", "a whimper"], CALL),
    _c("grunt", [r"\bgrunt", r"\bugh\b", r"player jump", r"\beffort"], ["a grunt of effort", "a short grunt", "someone grunts"], CALL),
    _c("heartbeat", [r"heart ?beat"], ["a heartbeat", "a heart thumping", "a pounding heartbeat"]),
    _c("gasp", [r"\bgasp", r"\bshock \d"], ["a gasp", "someone gasps in shock", "a sharp intake of breath"], CALL),
    _c("burp", [r"\bburp", r"belch"], ["a loud burp", "someone burps", "a belch"], CALL),
    _c("slap", [r"\bslap"], ["a slap", "a hand slaps", "a sharp slap"]),
    _c("children", [r"school", r"playground", r"children"], ["children playing", "kids shouting in a schoolyard", "a playground"], AMBIENCE),
    # weapons, explosions and fire ("reload-shotgun" is a reload, not a shot)
    _c("gun_reload", [r"reload", r"\bcock(ing)?\b", r"grenade pin", r"get arrow"], ["a gun is reloaded", "a weapon reloading click", "loading a magazine"]),
    _c("machine_gun", [r"machine ?gun", r"chain ?gun", r"\bsmg\b", r"\bmg(bar|tower|heavy)?\b", r"\bhmg\b", r"vulcan", r"minigun", r"asltmg",
                       r"strafing"], ["a machine gun fires", "rapid gunfire", "automatic weapon fire"]),
    _c("shotgun", [r"shotgun"], ["a shotgun blast", "a shotgun fires", "a loud shotgun shot"]),
    _c("cannon", [r"cannon", r"artillery", r"howitzer", r"hwtz", r"bombard", r"\b(lrg|med|sml|rapd|hivel)can\b", r"battleship volley"],
       ["a cannon fires", "a cannon booms", "artillery fire"]),
    _c("laser_gun", [r"\blaser", r"\bplasma", r"blaster", r"zapper", r"\bgauss", r"railgun", r"lsr\b", r"\bptl\b", r"\bbzap", r"\bbfg\b"],
       ["a laser gun fires", "a sci-fi blaster shot", "a laser zap"]),
    _c("ricochet", [r"ricochet", r"richet", r"\bwhizz", r"bullet ?(body ?)?(impact|hit)", r"\btink\b"], ["a bullet ricochets", "a bullet whizzes past", "a ricochet ping"]),
    _c("missile", [r"missile", r"torpedo", r"rockets? launch", r"grenade ?launcher", r"rocket (human|plasma)", r"boompack"], ["a missile launches", "a rocket whooshes away", "a torpedo is fired"]),
    _c("shell_casing", [r"\bshells?\b", r"casings?\b"], ["shell casings clink on the floor", "a brass casing drops", "spent shells tinkling"]),
    _c("flamethrower", [r"flame ?thrower", r"flmthrow", r"\bflamer"], ["a flamethrower roars", "a jet of fire", "a flamethrower spews flames"], AMBIENCE),
    _c("fireworks", [r"firework", r"cracker"], ["fireworks bang", "fireworks crackle", "fireworks exploding in the sky"]),
    _c("distant_explosion", [r"distant explosions?", r"echoing distant", r"falling bombs?", r"bomb ?falling", r"bombing", r"air ?strike"],
       ["distant explosions", "bombs exploding far away", "rumbling distant blasts"]),
    _c("battle_ambience", [r"medieval chaos", r"\bfighting\b", r"massacre", r"infantry", r"cavalry", r"\bwar\b(?! ?(drum|horn))"],
       ["the sounds of battle", "soldiers fighting", "a chaotic battlefield"], AMBIENCE),
    _c("fuse", [r"\bfuse", r"gunpowder burning"], ["a burning fuse hisses", "a lit fuse fizzing", "a fuse sputters"], AMBIENCE),
    _c("ignite", [r"ignit", r"inflame", r"flint", r"\bmatch strike", r"lighter"], ["something catches fire with a whoosh", "a fire ignites", "striking a match"]),
    _c("furnace", [r"furnace", r"freroar", r"fire ?roar"], ["a furnace roars", "a roaring furnace", "flames roaring in a furnace"], AMBIENCE),
    _c("lava", [r"\blava(?! cool)", r"magma"], ["bubbling lava", "molten lava gurgles", "a lava flow rumbles"], AMBIENCE),
    _c("sizzle", [r"sizzl", r"extinguish", r"fizzle", r"cool lava", r"pshsh"], ["a hot sizzle", "fire being put out with a hiss", "sizzling"]),
    # water
    _c("waterfall", [r"waterfall", r"water ?fall"], ["a waterfall roars", "water cascading down", "a rushing waterfall"], AMBIENCE),
    _c("splash", [r"\bsplash", r"\bsplosh", r"water ?(bullet )?impact", r"water (in|out)\b", r"plunge"], ["a splash", "something splashes into water", "water splashing"]),
    _c("water_drip", [r"\bdrips?\b", r"dripping", r"water ?drop", r"cave ?drip"], ["water dripping", "drops of water falling", "a dripping tap"]),
    _c("underwater", [r"underwater", r"water under", r"\bdiving loop"], ["underwater sounds", "muffled bubbling underwater", "diving underwater"], AMBIENCE),
    _c("swimming", [r"\bswim"], ["someone swimming", "splashing strokes in water", "swimming"]),
    _c("boiling", [r"\bboil", r"bubbling"], ["water boiling", "a pot boiling", "boiling liquid bubbles"], AMBIENCE),
    _c("earthquake", [r"earthquake", r"tremor"], ["an earthquake rumbles", "the ground shakes and rumbles", "a deep earthquake rumble"], AMBIENCE),
    # impacts
    _c("glass_break", [r"break ?glass", r"glass ?(break|shatter|smash)", r"shatter"], ["glass shatters", "a window breaks", "breaking glass"]),
    _c("wood_break", [r"break ?wood", r"wood ?(break|crack|splinter)", r"splinter", r"tree crack"], ["wood splinters", "wood cracking", "a wooden plank breaks"]),
    _c("metal_hit", [r"metal ?(hit|clang|impact)", r"\bclang", r"break ?metal", r"(dug|dig) metal", r"bucket hit", r"(iron|gold) ?ping",
                     r"place node metal", r"falling tools"], ["a metal clang", "metal striking metal", "a clanging metal hit"]),
    _c("wood_hit", [r"wood ?(hit|impact|knock)", r"tree hit", r"\bthwack", r"\bknock"], ["a wooden knock", "wood striking wood", "a hollow wooden thud"]),
    _c("skateboard", [r"skateboard", r"roller ?skate", r"ice ?skate"], ["a skateboard rolls", "skateboard wheels on pavement", "skating"]),
    _c("sliding", [r"(snow|ice|mud|grass|rock|leaves) ?slide", r"\bsled\b", r"toboggan"], ["sliding over snow", "a sled slides downhill", "something slides along the ground"], AMBIENCE),
    _c("ice_crack", [r"\bice\b", r"\bice(crash|block)"], ["ice cracking", "ice chunks clinking", "cracking ice"]),
    _c("rockfall", [r"rock ?fall", r"landslide", r"rubble", r"falling rocks?"], ["rocks tumbling down", "a rockfall", "stones crashing down a slope"]),
    _c("bounce", [r"\bbounce", r"rubber ball", r"\bboing"], ["a ball bounces", "something bounces", "a bouncing ball"]),
    _c("thud", [r"\bthud", r"general hit", r"soft (hit|touch)", r"organic hit", r"object falling", r"perc impact", r"place node", r"dug node", r"item drop", r"dig (crumbly|snappy)",
                r"\bdug\b", r"\bdig\b \d"], ["a dull thud", "something heavy hits the ground", "a soft thump"]),
    _c("tree_fall", [r"tree ?fall", r"tree landing", r"falling tree"], ["a tree falls with a crash", "a falling tree", "a tree crashes down"]),
    _c("whoosh", [r"swoosh", r"whoosh", r"\bwoosh", r"\bswash", r"weapon swing", r"\bgust\b"], ["a whoosh", "something swishes through the air", "a fast whoosh"]),
    _c("sports", [r"\bkick\b", r"football", r"volleyball", r"hockey", r"basketball", r"tennis"], ["a ball is kicked", "a ball game", "a puck hit with a stick"]),
    _c("bowling", [r"bowling"], ["a bowling ball rolls", "bowling pins crash", "a strike at the bowling alley"]),
    # tools
    _c("stone_cutting", [r"stone ?(cutter|mason|cutting|grind)", r"chisel", r"dig cracky"], ["a chisel chipping stone", "cutting stone", "a stonemason at work"]),
    _c("grinding", [r"sharpen", r"grind", r"whetstone"], ["a blade is sharpened on a grindstone", "metal grinding", "a grinding wheel"]),
    _c("scythe", [r"scythe", r"sickle", r"\bmow"], ["a scythe swishes through grass", "mowing with a scythe", "cutting hay"]),
    _c("welding", [r"\bweld"], ["a welding torch hisses", "arc welding", "welding metal"], AMBIENCE),
    _c("ratchet", [r"ratchet", r"wrench"], ["a ratchet clicks", "a ratchet wrench turning", "ratcheting"]),
    _c("spray_can", [r"spray ?can", r"\bspray\b", r"aerosol"], ["a spray can hisses", "spraying paint", "an aerosol spray"]),
    # vehicles and aircraft
    _c("tires_skid", [r"\bskid", r"screech", r"\btyres?\b", r"\btires?\b"], ["tyres screech", "a car skids", "screeching tires"]),
    _c("tank", [r"\btanks?\b", r"\btreads?\b"], ["a tank rumbles", "tank tracks clanking", "a heavy tracked vehicle"], AMBIENCE),
    _c("hover_vehicle", [r"\bhover", r"\bhov(start|move|stop)\b", r"\bthover"], ["a hovercraft whirs", "a hover vehicle hums", "a hovering engine drone"], AMBIENCE),
    _c("cart", [r"\bcarts?\b", r"\blorry", r"\bwagon", r"wheels? turn", r"wheelbarrow"], ["a cart rolls along", "wooden wheels rumbling", "a rolling cart"], AMBIENCE),
    _c("bicycle", [r"bicycle", r"\bbike\b", r"unicycle"], ["a bicycle rides by", "a bicycle chain clicking", "a bicycle bell rings"]),
    _c("tractor", [r"tractor(?! beam)", r"excavator", r"bulldozer", r"\bdiesel"], ["a tractor engine chugs", "a diesel engine rumbles", "a digger's engine"], AMBIENCE),
    _c("traffic", [r"traffic", r"trafic", r"distant cars", r"motorway", r"highway"], ["traffic passing by", "city traffic", "cars driving past"], AMBIENCE),
    _c("flyby", [r"fly ?by", r"flyover"], ["an aircraft flies past", "a fast flyby", "a plane roars overhead"], AMBIENCE),
    _c("spaceship", [r"space ?ship", r"\bufo\b", r"hyperspace", r"alien ?engine", r"engine alien", r"starship"],
       ["a spaceship engine hums", "a sci-fi spacecraft passes", "a spaceship"], AMBIENCE),
    _c("drone_aircraft", [r"quad ?(ro)?copter"], ["a drone buzzes overhead", "a quadcopter hovers", "drone propellers whirring"], AMBIENCE),
    # machines and electronics
    _c("windmill", [r"wind ?mill", r"wind ?turbine", r"\bmill\b"], ["a windmill creaks as it turns", "a turning mill", "wind turbine blades whooshing"], AMBIENCE),
    _c("machinery", [r"\bmachine\b", r"machine(ry)? \d", r"industr", r"factory", r"\bpump", r"generator", r"pneumatic", r"conveyor", r"elevator",
                     r"\bpiston", r"alien ?machinery", r"power coal", r"oil ?pump"],
       ["machinery running", "an industrial machine clanks", "a factory machine hums"], AMBIENCE),
    _c("electric_hum", [r"\bhum\b", r"power ?(hum|line)", r"substation", r"transformer", r"\bbuzz\b", r"lights loop"],
       ["an electrical hum", "a transformer buzzing", "a low electric drone"], AMBIENCE),
    _c("steam_hiss", [r"\bsteam\b(?! ?(engine|train|locomotive))", r"vapou?r", r"\bexhaust"], ["steam hissing", "a hiss of steam", "steam escaping from a valve"], AMBIENCE),
    _c("loom", [r"weav", r"spinning wheel", r"goldspin", r"\bloom\b"], ["a loom clacks", "weaving on a loom", "a spinning wheel turns"], AMBIENCE),
    _c("fan", [r"\bfan\b", r"\bfan loop", r"ventilat", r"air ?condition"], ["a fan whirs", "a ventilation fan hums", "air conditioning"], AMBIENCE),
    _c("robot", [r"\brobot", r"servo"], ["a robot whirs and beeps", "robotic servo motors", "a robot moves"], CALL),
    _c("printer", [r"printer"], ["a printer whirs", "a 3D printer buzzing", "printer motors"], AMBIENCE),
    _c("radio_static", [r"static", r"white noise", r"vinyl hiss"], ["radio static", "white noise hiss", "a crackling radio"], AMBIENCE),
    _c("record_scratch", [r"vinyl", r"\bscratch", r"backspin", r"rewind"], ["a record scratch", "a DJ scratches vinyl", "a turntable rewind"]),
    _c("synth_sweep", [r"filter ?sweep", r"\bsweep", r"\briser", r"chroma"], ["a synth sweep", "a rising electronic whoosh", "a filter sweep"], CALL),
    _c("teleport", [r"teleport", r"\bwarp\b", r"portal", r"\bappear\b", r"respawn", r"\bspawn"], ["a sci-fi teleport whoosh", "something materialises with a shimmer", "a teleporter sound"], CALL),
    _c("power_up", [r"power ?up", r"powering up", r"\bcharge\b", r"\bcharging", r"force ?field", r"\benergy\b", r"regenerat"],
       ["a power-up sound", "energy charging up", "a rising electronic hum"], CALL),
    _c("power_down", [r"power ?down", r"shut ?down", r"engine failure", r"circuit breaker", r"switched off"],
       ["a machine powers down", "a descending power-down sound", "electricity cutting out"], CALL),
    _c("glitch", [r"glitch", r"\bbzzt", r"\bbzz\b"], ["a digital glitch", "glitchy electronic noise", "a buzzing glitch"]),
    _c("alarm", [r"\balarm", r"air ?raid", r"\balert\b", r"klaxon", r"\bbuzzer", r"base ?alert", r"radiation"], ["an alarm sounds", "an alarm blaring", "a warning alarm"], CALL),
    _c("doorbell", [r"door ?bell"], ["a doorbell rings", "ding dong of a doorbell", "someone rings the doorbell"], CALL),
    _c("church_bell", [r"church ?bell", r"bell ?tower", r"carillon"], ["a church bell tolls", "church bells ringing", "a big bell tolls"], CALL),
    _c("wind_chimes", [r"wind ?chimes?"], ["wind chimes tinkling", "wind chimes", "chimes in the breeze"], CALL),
    _c("gong", [r"\bgong", r"\bdong\b"], ["a gong rings", "a deep gong", "a resonant metal gong"], CALL),
    _c("guitar_strum", [r"\bstrums?\b"], ["a guitar strum", "someone strums a guitar chord", "an acoustic guitar strummed"], CALL),
    _c("click", [r"\bclicks?\b", r"\bclick (up|down|\d)", r"\bbutton", r"\bpress\b"], ["a click", "a mouse click", "a button clicks"]),
    _c("beep", [r"\bbeeps?\b", r"\bbeep \d", r"\bblip", r"\bbleep", r"morse", r"sonar", r"\bping\b", r"\bplip\b", r"\btwip\b", r"\bbong\b"],
       ["electronic beeps", "a beep", "a computer beeping"], CALL),
    # household
    _c("creak", [r"creak", r"hinge", r"seesaw"], ["a creaking door", "wood creaks", "a squeaky hinge"]),
    _c("window", [r"window ?(open|close)"], ["a window opens", "a window slides shut", "a window closing"]),
    _c("lock", [r"\block\b", r"\bunlock", r"\bkeys\b", r"key ?turn", r"latch", r"padlock"], ["a key turns in a lock", "a lock clicks", "keys jingling"]),
    _c("switch", [r"\bswitch", r"\blever\b"], ["a switch flips", "a light switch clicks", "pulling a lever"]),
    _c("paper", [r"paper", r"\btear(ing)?\b", r"\bripped\b", r"page turn"], ["paper rustling", "paper tearing", "turning a page"]),
    _c("zipper", [r"zipper", r"\bzip\b"], ["a zipper zips", "unzipping a zipper", "a zip"]),
    _c("cutlery", [r"\bspoons?\b", r"cutlery", r"\bforks?\b", r"dishes"], ["cutlery clinking", "spoons rattling", "dishes clattering"]),
    _c("balloon", [r"balloon", r"inflat"], ["a balloon inflates", "a balloon pops", "air rushing into a balloon"]),
    _c("pop", [r"\bpop\b", r"\bplopp?\b", r"\bcork\b"], ["a pop", "a cork pops", "a popping sound"]),
    _c("cards", [r"card ?(flip|shuffle|deal)", r"shuffl"], ["playing cards shuffled", "a card flips over", "dealing cards"]),
    _c("dice", [r"\bdice\b"], ["dice rolling", "dice rattle on a table", "rolling dice"]),
    _c("toy", [r"\byo ?yo\b", r"\btop\b", r"whirligig", r"spinning top", r"\brattle\b", r"\btoy\b"], ["a toy rattles", "a spinning top whirs", "a wind-up toy"]),
    _c("clock", [r"\bclock", r"\bwatch\b", r"tick ?tock", r"metronome", r"\btick\b"], ["a clock ticking", "tick tock", "a ticking clock"]),
    _c("writing", [r"chalk", r"\bpen\b", r"pencil", r"\bwriting\b"], ["writing with a pen", "chalk scratching on a board", "a pencil scribbling"]),
    _c("jingle", [r"necklace", r"anklet", r"jingl", r"\bbeads\b"], ["something jingles", "jingling beads", "a jingling chain"]),
    _c("keyboard_typing", [r"keyboard (typing|key)", r"keystroke"], ["typing on a keyboard", "keyboard keys clacking", "a key press on a mechanical keyboard"]),
    _c("typewriter", [r"type ?writer", r"\btyping\b"], ["typing on a typewriter", "typewriter keys clacking", "someone typing"]),
    # places
    _c("forest_ambience", [r"\bforest", r"jungle", r"\bwoods\b", r"rainforest", r"safari"], ["a forest ambience", "birds and leaves in a forest", "a quiet forest"], AMBIENCE),
    _c("cave_ambience", [r"\bcave", r"cavern", r"dungeon"], ["a dripping cave", "cave ambience", "echoes in a cavern"], AMBIENCE),
    _c("city_ambience", [r"\bcity\b", r"urban", r"street", r"residential"], ["city ambience", "a busy street", "urban background noise"], AMBIENCE),
    _c("tavern_ambience", [r"tavern", r"\binn\b", r"biginn", r"\bpub\b", r"restaurant"], ["a busy tavern", "chatter and clinking in an inn", "a lively pub"], AMBIENCE),
    _c("harbor_ambience", [r"harbou?r", r"\bdocks?\b"], ["a harbour ambience", "boats creaking at a harbour", "a busy port"], AMBIENCE),
    _c("farm_ambience", [r"\bfarm( \d+)?$", r"organic farm", r"barnyard"], ["farmyard ambience", "a busy farm", "farm animals in the distance"], AMBIENCE),
    _c("drone_ambience", [r"\bambient \d", r"ambi (drone|dark|haunted|lunar)", r"alien ?atmo", r"\batm\b", r"droning", r"\bdrone\b", r"eerie",
                          r"haunted", r"critical ?core", r"\bhorror\b", r"ambient space"], ["an eerie drone", "a dark sci-fi ambience", "a low droning atmosphere"], AMBIENCE),
    # --- animals --------------------------------------------------------------------------------
    _c("hooves", [r"\bmstep", r"\bcanter", r"\bgallop", r"camel movement", r"movement camel", r"horseman walk"], ["hooves clopping", "a horse trotting", "hoofbeats"], AMBIENCE),
    _c("horse", [r"\bhorse", r"\bfoal", r"\bneigh", r"\bzebra", r"\bdonkey"], ["a horse neighs", "horse whinnying", "a horse snorts"], CALL),
    _c("cattle", [r"\bcattle", r"\bcows?\b", r"\bcalf\b", r"\box\b", r"\bbull\b", r"\bbison", r"\bmoo"], ["a cow moos", "cattle mooing", "a cow lowing"], CALL),
    _c("sheep_goat", [r"\bsheep", r"\bgoat", r"\blamb\b", r"\bram\b(?! attack| move)", r"bleat"], ["a sheep bleats", "a goat bleating", "sheep baaing"], CALL),
    _c("pig", [r"\bpig\b", r"\bpigs\b", r"\bboar\b", r"\btusker", r"oink", r"squeal"], ["a pig grunts", "a pig squeals", "pigs oinking"], CALL),
    _c("chicken", [r"\bchicken", r"\bhen\b", r"\brooster", r"\bturkey"], ["a chicken clucks", "a rooster crows", "chickens clucking"], CALL),
    _c("duck_goose", [r"\bduck", r"\bdrake\b(?! die| hit)", r"\bgander", r"\bgoose"], ["a duck quacks", "a goose honks", "ducks quacking"], CALL),
    _c("camel", [r"\bcamel", r"\bdromedary"], ["a camel groans", "a camel grunting", "a camel"], CALL),
    _c("elephant", [r"\belephant"], ["an elephant trumpets", "elephant trumpeting", "an elephant roars"], CALL),
    _c("big_cat", [r"\blion", r"\btiger", r"jaguar", r"\blynx"], ["a lion roars", "a big cat growls", "roaring lion"], CALL),
    _c("wolf_dog", [r"\bwolf", r"\bdogs?\b", r"\bfox\b", r"coyote", r"puppy", r"\bbark", r"\bhowl"], ["a dog barks", "a wolf growls", "a wolf howling"], CALL),
    _c("bird", [r"\bbirds?\b", r"penguin", r"nandou", r"gryphon"],
       ["a bird chirps", "birdsong", "a bird calls", "birds singing"], CALL),
    _c("insect", [r"mosquito", r"xanthia", r"\binsects?\b", r"\bfly\b", r"beetle", r"weevil", r"\bmoth\b", r"ladybug", r"animals zap"],
       ["insects buzzing", "a fly buzzes", "a buzzing insect"], AMBIENCE),
    _c("frog", [r"\bfrog", r"\btoad"], ["a frog croaks", "frogs croaking", "croaking frog"], CALL),
    _c("animal_call", [r"badger", r"giraffe", r"rabbit", r"koala", r"wombat", r"iguana", r"raccoon", r"otter", r"wallaby", r"\byak\b",
                       r"animal death", r"\bspider"],
       ["an animal call", "a wild animal cries out", "an animal noise"], CALL),
    # --- people ---------------------------------------------------------------------------------
    _c("footsteps", [r"foo?r?tstep", r"\bhstep", r"\bfs\b", r"\bsteps?\b", r"\bwalk"], ["footsteps", "someone walking", "footsteps on the ground"]),
    _c("human_pain", [r"human (old |female )?(die|hit)", r"human death", r"(fe)?male death", r"dwarf (die|hit)", r"elf hit",
                      r"\bgroan", r"\bugg\b", r"\bwail", r"death death", r"(fe)?male ?(death|hurt)", r"civ(fem|male)", r"player death", r"\bpain( \d+)?$",
                      r"skin \w+ (hurt|die)"],
       ["a man groans in pain", "a person cries out", "a pained grunt", "a scream"], CALL),
    _c("laughter", [r"laugh"], ["someone laughs", "evil laughter", "a cackle"], CALL),
    _c("monster_growl", [r"\b(ogre|troll|orc|goblin|zombie|ghoul|lich|skeleton|yeti|wose|naga|mermaid|mermen|drake|hiss)\b"],
       ["a monster growls", "a creature snarls", "a growling beast"], CALL),
    # --- weapons and impacts ----------------------------------------------------------------------
    _c("sword_clash", [r"sword ?hit", r"weapon ?hit", r"shield metal", r"\bsword\b(?! attack)", r"\bsword \d", r"\bblade"],
       ["swords clashing", "a sword strikes metal", "clanging blades"]),
    _c("sword_swing", [r"sword attack", r"\bswish", r"\bmiss\b", r"\bdagger", r"\bknife", r"throwing knife", r"\bclaws?\b"],
       ["a sword swishes through the air", "a whoosh", "a blade swing"]),
    _c("arrow_impact", [r"impact arrow", r"arrow hit", r"arrow (dirt|metal|stone|wood)"], ["an arrow hits a target", "an arrow thuds into wood", "arrow impact"]),
    _c("bow_shot", [r"\bbow\b", r"arrow shoot", r"\bcrossbow", r"arrow ?fly", r"bow attack", r"\bdart\b"], ["a bow shoots an arrow", "an arrow whizzes by", "twang of a bowstring"]),
    _c("spear_throw", [r"\bjav", r"\bspear", r"\bpike", r"\bthrow", r"\bsling\b(?! metal| stone| wood)", r"sling attack", r"\bnet\b"],
       ["a spear is thrown", "a whoosh of a thrown weapon", "something flies through the air"]),
    _c("stone_impact", [r"sling (metal|stone|wood)", r"siege ?projectile ?hit", r"\brock\b", r"cave in"], ["a stone hits hard", "a rock impact", "a heavy thud"]),
    _c("shield_block", [r"shield wood", r"\bclub\b", r"\bmace\b", r"\bflail", r"\bstaff\b", r"\bfist\b", r"\bbat hit"],
       ["a heavy blow lands", "a club hits a shield", "a wooden thud"]),
    _c("flesh_hit", [r"flesh ?(imp|stab)", r"\bbite", r"squishy", r"pincers", r"\btail\b"], ["a punch lands", "a fleshy hit", "a stab"]),
    _c("gunshot", [r"musket", r"gunshot", r"thunderstick", r"dragonstick", r"\bgun\b", r"\brifle", r"sniper", r"\bpistol", r"bolter", r"needler",
                  r"flechette", r"gun ?shoot", r"bullet ?shot"], ["a gunshot", "a musket fires", "a gun goes off"]),
    _c("siege_engine", [r"ballist", r"onager", r"catapult", r"\bram attack", r"\bram move", r"siege"], ["a catapult launches", "a wooden siege engine creaks", "a battering ram"]),
    _c("explosion", [r"explo", r"\bblast", r"cineboom", r"fireworks", r"\bboom"], ["an explosion", "a loud blast", "something explodes"]),
    _c("collapse", [r"collapse", r"building fall", r"bldfall", r"\braze\b", r"demoli", r"\bdebris", r"crumble", r"\brumble"], ["a building collapses", "rubble crashing down", "a wall crumbles"]),
    # --- work and tools ------------------------------------------------------------------------
    _c("axe_chop", [r"lumber", r"woodcutting", r"harvest wood", r"\baxe\b", r"hatchet", r"chop", r"tree expire"], ["an axe chops wood", "wood chopping", "chopping a tree"]),
    _c("saw", [r"\bsaw\b", r"\bsawing\b", r"con saw"], ["a saw cutting wood", "sawing", "a hand saw"]),
    _c("pickaxe", [r"\bmine\b", r"mining", r"pick ?axe", r"con stone"], ["a pickaxe strikes rock", "mining stone", "chiselling stone"]),
    _c("hammer", [r"hammer", r"\banvil", r"smith", r"mallet", r"con wood", r"\bforge", r"technician build", r"worker build"], ["hammering", "a hammer strikes", "hammering a nail"]),
    _c("digging", [r"\bhoe\b", r"\bdig", r"gather field", r"farming"], ["digging soil", "a hoe scrapes the ground", "harvesting crops"]),
    _c("rustling", [r"leaves", r"foraging", r"gather fruit", r"rustl"], ["leaves rustling", "rustling bushes", "picking through leaves"]),
    _c("squelch", [r"gather meat", r"\bmeat\b", r"squelch", r"\bmud\b"], ["a wet squelch", "butchering meat", "squishy sounds"]),
    _c("door", [r"\bgate\b", r"\bdoor", r"chest", r"stonegate"], ["a heavy door opens", "a gate creaks", "a door closing"]),
    _c("coins", [r"\bgold\b", r"\b(un)?cash\b", r"\bmoney", r"\bcoins?\b", r"\bpenny", r"\bdime"], ["coins jingling", "clinking coins", "money rattling"]),
    # --- nature and places ---------------------------------------------------------------------
    _c("fire", [r"\bfire\b(?!truck)", r"smallfire", r"firesoft", r"fireballs?", r"\bflame", r"\btorch", r"campfire", r"attack fire", r"\bfuse\b", r"melee fire", r"\bburn"],
       ["fire crackling", "a crackling fire", "flames burning"], AMBIENCE),
    _c("thunder", [r"thunder\b", r"lightning"], ["thunder", "a thunderclap", "lightning strikes"]),
    _c("rain", [r"\brain\b", r"raindrop"], ["rain falling", "heavy rain", "rain pattering"], AMBIENCE),
    _c("wind", [r"\bwind\b(?! attention| question)", r"\bwind ?(gust|leaves|storm)", r"(alien|blow|dizzy|hollow|waste|arctic) ?wind", r"snowstorm", r"\bstorm"], ["wind blowing", "a strong wind howls", "gusts of wind"], AMBIENCE),
    _c("sea_waves", [r"\bwaves?\b", r"wave ?crash", r"wave ?rocky", r"seashore", r"\bsurf\b"], ["waves crashing", "sea waves on the shore", "ocean surf"], AMBIENCE),
    _c("water_stream", [r"\briver", r"creek", r"fou?nta(i)?n", r"\bstream\b", r"\bwater\b", r"water blast"], ["a flowing river", "running water", "a babbling stream"], AMBIENCE),
    _c("ship", [r"\bship\b", r"\bsmove\b", r"warship", r"\bboat", r"\boar"], ["a wooden ship creaks", "oars splashing", "a ship at sea"], AMBIENCE),
    _c("nature_ambience", [r"dayscape", r"day temperate", r"day tropical", r"\bmorning\b", r"\bnight\b", r"\bnighti?me\b", r"\bday\b", r"sunny", r"\bcountry\b", r"\bswamp\b", r"desert ?ambient"], ["countryside ambience", "birds and insects outdoors", "a quiet day in nature"], AMBIENCE),
    _c("town_ambience", [r"amb (farm|port|trade)", r"\bmarket", r"\btown\b"], ["a busy village", "market chatter", "a bustling town"], AMBIENCE),
    _c("war_drums", [r"war ?drums", r"\bdrums\b", r"drumming"], ["war drums", "pounding drums", "drums beating"], AMBIENCE),
    # --- objects, instruments, signals ---------------------------------------------------------
    _c("magic", [r"\bmagic", r"\bheal", r"\bspell", r"faerie", r"\bholy", r"petrified", r"\bslowed", r"poison", r"entangle",
                 r"\bink\b", r"\bpsi", r"summon", r"\bpotion", r"\bglob\b", r"wail"],
       ["a magical shimmer", "a spell is cast", "a sparkling magic sound"], CALL),
    _c("horn", [r"\bhorn\b", r"war ?horn", r"horn signals", r"fanfare", r"trumpet", r"bassoon"], ["a horn blows", "a trumpet fanfare", "a horn call"], CALL),
    _c("string_instrument", [r"\bcello", r"violin", r"\berhu", r"\bgamba", r"\brabel", r"fiddle"], ["a violin plays", "a bowed string", "a cello note"], CALL),
    _c("bell", [r"\bbell\b", r"\bding\b", r"\bchime", r"\bdreydl", r"complete"], ["a bell rings", "a ringing bell", "a chime"], CALL),
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

# Categories added with the OpenSFX, sound-icons and General MIDI sources, after all earlier
# rules: only hints that nothing above names reach them.
CATEGORIES += (
    # --- vehicles and machines -------------------------------------------------------------------
    _c("train", [r"\btrain\b", r"locomotive", r"\bmaglev", r"\bmonorail", r"steam engine"],
       ["a train departs", "a train whistle blows", "a locomotive pulls away"], AMBIENCE),
    _c("helicopter", [r"helicopter"], ["a helicopter flies overhead", "helicopter rotor blades thumping", "a helicopter"], AMBIENCE),
    _c("aircraft", [r"\bjet\b", r"aircraft", r"\bplane\b", r"airplane", r"propeller"], ["a jet takes off", "an airplane engine roars", "a plane flies overhead"], AMBIENCE),
    _c("vehicle_horn", [r"car horn", r"ship horn", r"ferry horn", r"air horn", r"\bhonk"], ["a car horn honks", "a ship's horn blares", "a loud horn"], CALL),
    _c("motor_vehicle", [r"\bbus\b", r"\btruck\b", r"\bcar\b(?! crash)", r"road vehicle", r"engine start", r"engine (large|small|noise)"],
       ["a car engine starts", "a truck pulls away", "an engine revs"], AMBIENCE),
    _c("crash", [r"\bcrash\b", r"breakdown"], ["a loud crash", "metal crashing", "a car crash"]),
    _c("power_tool", [r"chainsaw", r"jackhammer", r"sawmill", r"circular saw", r"machinery", r"\bdrill(ing)?\b", r"bench ?saw"],
       ["a power tool whirs", "a chainsaw roars", "a jackhammer pounds"], AMBIENCE),
    _c("electric_spark", [r"spark", r"electric(al)? (arc|buzz)", r"taser", r"\belectro\b"], ["electricity crackles", "electric sparks", "a buzzing electric arc"], AMBIENCE),
    _c("cash_register", [r"cash (till|register)"], ["a cash register rings", "a till opens with a ding", "a cash register"]),
    _c("bubbles", [r"bubbl", r"slurp", r"\bplop\b"], ["bubbles bubbling", "a bubble pops", "liquid bubbling"]),
    _c("whistle", [r"whistle"], ["a whistle blows", "a shrill whistle", "someone blows a whistle"], CALL),
    _c("telephone", [r"telephone"], ["a telephone rings", "a phone ringing", "an old telephone bell"], CALL),
    # --- people -------------------------------------------------------------------------------------
    _c("applause", [r"applause", r"audience"], ["applause", "a crowd claps", "people clapping and cheering"], AMBIENCE),
    _c("crowd", [r"\booo+h\b", r"\bcrowd\b", r"crowd ?(ooh|boo)"], ["a crowd gasps", "people say ooh", "a crowd reacts"], CALL),
    _c("breathing", [r"\bbreath"], ["someone breathing", "a breath", "breathing in and out"], CALL),
    _c("choir", [r"\bchoir\b", r"voice oohs", r"\baahs\b"], ["a choir sings", "voices singing", "a choir holds a note"], CALL),
    # --- musical instruments -------------------------------------------------------------------------
    _c("piano", [r"\bpiano", r"harpsichord", r"cembalo", r"clavi"], ["a piano plays", "piano notes", "someone plays the piano"], CALL),
    _c("organ", [r"\borgan\b"], ["an organ plays", "church organ", "an organ chord"], CALL),
    _c("guitar", [r"guitar", r"\bguit\b"], ["a guitar plays", "guitar notes", "someone plucks a guitar"], CALL),
    _c("bass_guitar", [r"\bbass\b", r"bass ?slap"], ["a bass guitar plays", "a deep bass note", "bass guitar notes"], CALL),
    _c("harp", [r"\bharp\b"], ["a harp plays", "harp strings plucked", "a harp glissando"], CALL),
    _c("plucked_string", [r"\bsitar", r"\bbanjo", r"shamisen", r"\bkoto\b", r"cimbalom", r"cymbaly", r"\blute\b", r"ukulele", r"zither",
                         r"yangqin", r"yueqin", r"topshuur", r"balalaika", r"domra"],
       ["a plucked string instrument", "a banjo plays", "a sitar twangs"], CALL),
    _c("flute", [r"\bflute", r"piccolo", r"recorder", r"ocarina", r"\bpipe\b", r"\bquena", r"\bxun\b", r"\bney\b", r"washint"], ["a flute plays", "a flute melody", "a breathy flute note"], CALL),
    _c("woodwind", [r"clarinet", r"\boboe", r"bagpipe", r"english horn", r"dulzaina", r"zurna", r"zhaleyka", r"kazoo"], ["a clarinet plays", "a woodwind instrument", "an oboe note"], CALL),
    _c("saxophone", [r"\bsax"], ["a saxophone plays", "a sax note", "a saxophone melody"], CALL),
    _c("accordion", [r"accordion", r"harmonica", r"bandoneon", r"squeezebox", r"aeoline"], ["an accordion plays", "a harmonica", "a reedy accordion chord"], CALL),
    _c("mallet_percussion", [r"xylo", r"marimba", r"glockenspiel", r"vibraphone", r"celesta", r"music box", r"kalimba", r"steel drum"],
       ["a xylophone plays", "mallet notes", "a glockenspiel chimes"], CALL),
    _c("timpani", [r"timpani", r"kettle ?drum"], ["a timpani drum booms", "timpani", "a kettle drum rolls"]),
    _c("triangle", [r"triangle"], ["a triangle dings", "a triangle rings", "a metal triangle"]),
)

# The upper level of the taxonomy: every category belongs to exactly one family, so a library
# can be counted, balanced or evaluated by family ("birds", "weapons") as well as by category.
FAMILIES: dict[str, tuple[str, ...]] = {
    "animals": ("horse", "cattle", "sheep_goat", "pig", "camel", "elephant", "big_cat", "wolf_dog", "insect", "frog", "animal_call",
                "monster_growl", "cat", "monkey", "bear", "whale_dolphin", "rodent", "deer", "bat", "snake", "hyena", "seal",
                "rhino_hippo", "crickets", "bee", "creature", "eating"),
    "birds": ("bird", "chicken", "duck_goose", "owl", "crow", "seagull", "bird_of_prey", "waterbird", "game_bird", "parrot", "songbird",
              "cuckoo", "pigeon", "bird_wings", "dawn_chorus"),
    "footsteps": ("footsteps", "hooves", "footsteps_grass", "footsteps_gravel", "footsteps_dirt", "footsteps_sand", "footsteps_snow",
                  "footsteps_wood", "footsteps_metal", "footsteps_stone", "footsteps_water", "footsteps_ice", "footsteps_carpet", "marching"),
    "human": ("human_pain", "laughter", "applause", "crowd", "breathing", "scream", "cheering", "crying", "grunt", "gasp", "heartbeat", "burp", "slap",
              "children"),
    "impacts": ("glass_clink", "stone_impact", "rustling", "tree_fall", "whoosh", "sports", "sliding", "shield_block", "flesh_hit", "crash", "squelch", "body_fall", "glass_break", "wood_break",
                "metal_hit", "wood_hit", "ice_crack", "rockfall", "bounce", "thud", "bowling", "skateboard"),
    "weapons": ("sword_clash", "sword_swing", "arrow_impact", "bow_shot", "spear_throw", "gunshot", "siege_engine", "machine_gun",
                "shotgun", "cannon", "laser_gun", "gun_reload", "ricochet", "missile", "shell_casing", "flamethrower"),
    "explosions": ("explosion", "collapse", "fireworks", "distant_explosion"),
    "fire": ("fire", "fuse", "ignite", "furnace", "lava", "sizzle"),
    "water": ("water_stream", "sea_waves", "bubbles", "waterfall", "splash", "water_drip", "underwater", "swimming", "boiling"),
    "weather": ("rain", "thunder", "wind", "earthquake"),
    "tools": ("axe_chop", "saw", "pickaxe", "hammer", "digging", "power_tool", "scissors", "stone_cutting", "grinding", "scythe",
              "welding", "ratchet", "spray_can"),
    "vehicles": ("train", "motor_vehicle", "vehicle_horn", "ship", "tires_skid", "tank", "hover_vehicle", "cart", "bicycle", "tractor",
                 "traffic"),
    "aircraft": ("aircraft", "helicopter", "rocket", "flyby", "spaceship", "drone_aircraft"),
    "machines": ("electric_spark", "windmill", "machinery", "electric_hum", "steam_hiss", "fan", "robot", "printer", "loom"),
    "household": ("door", "coins", "camera_shutter", "household_appliance", "squeak_toy", "glass_bottle", "cash_register", "telephone",
                  "creak", "window", "lock", "switch", "paper", "zipper", "cutlery", "balloon", "pop", "dice", "toy", "clock",
                  "typewriter", "writing", "jingle", "keyboard_typing", "cards"),
    "bells": ("bell", "siren", "whistle", "alarm", "doorbell", "church_bell", "wind_chimes", "gong"),
    "electronic": ("ui_sound", "electronic_zap", "magic", "click", "beep", "radio_static", "record_scratch", "synth_sweep", "teleport",
                   "power_up", "power_down", "glitch"),
    "percussion": ("cowbell", "ride_cymbal", "crash_cymbal", "hi_hat", "rimshot", "snare_drum", "kick_drum", "tom_drum", "hand_clap",
                   "finger_snap", "tambourine", "shaker", "hand_drum", "wood_block", "timpani", "triangle", "war_drums", "drum_loop"),
    "instruments": ("horn", "string_instrument", "piano", "organ", "guitar", "bass_guitar", "harp", "plucked_string", "flute",
                    "woodwind", "saxophone", "accordion", "mallet_percussion", "choir", "guitar_strum"),
    "ambience": ("nature_ambience", "town_ambience", "forest_ambience", "cave_ambience", "city_ambience", "battle_ambience",
                 "tavern_ambience", "harbor_ambience", "farm_ambience", "drone_ambience"),
}
_FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}


def family_of(category: str) -> str:
    """The family of a category name ("dog" -> "animals"); "" for a name outside the taxonomy."""
    return _FAMILY_OF.get(category, "")
CATEGORIES = tuple(replace(c, family=_FAMILY_OF[c.name]) for c in CATEGORIES)

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


# ---------------------------------------------------------------------------------------------
# Labels of sources that carry no usable path words


@dataclass(frozen=True)
class GMVoice:
    """A General MIDI program (or percussion key) rendered with a sound font."""

    key: str  # stable slug, part of clip ids and split groups
    program: int  # 0-based GM program; -1 for percussion (channel 10)
    category: str  # a CATEGORY_BY_NAME key
    noun: str  # "a piano": captions read "<noun> plays a note"
    low: int  # playable MIDI range (percussion: the keys to play)
    high: int
    style: str = "decay"  # decay (struck/plucked), sustain (bowed/blown), bell, effect, hits
    keys: tuple[int, ...] = ()  # percussion keys (style "hits")
    kits: tuple[int, ...] = (0,)  # percussion: bank-128 kits to play the keys with


def _read_table(name: str) -> list[list[str]]:
    """The rows of a tab-separated data table beside this module, without its comments and header."""
    lines = [line for line in Path(__file__).with_name(name).read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    return [line.split("\t") for line in lines[1:]]


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(k) for k in text.split())


# the General MIDI programs and drum-map keys fluidsynth renders (gm_voices.tsv says how they are chosen)
GM_VOICES: tuple[GMVoice, ...] = tuple(
    GMVoice(key, int(program), category, noun, int(low), int(high), style, _ints(keys), _ints(kits))
    for key, program, category, noun, low, high, style, keys, kits in _read_table("gm_voices.tsv"))


def gm_captions(voice: GMVoice, phrase: bool) -> list[str]:
    """Captions of one rendered clip: "a harp plays a few notes", then the category's."""
    category = CATEGORY_BY_NAME[voice.category]
    if not voice.noun:
        return captions_for(category)
    verb = "plays a few notes" if phrase else "plays a note"
    if voice.noun in ("voices", "bagpipes", "steel drums", "plucked violin strings"):
        verb = "play a few notes" if phrase else "play a note"
    if voice.noun == "someone whistling":
        return captions_for(category, "someone whistles a tune" if phrase else "someone whistles a note")
    return captions_for(category, f"{voice.noun} {verb}")


# OpenSFX titles -> category and caption, first match wins (the rules and their reading: opensfx_rules.tsv)
OPENSFX_RULES: tuple[tuple[str, str, str | None], ...] = tuple(
    (pattern, category, caption or None) for pattern, category, caption in _read_table("opensfx_rules.tsv"))


def opensfx_label(title: str) -> tuple[Category, str | None] | None:
    """Category and specific caption of an OpenSFX sound from its title, or None to skip it."""
    text = title.lower()
    for pattern, name, caption in OPENSFX_RULES:
        if re.search(pattern, text):
            return (CATEGORY_BY_NAME[name], caption) if name else None
    return None


# sound-icons file stems (Czech and English words) -> category and caption; stems not listed
# ("percussion-10", "prompt") say nothing about the sound and are skipped
SOUND_ICONS: dict[str, tuple[str, str | None]] = {
    "canary": ("bird", "a canary sings"), "cembalo": ("piano", "a harpsichord plays"),
    "chord": ("piano", "a chord on a keyboard"), "cockchafer": ("insect", "a beetle buzzes"),
    "cymbaly": ("plucked_string", "a cimbalom plays"), "electric-piano": ("piano", "an electric piano plays"),
    "glass-water": ("glass_clink", "a glass of water is tapped"), "guitar": ("guitar", "a guitar plays"),
    "gummy-cat": ("squeak_toy", "a rubber toy squeaks"), "klavichord": ("piano", "a clavichord plays"),
    "piano": ("piano", "a piano plays"), "pipe": ("flute", "a pipe whistles"),
    "trumpet": ("horn", "a trumpet plays"), "violoncello": ("string_instrument", "a cello plays"),
    "xylofon": ("mallet_percussion", "a xylophone plays"), "pisk": ("whistle", "a short whistle"),
}


def sound_icon_label(stem: str) -> tuple[Category, str | None] | None:
    """Category and caption of a sound-icons file ("guitar-12", "pisk-up-cink"), or None."""
    text = stem.lower()
    for word in sorted(SOUND_ICONS, key=len, reverse=True):  # "electric-piano" before "piano"
        if text == word or text.startswith(word + "-"):
            name, caption = SOUND_ICONS[word]
            return CATEGORY_BY_NAME[name], caption
    return None
