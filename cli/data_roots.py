"""The repeatable ``--data-root``/``--data-format`` pair that ``ingest`` and ``run`` take.

``--data-root A --data-format esc50 --data-root B --data-format manifest`` names two datasets: the
n-th ``--data-format`` is the n-th root's, one given once is every root's, none means the
pipeline's default layout (``fsd50k``). The first root is ingest's ``data_root``, the others its
``more_data_roots``: each is split on its own, then merged by source recording
(``components/ingest/merge.py``).
"""

import argparse

from cli.flags import PATHS, UsageError
from components.ingest.config import DEFAULT_FORMAT, FORMATS, DataRoot


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Adds the required, repeatable ``--data-root`` and the repeatable ``--data-format``."""
    help = f"{PATHS['data-root']}; repeat it to merge several datasets"
    parser.add_argument("--data-root", action="append", required=True, help=help)
    help = f"layout of each --data-root, in order, or once for all (default {DEFAULT_FORMAT})"
    parser.add_argument("--data-format", action="append", choices=FORMATS, default=[], help=help)


def parse(args: argparse.Namespace) -> list[DataRoot]:
    """The data roots the flags name, the first one first.

    Raises:
        UsageError: Several ``--data-format`` that are not one per ``--data-root``.
    """
    roots, formats = args.data_root, args.data_format or [DEFAULT_FORMAT]
    if len(formats) == 1:
        formats = formats * len(roots)
    if len(formats) != len(roots):
        raise UsageError(
            f"{len(roots)} --data-root but {len(formats)} --data-format: give one format per "
            "root (in the same order) or one for all"
        )
    return [DataRoot(root, data_format) for root, data_format in zip(roots, formats, strict=True)]
