"""A GCS emulator (gcp-storage-emulator, in memory, bucket ``models``) on 127.0.0.1 for publish.

deploy lists a model base's versions through tf.io.gfile and uploads with google-cloud-storage,
so the environment that reaches the emulator both ways (``tests/helpers/gcs.py``) is set for the
module; the fixture yields the emulator's URL (``STORAGE_EMULATOR_HOST``).
"""

import pytest

from tests.helpers.gcs import gcs_emulator as emulator


@pytest.fixture(scope="module")
def gcs_emulator(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gcs-tls")
    with emulator(folder, bucket="models") as environment, pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        yield environment["STORAGE_EMULATOR_HOST"]
