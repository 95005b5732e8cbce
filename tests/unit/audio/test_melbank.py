"""The mel filterbank applied in runs of bands: the dense product's values, fewer products."""

import numpy as np
import pytest
import tensorflow as tf

from components.audio import features, melbank, mn04_frontend

BANKS = {"kaldi": mn04_frontend.kaldi_mel_matrix, "slaney": features.mel_filterbank}


@pytest.mark.parametrize("bank", sorted(BANKS))
@pytest.mark.parametrize("runs", [1, 2, 3, 5])
def test_runs_cover_every_band_once_and_every_weight(bank, runs):
    matrix = BANKS[bank]()
    found = melbank.groups(matrix, runs)
    assert 1 <= len(found) <= runs
    assert [run.first_band for run in found] == [0, *[run.end_band for run in found[:-1]]]
    assert found[-1].end_band == matrix.shape[0]
    for run in found:
        rows = matrix[run.first_band : run.end_band]
        outside = np.delete(rows, np.s_[run.first_bin : run.end_bin], axis=1)
        assert not outside.any()  # no weight is left out of a run's bins
    assert sum(run.size for run in found) <= matrix.size


def test_more_runs_multiply_fewer_weights():
    matrix = mn04_frontend.kaldi_mel_matrix()
    sizes = [sum(run.size for run in melbank.groups(matrix, runs)) for runs in (1, 2, 3, 4)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] / 4
    assert sum(run.size for run in melbank.groups(matrix)) < 0.3 * matrix.size


def test_bands_of_zeros_are_allowed():
    matrix = np.zeros((4, 10), np.float32)
    matrix[1, 2:5] = 1.0
    found = melbank.groups(matrix, 3)
    assert found[-1].end_band == 4 and sum(run.size for run in found) == 3


@pytest.mark.parametrize("bank", sorted(BANKS))
def test_the_product_equals_the_dense_one_bands_first(bank):
    matrix = BANKS[bank]()
    rng = np.random.default_rng(0)
    power = (rng.random((2, 50, matrix.shape[1])) ** 4 * 100).astype(np.float32)
    dense = np.einsum("mk,bfk->bmf", matrix.astype(np.float64), power.astype(np.float64))
    banded = melbank.apply(tf.constant(power), matrix).numpy()
    assert banded.shape == (2, matrix.shape[0], 50)
    np.testing.assert_allclose(banded, dense, rtol=1e-5, atol=1e-6)
