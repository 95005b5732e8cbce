"""The category-name taxonomy bins ESC-50's and UrbanSound8K's names; the study's misses some."""

from collections import Counter

from components.audio.labels import CLASS_NAMES
from components.ingest import taxonomy

ESC50 = (
    "airplane breathing brushing_teeth can_opening car_horn cat chainsaw chirping_birds "
    "church_bells clapping clock_alarm clock_tick coughing cow crackling_fire crickets crow "
    "crying_baby dog door_wood_creaks door_wood_knock drinking_sipping engine fireworks footsteps "
    "frog glass_breaking hand_saw helicopter hen insects keyboard_typing laughing mouse_click pig "
    "pouring_water rain rooster sea_waves sheep siren sneezing snoring thunderstorm toilet_flush "
    "train vacuum_cleaner washing_machine water_drops wind"
).split()
US8K = (
    "air_conditioner car_horn children_playing dog_bark drilling engine_idling gun_shot "
    "jackhammer siren street_music"
).split()


def _classify(path: str, names: list[str]) -> dict[str, taxonomy.Match]:
    rules = taxonomy.load(path)
    return {name: rules.classify(taxonomy.normalize_tags([name])) for name in names}


def test_every_category_name_gets_one_unambiguous_class_other_than_other():
    matches = _classify(taxonomy.CATEGORIES_TAXONOMY_PATH, ESC50 + US8K)
    assert len(ESC50) == 50 and len(US8K) == 10
    assert all(m.label != "other" and not m.ambiguous for m in matches.values())
    assert {m.label for m in matches.values()} == set(CLASS_NAMES) - {"other"}
    expected = {
        "car_horn": "alarm", "clock_alarm": "alarm", "glass_breaking": "alarm",
        "thunderstorm": "alarm", "coughing": "human", "breathing": "human", "cow": "animal",
        "dog_bark": "animal", "drilling": "ambient", "jackhammer": "ambient",
        "chainsaw": "ambient", "church_bells": "music", "footsteps": "movement",
        "hand_saw": "noise", "children_playing": "human",
    }  # fmt: skip
    assert {name: matches[name].label for name in expected} == expected


def test_the_study_taxonomy_sends_ten_esc50_and_two_us8k_names_to_other():
    # What docs/data.md reports: the seed's word-for-word lists miss or misfire on these names.
    esc50, us8k = _classify("", ESC50), _classify("", US8K)
    assert sorted(n for n, m in esc50.items() if m.label == "other") == [
        "brushing_teeth", "chainsaw", "coughing", "cow", "crow", "drinking_sipping", "sheep",
        "sneezing", "snoring", "thunderstorm",
    ]  # fmt: skip
    assert sorted(n for n, m in us8k.items() if m.label == "other") == ["drilling", "jackhammer"]
    assert esc50["car_horn"].label == us8k["car_horn"].label == "music"
    assert (esc50["clock_alarm"].label, esc50["clock_alarm"].matched_tag) == ("noise", "clock")
    assert Counter(m.label for m in esc50.values())["ambient"] == 13
