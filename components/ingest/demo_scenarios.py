"""The demo dataset's scenario table: what each synthetic clip claims to be and how it sounds.

A scenario pairs free-form Freesound-style metadata (tags, a title, a description phrase, the
official AudioSet labels and mids FSD50K would list) with a synthesizer from ``demo_sounds`` and
the class the seed taxonomy gives those tags (``label``, checked by a unit test). Besides plain
cases the table deliberately contains the seed rule's known failure modes, so every slice in
the evaluation has something to find: precedence (drums, doors, a barking dog in a kitchen and
footsteps on wood all become ``noise``), ambiguity (several lists match and the first wins) and
exact-match misses (``dogs-barking``, ``birds-singing`` become ``other``). ``CLASS_SHARES`` sets
the class imbalance, shaped like the seed's: ``noise`` largest, ``movement`` smallest.
"""

from dataclasses import dataclass

CLASS_SHARES: dict[str, float] = {
    "human": 0.12,
    "noise": 0.24,
    "animal": 0.09,
    "music": 0.16,
    "ambient": 0.12,
    "alarm": 0.07,
    "movement": 0.05,
    "other": 0.15,
}

# Tags that no keyword list contains, added at random the way uploaders pad their tag lists.
NEUTRAL_TAGS: tuple[str, ...] = (
    "stereo",
    "mono",
    "zoom-h4n",
    "tascam",
    "recording",
    "sound",
    "home",
    "household",
    "loud",
    "quiet",
    "short",
    "wav",
    "sample",
    "ambience",
    "real",
    "free",
    "indoor",
    "outdoors",
)


@dataclass(frozen=True)
class Scenario:
    """One kind of demo clip.

    Attributes:
        label: Class the seed taxonomy assigns to ``tags``.
        synth: Name of the synthesizer in ``demo_sounds.SYNTHS``.
        tags: The scenario's core tags.
        title: Human title, varied per clip.
        phrase: Start of the description.
        audioset: ``(label, mid)`` pairs for the FSD50K ground-truth CSV.
        weight: Relative frequency within its class.
    """

    label: str
    synth: str
    tags: tuple[str, ...]
    title: str
    phrase: str
    audioset: tuple[tuple[str, str], ...]
    weight: float = 1.0


_SPEECH = (("Speech", "/m/09x0r"), ("Human_voice", "/m/09l8g"))
_MUSIC = (("Musical_instrument", "/m/04szw"), ("Music", "/m/04rlf"))
_DOG = (
    ("Bark", "/m/05tny_"),
    ("Dog", "/m/0bt9lr"),
    ("Domestic_animals_and_pets", "/m/068hy"),
    ("Animal", "/m/0jbk"),
)
_BIRD = (
    ("Bird_vocalization_and_bird_call_and_bird_song", "/m/020bb7"),
    ("Bird", "/m/015p6"),
    ("Animal", "/m/0jbk"),
)
_STEPS = (("Walk_and_footsteps", "/m/07pbtc8"),)
_DOMESTIC = (("Domestic_sounds_and_home_sounds", "/t/dd00071"),)
_DRUMS = (("Drum", "/m/026t6"), ("Percussion", "/m/0l14md"), ("Drum_kit", "/m/02hnl"), *_MUSIC)
_VEHICLE = (("Car", "/m/0k4j"), ("Vehicle", "/m/07yv9"))

