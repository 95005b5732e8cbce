"""ingest's configuration: the dataset layouts it reads, ``DataRoot`` and ``IngestConfig``.

TensorFlow-free, so the KFP wrapper, the pipeline and the command line read the layouts and
defaults from here. Field metadata ``help`` (and ``flag``) is what ``household-sounds ingest``
shows; fields without it are not command-line options (the data roots and their layouts are
``cli/data_roots.py``'s ``--data-root``/``--data-format`` pairs).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

DataFormat = Literal["fsd50k", "esc50", "manifest"]
FORMATS: tuple[str, ...] = get_args(DataFormat)
DEFAULT_FORMAT: DataFormat = "fsd50k"  # the pipeline's and `household-sounds run`'s default
MANIFEST_POOL = {"train": 0.8, "validation": 0.1, "test": 0.1}
_NORMALIZE_BY_DEFAULT = {"fsd50k": False, "esc50": True, "manifest": True}


@dataclass(frozen=True)
class DataRoot:
    """One dataset to ingest: where it is and its layout.

    Attributes:
        root: Dataset root or a manifest CSV's path, local or ``gs://``.
        data_format: Its layout: ``fsd50k``, ``esc50`` or ``manifest``.
    """

    root: str
    data_format: DataFormat

    def __post_init__(self) -> None:
        if self.data_format not in FORMATS:
            raise ValueError(
                f"data root {self.root!r}: format {self.data_format!r} is not one of {FORMATS}"
            )

    @classmethod
    def parse(cls, entry: Mapping[str, str]) -> "DataRoot":
        """A ``{"data_root": ..., "data_format": ...}`` entry (the pipeline parameter's form).

        Raises:
            ValueError: An entry that is not such an object.
        """
        if not isinstance(entry, Mapping) or set(entry) != {"data_root", "data_format"}:
            raise ValueError(
                f"more_data_roots entry {entry!r}: expected "
                '{"data_root": "<path or gs://...>", "data_format": "<fsd50k|esc50|manifest>"}'
            )
        return cls(str(entry["data_root"]), entry["data_format"])

    def entry(self) -> dict[str, str]:
        """The ``{"data_root": ..., "data_format": ...}`` form ``parse`` reads."""
        return {"data_root": self.root, "data_format": self.data_format}


@dataclass(frozen=True)
class IngestConfig:
    """How to read, label and split a dataset.

    Attributes:
        data_format: Layout of ``data_root``: ``fsd50k``, ``esc50`` or ``manifest``.
        taxonomy_path: Taxonomy JSON (local or ``gs://``) or a packaged taxonomy's name
            (``study``, ``categories``); empty means the packaged seed taxonomy.
        normalize_tags: Tag normalisation (see ``taxonomy.normalize_tags``); None picks each
            format's default: off for FSD50K (the seed's exact matching), on for ESC-50 and
            manifest CSVs.
        seed: Seed of the grouped split of clips whose split the layout does not fix.
        validation_fraction: Share of FSD50K eval that becomes validation (the rest is test).
        allowed_roots: Folders, ``gs://bucket`` or ``gs://bucket/prefix`` roots besides the data
            root that the metadata's audio URIs may point into; anything else is rejected.
        more_data_roots: Further datasets, each read with its own layout and split as if alone,
            then merged with ``data_root``'s into one manifest by source recording
            (``merge.py``).
    """

    data_format: DataFormat = DEFAULT_FORMAT
    taxonomy_path: str = field(
        default="",
        metadata={
            "help": "taxonomy JSON, or a packaged one: study (the default) or categories",
            "flag": "--taxonomy",
        },
    )
    normalize_tags: bool | None = None
    seed: int = field(default=0, metadata={"help": "split seed"})
    validation_fraction: float = 0.5
    allowed_roots: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "repeatable: a folder, gs://bucket or gs://bucket/prefix besides the data "
            "root that audio URIs may point into (anything else is rejected)",
            "flag": "--allow-root",
            "metavar": "ROOT",
        },
    )
    more_data_roots: tuple[DataRoot, ...] = ()

    def __post_init__(self) -> None:
        if self.data_format not in FORMATS:
            raise ValueError(f"data_format {self.data_format!r} is not one of {FORMATS}")
        if not 0.0 <= self.validation_fraction <= 1.0:
            raise ValueError(f"validation_fraction {self.validation_fraction} is not in [0, 1]")

    def normalizes(self, data_format: str) -> bool:
        """Whether tags of a ``data_format`` dataset are normalised, after the format default."""
        if self.normalize_tags is None:
            return _NORMALIZE_BY_DEFAULT[data_format]
        return self.normalize_tags

    def pool_fractions(self, data_format: str) -> dict[str, float]:
        """Split shares for a ``data_format`` dataset's clips whose layout fixes no split."""
        if data_format == "fsd50k":
            return {"validation": self.validation_fraction, "test": 1 - self.validation_fraction}
        return dict(MANIFEST_POOL)
