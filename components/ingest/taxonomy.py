"""Tag → class binning driven by a taxonomy file (data, not code), with an audit trail per clip.

A taxonomy JSON file lists the classes in index order (they must equal
``components.audio.labels.CLASS_NAMES``), one keyword list per class, the ``precedence`` in which
the lists are tried and the ``fallback`` class for clips no list matches. The packaged default,
``taxonomy.json`` next to this module, is the seed study's final binning, verbatim except for one
documented fix (the notebook's missing comma fused "write" and "sharpening");
``taxonomy_categories.json`` maps ESC-50's and UrbanSound8K's category names instead; ``load``
takes either by its name (``PACKAGED``: ``study``, ``categories``), so a pipeline parameter can
name one that lies wherever the package is installed. ``classify``
applies the seed's rule — exact, word-for-word tag matching, first list in precedence order wins —
and records which rule and tag fired, every class that matched and whether the clip is
ambiguous (several classes matched). ``normalize_tags`` is the optional tag clean-up: lower-case,
``_`` and whitespace read as the ``-`` separator FSD50K uses (``field recording`` →
``field-recording``), and the single words of multi-word tags added after the tag itself
(ESC-50's ``crying_baby`` → ``crying-baby``, ``crying``, ``baby``). It is off by default for
FSD50K (the seed's behaviour) and on for ESC-50 and manifest CSVs, whose labels are written as
``snake_case`` phrases.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from components.audio.labels import CLASS_NAMES

DEFAULT_TAXONOMY_PATH = str(Path(__file__).with_name("taxonomy.json"))
# ESC-50's and UrbanSound8K's category names as whole phrases (select it with ``--taxonomy``).
CATEGORIES_TAXONOMY_PATH = str(Path(__file__).with_name("taxonomy_categories.json"))
# The packaged taxonomies by name: what ``load`` accepts besides a path.
PACKAGED: dict[str, str] = {"study": DEFAULT_TAXONOMY_PATH, "categories": CATEGORIES_TAXONOMY_PATH}
NO_RULE = "none"
_SEPARATORS = re.compile(r"[\s_-]+")


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Match:
    """How one clip's tags were binned.

    Attributes:
        label: The class the clip gets (the fallback when nothing matched).
        rule: The class whose keyword list fired first, or ``"none"``.
        matched_tag: The clip tag that fired that rule, or None.
        matched_classes: Every class whose list shares a tag with the clip, in precedence order.
    """

    label: str
    rule: str
    matched_tag: str | None
    matched_classes: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        """Whether more than one class matched (the first one silently won)."""
        return len(self.matched_classes) > 1


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy: keyword sets per class and the order they are tried in."""

    name: str
    source: str
    precedence: tuple[str, ...]
    fallback: str
    keywords: dict[str, frozenset[str]]

    def classify(self, tags: list[str] | tuple[str, ...]) -> Match:
        """Bins one clip's tags by first match in precedence order.

        Args:
            tags: The clip's tags, compared exactly (normalise them first if wanted).

        Returns:
            The label and the audit trail of the decision.
        """
        matched: list[tuple[str, str]] = []
        for name in self.precedence:
            tag = next((tag for tag in tags if tag in self.keywords[name]), None)
            if tag is not None:
                matched.append((name, tag))
        if not matched:
            return Match(self.fallback, NO_RULE, None, ())
        rule, tag = matched[0]
        return Match(rule, rule, tag, tuple(name for name, _ in matched))


def normalize_tags(tags: list[str] | tuple[str, ...]) -> list[str]:
    """Lower-cases tags, unifies separators to ``-`` and adds the words of multi-word tags.

    Args:
        tags: Raw tags, e.g. ``["Crying_Baby", "field recording"]``.

    Returns:
        Unique tags in first-seen order, each multi-word tag followed by its words, e.g.
        ``["crying-baby", "crying", "baby", "field-recording", "field", "recording"]``.
    """
    out: dict[str, None] = {}
    for tag in tags:
        words = [word for word in _SEPARATORS.split(tag.strip().lower()) if word]
        if not words:
            continue
        out["-".join(words)] = None
        if len(words) > 1:
            out.update(dict.fromkeys(words))
    return list(out)


def load(path: str = "") -> Taxonomy:
    """Reads and validates a taxonomy file.

    Args:
        path: Local or ``gs://`` path of the JSON file, or a packaged taxonomy's name
            (``PACKAGED``); empty means the packaged seed taxonomy.

    Returns:
        The validated taxonomy.

    Raises:
        TaxonomyError: If the file is not valid JSON or breaks any rule of the format.
    """
    path = PACKAGED.get(path, path) or DEFAULT_TAXONOMY_PATH
    try:
        with tf.io.gfile.GFile(path, "r") as handle:
            document = json.loads(handle.read())
    except json.JSONDecodeError as error:
        raise TaxonomyError(f"{path}: not valid JSON ({error})") from None
    except tf.errors.NotFoundError:
        raise TaxonomyError(f"{path}: file not found") from None
    return parse(document, path)


def parse(document: object, source: str = "<taxonomy>") -> Taxonomy:
    """Validates a decoded taxonomy document.

    Args:
        document: The decoded JSON value.
        source: Where it came from, used in error messages.

    Returns:
        The validated taxonomy.

    Raises:
        TaxonomyError: Naming the first rule the document breaks.
    """

    def fail(problem: str) -> TaxonomyError:
        return TaxonomyError(f"{source}: {problem}")

    if not isinstance(document, dict):
        raise fail("top level must be an object")
    missing = {"classes", "precedence", "fallback"} - set(document)
    if missing:
        raise fail(f"missing key(s) {sorted(missing)}")
    classes = document["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, dict) for c in classes):
        raise fail("'classes' must be a list of {name, keywords} objects")
    names = tuple(c.get("name") for c in classes)
    if names != CLASS_NAMES:
        raise fail(f"class names {list(names)} must equal {list(CLASS_NAMES)}, in that order")
    keywords: dict[str, frozenset[str]] = {}
    for entry in classes:
        name, words = entry["name"], entry.get("keywords")
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise fail(f"class {name!r}: 'keywords' must be a list of non-empty strings")
        if len(set(words)) != len(words):
            duplicates = sorted({w for w in words if words.count(w) > 1})
            raise fail(f"class {name!r}: duplicate keyword(s) {duplicates}")
        keywords[name] = frozenset(words)
    fallback = document["fallback"]
    if fallback not in keywords:
        raise fail(f"fallback {fallback!r} is not a class")
    if keywords[fallback]:
        raise fail(f"fallback class {fallback!r} must have no keywords")
    precedence = document["precedence"]
    expected = sorted(set(CLASS_NAMES) - {fallback})
    if not isinstance(precedence, list) or sorted(precedence) != expected:
        raise fail(f"'precedence' must list each class except the fallback once: {expected}")
    empty = [name for name in precedence if not keywords[name]]
    if empty:
        raise fail(f"class(es) {empty} in 'precedence' have no keywords")
    return Taxonomy(
        name=str(document.get("name", "")),
        source=source,
        precedence=tuple(precedence),
        fallback=fallback,
        keywords=keywords,
    )