SCENARIOS: tuple[Scenario, ...] = (
    # human
    Scenario(
        "human",
        "voice",
        ("speech", "male", "english", "reading"),
        "Man reading aloud",
        "A man reading a short passage",
        (("Male_speech_and_man_speaking", "/m/05zppz"), *_SPEECH),
    ),
    Scenario(
        "human",
        "voice",
        ("woman", "talking", "phone-call"),
        "Woman on the phone",
        "One side of a phone call",
        (("Female_speech_and_woman_speaking", "/m/02zsn"), *_SPEECH),
    ),
    Scenario(
        "human",
        "crying",
        ("baby", "crying", "infant"),
        "Baby crying",
        "Our baby crying before a nap",
        (
            ("Baby_cry_and_infant_cry", "/t/dd00002"),
            ("Crying_and_sobbing", "/m/0463cq4"),
            ("Human_voice", "/m/09l8g"),
        ),
    ),
    Scenario(
        "human",
        "laughter",
        ("laughing", "people", "party"),
        "Laughing at a party",
        "Friends laughing at a birthday party",
        (("Laughter", "/m/01j3sz"), ("Human_voice", "/m/09l8g")),
    ),
    Scenario(
        "human",
        "voice",
        ("whisper", "asmr", "voice"),
        "Whispering close",
        "Soft whispering close to the microphone",
        (("Whispering", "/m/02rtxlg"), *_SPEECH),
    ),
    Scenario(
        "human",
        "voice",
        ("children", "kids", "playground"),
        "Kids at the playground",
        "Children talking at a playground",
        (("Child_speech_and_kid_speaking", "/m/0ytgt"), *_SPEECH),
    ),
    Scenario(
        "human",
        "voice",
        ("singing", "female", "vocals", "melody"),
        "Humming a tune",
        "A woman singing a simple melody",
        (("Singing", "/m/015lz1"), ("Music", "/m/04rlf")),
        0.5,
    ),
    Scenario(
        "human",
        "laughter",
        ("crowd", "applause", "people", "cheering"),
        "Crowd cheering",
        "A small crowd cheering and clapping",
        (("Crowd", "/m/03qtwd"), ("Applause", "/m/028ght")),
        0.5,
    ),
    # noise
    Scenario(
        "noise",
        "clicks",
        ("keyboard", "typing", "computer", "office"),
        "Keyboard typing",
        "Fast typing on a mechanical keyboard",
        (("Typing", "/m/0lyf6"), ("Computer_keyboard", "/m/01m2v")),
    ),
    Scenario(
        "noise",
        "clicks",
        ("coins", "money", "drop", "table"),
        "Coins dropped on table",
        "A handful of coins dropped on a wooden table",
        (("Coin_(dropping)", "/m/0242l"),),
    ),
    Scenario(
        "noise",
        "thumps",
        ("door", "closing", "house"),
        "Front door closing",
        "Closing the front door of the house",
        (("Door", "/m/02dgv"), *_DOMESTIC),
    ),
    Scenario(
        "noise",
        "thumps",
        ("drawer", "opening", "wooden"),
        "Drawer open and shut",
        "Opening and shutting a wooden drawer",
        (("Drawer_open_or_close", "/m/0fqfqc"), *_DOMESTIC),
    ),
    Scenario(
        "noise",
        "drums",
        ("drums", "percussion", "hi-hat", "loop"),
        "Drum loop",
        "A basic drum loop with kick, snare and hi-hat",
        _DRUMS,
    ),
    Scenario(
        "noise",
        "drums",
        ("drumloop", "drums", "groovy", "120bpm"),
        "Groovy drumloop",
        "Groovy drumloop, loops seamlessly",
        _DRUMS,
    ),
    Scenario(
        "noise",
        "crinkle",
        ("paper", "crinkle", "tear", "foley"),
        "Paper crinkle",
        "Crumpling and tearing a sheet of paper",
        (("Crumpling_and_crinkling", "/m/07pp8cl"), ("Tearing", "/m/07qcx4z")),
    ),
    Scenario(
        "noise",
        "crinkle",
        ("plastic", "bag", "crunch"),
        "Plastic bag",
        "Handling a plastic shopping bag",
        (("Crumpling_and_crinkling", "/m/07pp8cl"),),
    ),
    Scenario(
        "noise",
        "clicks",
        ("zipper", "jacket", "zip"),
        "Jacket zipper",
        "Zipping a jacket up and down",
        (("Zipper_(clothing)", "/m/01s0vc"),),
    ),
    Scenario(
        "noise",
        "notes",
        ("xylophone", "mallet", "single-note", "multisample"),
        "Xylophone note",
        "A single xylophone note, one of a multisample set",
        (("Xylophone", "/m/0dwsp"), ("Mallet_percussion", "/m/0j45pbj"), *_MUSIC),
        0.7,
    ),
    Scenario(
        "noise",
        "clicks",
        ("clock", "ticking", "mechanical"),
        "Clock ticking",
        "An old mechanical wall clock ticking",
        (("Tick-tock", "/m/07qjznl"), ("Clock", "/m/01x3z")),
    ),
    Scenario(
        "noise",
        "rain",
        ("faucet", "water", "bathroom", "sink"),
        "Bathroom faucet",
        "Running water from the bathroom faucet",
        (
            ("Water_tap_and_faucet", "/m/02jz0l"),
            ("Sink_(filling_or_washing)", "/m/0130jx"),
            ("Water", "/m/0838f"),
        ),
        0.5,
    ),
    Scenario(
        "noise",
        "beeps",
        ("microwave", "beep", "kitchen"),
        "Microwave done",
        "The microwave beeping when it is done",
        (("Microwave_oven", "/m/0fx9l"), *_DOMESTIC),
        0.5,
    ),
    Scenario(
        "noise",
        "bark",
        ("dog", "bark", "kitchen", "field-recording"),
        "Dog in the kitchen",
        "Our dog barking in the kitchen",
        _DOG,
        0.5,
    ),
    Scenario(
        "noise",
        "footsteps",
        ("footsteps", "stairs", "wood"),
        "Footsteps on stairs",
        "Walking down old wooden stairs",
        _STEPS,
        0.5,
    ),
    # animal
    Scenario(
        "animal",
        "bark",
        ("dog", "bark", "field-recording"),
        "Dog barking",
        "A dog barking at the gate",
        _DOG,
    ),
    Scenario(
        "animal",
        "chirps",
        ("bird", "birdsong", "nature", "field-recording"),
        "Birdsong in the garden",
        "Birds singing in the garden",
        _BIRD,
    ),
    Scenario(
        "animal",
        "chirps",
        ("birds", "warbler", "spring", "morning"),
        "Warbler",
        "A warbler singing on a spring morning",
        _BIRD,
    ),
    Scenario(
        "animal",
        "crickets",
        ("crickets", "insects", "night", "summer"),
        "Crickets at night",
        "Crickets on a warm summer night",
        (("Cricket", "/m/09xqv"), ("Insect", "/m/03vt0"), ("Animal", "/m/0jbk")),
    ),
    Scenario(
        "animal",
        "purr",
        ("cat", "purr", "pet"),
        "Cat purring",
        "Our cat purring on my lap",
        (("Purr", "/m/02yds9"), ("Cat", "/m/01yrx"), ("Domestic_animals_and_pets", "/m/068hy")),
    ),
    Scenario(
        "animal",
        "crickets",
        ("frogs", "pond", "chorus"),
        "Frogs at the pond",
        "A chorus of frogs at the pond",
        (("Frog", "/m/09ld4"), ("Animal", "/m/0jbk")),
    ),
    Scenario(
        "animal",
        "chirps",
        ("rooster", "farm", "hens"),
        "Farm yard morning",
        "Rooster and hens in the farm yard",
        (("Chicken_and_rooster", "/m/09b5t"), ("Fowl", "/m/025rv6n"), ("Animal", "/m/0jbk")),
    ),
    # music
    Scenario(
        "music",
        "notes",
        ("piano", "chord", "multisample"),
        "Piano chord",
        "Upright piano chord, part of a multisample",
        (("Piano", "/m/05r5c"), ("Keyboard_(musical)", "/m/05148p4"), *_MUSIC),
    ),
    Scenario(
        "music",
        "notes",
        ("guitar", "acoustic", "chord", "multisample"),
        "Acoustic chord",
        "Acoustic guitar chord, strummed once",
        (
            ("Acoustic_guitar", "/m/042v_gx"),
            ("Guitar", "/m/0342h"),
            ("Plucked_string_instrument", "/m/0fx80y"),
            *_MUSIC,
        ),
    ),
    Scenario(
        "music",
        "notes",
        ("violin", "strings", "single-note"),
        "Violin note",
        "A single sustained violin note",
        (("Violin_and_fiddle", "/m/07y_7"), ("Bowed_string_instrument", "/m/0l14_3"), *_MUSIC),
    ),
    Scenario(
        "music",
        "bells",
        ("bell", "church", "ringing"),
        "Church bell",
        "The church bell ringing at noon",
        (("Church_bell", "/m/03w41f"), ("Bell", "/m/0395lw"), *_MUSIC),
    ),
    Scenario(
        "music",
        "bells",
        ("doorbell", "ding-dong", "house"),
        "Doorbell",
        "Our doorbell, two tones",
        (("Doorbell", "/m/03wwcy"), *_DOMESTIC),
    ),
    Scenario(
        "music",
        "notes",
        ("flute", "melody", "loop"),
        "Flute melody",
        "A short flute melody",
        (("Flute", "/m/0l14j_"), ("Wind_instrument_and_woodwind_instrument", "/m/085jw"), *_MUSIC),
    ),
    Scenario(
        "music",
        "notes",
        ("synth", "electro", "chords"),
        "Electro chords",
        "Synth chords for an electro track",
        (("Synthesizer", "/m/0l14qv"), *_MUSIC),
    ),
    Scenario(
        "music",
        "beeps",
        ("phone", "ringtone", "notification"),
        "Phone notification",
        "A phone ringing with the default ringtone",
        (("Ringtone", "/m/01hnzm"), ("Telephone", "/m/07cx4")),
        0.5,
    ),
    Scenario(
        "music",
        "bells",
        ("windchime", "garden", "wind"),
        "Wind chime",
        "A wind chime on the porch",
        (("Wind_chime", "/m/026fgl"), ("Bell", "/m/0395lw")),
    ),
    # ambient
    Scenario(
        "ambient",
        "rain",
        ("rain", "window", "storm", "field-recording"),
        "Rain on window",
        "Rain against the bedroom window",
        (("Rain", "/m/06mb1"), ("Raindrop", "/m/07r10fb")),
    ),
    Scenario(
        "ambient",
        "rumble",
        ("traffic", "city", "street", "cars"),
        "City traffic",
        "Traffic on a busy city street",
        (("Traffic_noise_and_roadway_noise", "/m/0btp2"), *_VEHICLE),
    ),
    Scenario(
        "ambient",
        "wind",
        ("wind", "outdoor", "gusts"),
        "Wind gusts",
        "Gusts of wind in the open",
        (("Wind", "/m/03m9d0z"),),
    ),
    Scenario(
        "ambient",
        "rumble",
        ("fan", "air", "room-tone"),
        "Room fan",
        "A desk fan running in a quiet room",
        (("Mechanical_fan", "/m/02x984l"),),
    ),
    Scenario(
        "ambient",
        "rumble",
        ("vacuum", "cleaner", "household"),
        "Vacuum cleaner",
        "Vacuuming the living room",
        (("Vacuum_cleaner", "/m/0d31p"), *_DOMESTIC),
    ),
    Scenario(
        "ambient",
        "rumble",
        ("train", "subway", "metro", "station"),
        "Metro station",
        "A metro train arriving at the station",
        (
            ("Subway_and_metro_and_underground", "/m/0195fx"),
            ("Train", "/m/07jdr"),
            ("Rail_transport", "/m/06d_3"),
        ),
    ),
    Scenario(
        "ambient",
        "rain",
        ("water", "river", "stream", "nature"),
        "River stream",
        "A small river stream in the woods",
        (("Stream", "/m/0j6m2"), ("Water", "/m/0838f")),
    ),
    Scenario(
        "ambient",
        "rumble",
        ("engine", "motor", "idle", "garage"),
        "Engine idling",
        "A car engine idling in the garage",
        (("Engine", "/m/02mk9"), *_VEHICLE),
    ),
    # alarm
    Scenario(
        "alarm",
        "beeps",
        ("alarm", "beep", "beeping"),
        "Alarm clock",
        "The alarm clock beeping in the morning",
        (("Alarm_clock", "/m/046dlr"), ("Alarm", "/m/07pp_mv")),
    ),
    Scenario(
        "alarm",
        "siren",
        ("siren", "police", "emergency"),
        "Police siren",
        "A police car passing with its siren on",
        (
            ("Police_car_(siren)", "/m/04qvtq"),
            ("Siren", "/m/03kmc9"),
            ("Emergency_vehicle", "/m/03j1ly"),
        ),
    ),
    Scenario(
        "alarm",
        "beeps",
        ("smoke-detector", "alarm", "battery"),
        "Smoke detector",
        "The smoke detector chirping for a new battery",
        (("Smoke_detector_and_smoke_alarm", "/m/01y3hg"), ("Alarm", "/m/07pp_mv")),
    ),
    Scenario(
        "alarm",
        "siren",
        ("kettle", "whistle", "steam"),
        "Kettle whistle",
        "The kettle whistling on the stove",
        _DOMESTIC,
    ),
    Scenario(
        "alarm",
        "blasts",
        ("fireworks", "explosion", "bang", "new-year"),
        "Fireworks",
        "Fireworks over the city on new year's eve",
        (("Fireworks", "/m/0g6b5"), ("Explosion", "/m/014zdl")),
    ),
    Scenario(
        "alarm",
        "beeps",
        ("phone", "ringing", "landline"),
        "Landline ringing",
        "The old landline phone ringing",
        (("Telephone", "/m/07cx4"),),
    ),
    Scenario(
        "alarm",
        "blasts",
        ("thunder", "storm", "rumble"),
        "Thunder",
        "Distant thunder during a storm",
        (("Thunder", "/m/0ngt1"), ("Thunderstorm", "/m/0jb2l")),
    ),
    # movement
    Scenario(
        "movement",
        "footsteps",
        ("footsteps", "walking", "gravel"),
        "Footsteps on gravel",
        "Walking on a gravel path",
        _STEPS,
    ),
    Scenario(
        "movement",
        "footsteps",
        ("running", "steps", "corridor"),
        "Running in corridor",
        "Someone running down a corridor",
        (("Run", "/m/06h7j"), *_STEPS),
    ),
    Scenario(
        "movement",
        "hooves",
        ("horse", "hooves", "trot"),
        "Horse trotting",
        "A horse trotting on a paved road",
        (("Clip-clop", "/m/07rv9rh"), ("Horse", "/m/03k3r"), ("Animal", "/m/0jbk")),
    ),
    Scenario(
        "movement",
        "footsteps",
        ("footstep", "snow", "walk"),
        "Steps in snow",
        "Slow steps in fresh snow",
        _STEPS,
    ),
    # other
    Scenario(
        "other",
        "mixture",
        ("field-recording", "atmosphere", "misc"),
        "Atmosphere",
        "General atmosphere, a bit of everything",
        _DOMESTIC,
    ),
    Scenario(
        "other",
        "bark",
        ("dogs-barking", "backyard"),
        "Dogs barking",
        "The neighbours' dogs barking in the backyard",
        _DOG,
    ),
    Scenario(
        "other",
        "chirps",
        ("birds-singing", "dawn-chorus"),
        "Dawn chorus",
        "Birds singing at dawn",
        _BIRD,
    ),
    Scenario(
        "other",
        "footsteps",
        ("footsteps-on-snow", "winter"),
        "Footsteps on snow",
        "Footsteps on snow in winter",
        _STEPS,
    ),
    Scenario(
        "other",
        "hiss",
        ("hiss", "rustle", "stove-pipe"),
        "Stove pipe hiss",
        "Hiss and rustle from the stove pipe",
        (("Hiss", "/m/07rjwbb"),),
    ),
    Scenario(
        "other",
        "notes",
        ("synthesizer", "pad", "ambient-drone"),
        "Synth pad",
        "A slow synthesizer pad",
        (("Synthesizer", "/m/0l14qv"), *_MUSIC),
    ),
    Scenario(
        "other",
        "mixture",
        ("glitch", "experimental", "texture"),
        "Glitch texture",
        "Experimental glitch texture",
        (("Music", "/m/04rlf"),),
    ),
    Scenario(
        "other",
        "mixture",
        ("sample-pack", "multisample", "various"),
        "Sample pack",
        "Assorted one-shots from a sample pack",
        _DOMESTIC,
    ),
    Scenario(
        "other",
        "rumble",
        ("car-passing", "street"),
        "Car passing",
        "A car passing on a wet street",
        _VEHICLE,
    ),
)
