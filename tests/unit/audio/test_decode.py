"""Every way a file can be unusable gets its own dead-letter reason; good formats decode."""

import numpy as np
import pytest

from components.audio import decode, wav
from tests.helpers import wavs
from tests.helpers.audio import tone, wav_bytes
from tests.helpers.audio_files import decode_data


def reason_of(data: bytes) -> str:
    with pytest.raises(decode.AudioDecodeError) as caught:
        decode_data(data)
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


def test_degenerate_clips_are_dead_lettered_instead_of_padded(tmp_path):
    assert wav.MIN_INPUT_MS == 100
    assert reason_of(wav_bytes(np.array([0.3], np.float32), 16000)) == "too_short"
    assert reason_of(wav_bytes(tone(440.0, 0.099, 16000), 16000)) == "too_short"
    assert decode_data(wav_bytes(tone(440.0, 0.1, 16000), 16000)).frames == 1600
    # 23 ms of audio under a header claiming 4 GB: libsndfile alone would read the 23 ms
    claims_4gb = wavs.overclaim(wav_bytes(tone(440.0, 0.023, 44100), 44100), 0xFFFFFFF0)
    assert reason_of(claims_4gb) == "truncated"
    path = tmp_path / "claims_4gb.wav"  # the descriptor path reads the header the same way
    path.write_bytes(claims_4gb)
    with pytest.raises(decode.AudioDecodeError, match="declares 2147483640 frames .* holds 1014"):
        decode.decode_file(str(path))
    longer = wav_bytes(tone(440.0, 0.5, 16000), 16000)
    assert reason_of(wavs.overclaim(longer, 16000 + 2)) == "truncated"  # one frame missing
    assert decode_data(wavs.overclaim(longer, 16000)).frames == 8000  # claims less: fine


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_bit_depths_decode_to_the_same_signal(subtype):
    samples = tone(440.0, 0.5, 22050)
    decoded = decode_data(wav_bytes(samples, 22050, subtype))
    assert decoded.sample_rate == 22050 and decoded.channels == 1
    np.testing.assert_allclose(decoded.mono(), samples, atol=1e-4)


def test_real_ogg_and_wav_files_decode(shared_audio):
    for path in [
        *sorted((shared_audio / "librosa-data").glob("*.ogg"))[:2],
        *sorted((shared_audio / "fsdd").glob("*.wav"))[:2],
    ]:
        decoded = decode.decode_file(str(path))
        assert decoded.duration_s > 0.1
