"""Every way a file can be unusable gets its own dead-letter reason; good formats decode."""

import numpy as np
import pytest

from components.audio import decode
from tests.conftest import tone, wav_bytes


def reason_of(data: bytes) -> str:
    with pytest.raises(decode.AudioDecodeError) as caught:
        decode.decode_bytes(data)
    return caught.value.reason


def test_broken_inputs_have_precise_reasons():
    good = wav_bytes(tone(440.0, 1.0, 16000), 16000)
    assert reason_of(b"") == "empty_file"
    assert reason_of(b"this is not audio at all" * 10) == "undecodable"
    assert reason_of(good[:30]) in {"undecodable", "no_samples"}
    assert reason_of(wav_bytes(np.zeros(16000, np.float32), 16000)) == "silent"
    assert reason_of(wav_bytes(np.zeros((0,), np.float32), 16000)) == "no_samples"
    nan = tone(440.0, 0.5, 16000)
    nan[100] = np.nan
    assert reason_of(wav_bytes(nan, 16000, subtype="FLOAT")) == "non_finite"
    assert reason_of(wav_bytes(tone(440.0, 0.5, 12345), 12345)) == "unsupported_rate"


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_bit_depths_decode_to_the_same_signal(subtype):
    samples = tone(440.0, 0.5, 22050)
    decoded = decode.decode_bytes(wav_bytes(samples, 22050, subtype))
    assert decoded.sample_rate == 22050 and decoded.channels == 1
    np.testing.assert_allclose(decoded.mono(), samples, atol=1e-4)


def test_real_ogg_and_wav_files_decode(shared_audio):
    for path in [
        *sorted((shared_audio / "librosa-data").glob("*.ogg"))[:2],
        *sorted((shared_audio / "fsdd").glob("*.wav"))[:2],
    ]:
        decoded = decode.decode_bytes(path.read_bytes())
        assert decoded.duration_s > 0.1
