import json

import pytest

from components.audio.labels import CLASS_NAMES
from components.ingest import taxonomy
from components.ingest.taxonomy import Match, TaxonomyError, normalize_tags

# Sizes of the keyword lists in the seed notebook's final version (noise counts the fused
# "writesharpening" as the two keywords it was meant to be).
SEED_LIST_SIZES = {
    "human": 30,
    "noise": 93,
    "animal": 48,
    "music": 50,
    "ambient": 55,
    "alarm": 26,
    "movement": 11,
    "other": 0,
}


@pytest.fixture(scope="module")
def seed():
    return taxonomy.load()


def _document() -> dict:
    with open(taxonomy.DEFAULT_TAXONOMY_PATH) as handle:
        return json.load(handle)


def test_packaged_taxonomy_lists_the_seed_classes_in_index_order():
    document = _document()
    assert tuple(c["name"] for c in document["classes"]) == CLASS_NAMES
    assert document["precedence"] == list(CLASS_NAMES[:-1])
    assert document["fallback"] == "other"


def test_packaged_keyword_lists_match_the_seed_notebook(seed):
    assert {name: len(words) for name, words in seed.keywords.items()} == SEED_LIST_SIZES
    spot_checks = {
        "human": {"human", "conversations", "laughs", "girl"},
        "noise": {"keyboard", "bass-drum", "percussion", "doorslam", "tear", "kitchen"},
        "animal": {"dog", "animal-sounds", "fart", "geese"},
        "music": {"single-note", "doorbell", "windchime", "metalic", "xylophone"},
        "ambient": {"environmental-sounds-research", "london", "blendering", "flame"},
        "alarm": {"spark", "breaking-glass", "steam", "shotgun"},
        "movement": {"footsteps", "clop", "hooves", "footstep"},
    }
    for name, words in spot_checks.items():
        assert words <= seed.keywords[name], name
    assert "horse" in seed.keywords["movement"] and "horse" not in seed.keywords["animal"]


def test_fused_write_sharpening_keyword_is_split_and_documented(seed):
    assert {"write", "sharpening"} <= seed.keywords["noise"]
    assert not any("writesharpening" in words for words in seed.keywords.values())
    document = _document()
    assert "writesharpening" in document["description"]
    assert any("write" in fix and "sharpening" in fix for fix in document["fixes"])
    assert seed.classify(["sharpening", "pencil"]).label == "noise"


def test_first_matching_list_in_precedence_order_wins(seed):
    # percussion is a noise keyword and noise comes before music
    assert seed.classify(["drums", "percussion", "groovy"]) == Match(
        "noise", "noise", "drums", ("noise", "music")
    )
    # human beats everything, whatever the tag order
    assert seed.classify(["bird", "guitar", "man"]).label == "human"
    # xylophone is in both the noise and the music lists
    assert seed.classify(["xylophone"]).matched_classes == ("noise", "music")


def test_matched_tag_is_the_first_clip_tag_in_the_winning_list(seed):
    match = seed.classify(["field-recording", "bark", "dog"])
    assert (match.rule, match.matched_tag) == ("animal", "bark")


def test_ambiguity_flag_marks_clips_matching_several_classes(seed):
    assert seed.classify(["dog", "kitchen"]).ambiguous
    assert not seed.classify(["dog", "bark", "dogs"]).ambiguous


def test_unmatched_clips_fall_back_to_other_with_rule_none(seed):
    match = seed.classify(["dogs-barking", "field-recording"])
    assert match == Match("other", taxonomy.NO_RULE, None, ())
    assert not match.ambiguous
    assert seed.classify([]).label == "other"


def test_matching_is_exact_without_normalisation(seed):
    assert seed.classify(["Dog"]).label == "other"
    assert seed.classify(["crying_baby"]).label == "other"


def test_normalisation_unifies_separators_and_adds_words():
    assert normalize_tags(["Crying_Baby", "field recording", "bass-drum"]) == [
        "crying-baby",
        "crying",
        "baby",
        "field-recording",
        "field",
        "recording",
        "bass-drum",
        "bass",
        "drum",
    ]
    assert normalize_tags(["Dog", "dog", "  ", "door_wood_knock"]) == [
        "dog",
        "door-wood-knock",
        "door",
        "wood",
        "knock",
    ]


@pytest.mark.parametrize(
    ("category", "label"),
    [
        ("crying_baby", "human"),
        ("dog", "animal"),
        ("chirping_birds", "animal"),
        ("door_wood_knock", "noise"),
        ("vacuum_cleaner", "ambient"),
        ("siren", "alarm"),
        ("glass_breaking", "noise"),  # "breaking" is a noise keyword and noise comes first
        ("footsteps", "movement"),
        ("church_bells", "music"),
        ("sneezing", "other"),
    ],
)
def test_normalised_esc50_categories_reach_their_class(seed, category, label):
    assert seed.classify(normalize_tags([category])).label == label


def _write(tmp_path, document) -> str:
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def test_custom_taxonomy_file_is_loaded(tmp_path):
    document = _document()
    document["classes"][6]["keywords"].append("dogs-barking")
    document["precedence"] = ["movement", *document["precedence"][:-1]]
    custom = taxonomy.load(_write(tmp_path, document))
    assert custom.classify(["dogs-barking", "man"]).label == "movement"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["classes"].reverse(), "must equal"),
        (lambda d: d["classes"][0]["keywords"].append("man"), "duplicate keyword"),
        (lambda d: d["classes"][7]["keywords"].append("x"), "must have no keywords"),
        (lambda d: d["precedence"].pop(), "each class except the fallback"),
        (lambda d: d.update(fallback="noise"), "must have no keywords"),
        (lambda d: d["classes"][1].update(keywords="keyboard"), "list of non-empty strings"),
        (lambda d: d.pop("precedence"), "missing key"),
    ],
)
def test_invalid_taxonomy_files_fail_with_a_precise_error(tmp_path, mutate, message):
    document = _document()
    mutate(document)
    path = _write(tmp_path, document)
    with pytest.raises(TaxonomyError, match=message) as error:
        taxonomy.load(path)
    assert path in str(error.value)


def test_unreadable_taxonomy_files_fail_with_a_precise_error(tmp_path):
    with pytest.raises(TaxonomyError, match="not valid JSON"):
        taxonomy.load(_write(tmp_path, "{not json"))
    with pytest.raises(TaxonomyError, match="file not found"):
        taxonomy.load(str(tmp_path / "missing.json"))
