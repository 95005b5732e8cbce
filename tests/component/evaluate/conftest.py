"""The synthetic run both evaluate component test modules read (tests/helpers/evaluation_run)."""

import pytest

from tests.helpers.evaluation_run import write_synthetic_run


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """A tiny run: 3 models (one Keras-like, LR, RF), manifest, clip stats, test mean-MFCC."""
    return write_synthetic_run(tmp_path_factory.mktemp("run"))
