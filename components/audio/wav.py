"""A RIFF/WAVE parser in TensorFlow string ops, so the served graph reads every common WAV itself.

``tf.audio.decode_wav`` reads 16-bit PCM only, while recorders, DAWs and phones write 8-bit
unsigned, 24- and 32-bit PCM, 32/64-bit IEEE float and WAVE_FORMAT_EXTENSIBLE files. ``decode``
walks the chunks of a whole file held in a scalar string tensor (``LIST``, ``fact``, ``cue `` and
any other chunk, in any order, each padded to an even size), reads the ``fmt `` chunk (format
tag, or the sub-format GUID of an extensible file), checks the request's size, the header, the
declared duration against ``MAX_INPUT_SECONDS``, that the declared data is all there (a header
claiming more is a truncated file) and holds at least ``MIN_INPUT_MS`` *before* touching the
samples, then decodes them with ``tf.io.decode_raw`` and integer arithmetic. Samples are
scaled exactly as libsndfile (``soundfile``, the Beam path) scales them: integer PCM divided by
2^(bits-1), unsigned 8-bit centred on 128, float passed through (64-bit rounded to 32). Every
malformed input raises ``InvalidArgumentError`` (TF Serving's ``INVALID_ARGUMENT``) with a message
saying what is wrong. Only core TF ops are used (no ``py_function``, no tensorflow-io), so TF
Serving runs the graph.
"""

import tensorflow as tf

from components.audio.resample import SUPPORTED_RATES

# Longest audio and largest request the served model accepts, both checked before decoding:
# 10 min is 239 overlapping 5 s windows; 128 MiB holds 10 min of 48 kHz stereo 16-bit audio
# (115 MB). Send longer recordings in parts.
MAX_INPUT_SECONDS = 600
# Shortest audio either path accepts: a clip of a few samples carries no sound to learn from (it
# would become 5 s of padding silence), so featurize dead-letters it (``too_short``) and the
# served model refuses it.
MIN_INPUT_MS = 100
MAX_WAV_BYTES = 128 * 1024 * 1024
MAX_CHANNELS = 8
# Largest sample magnitude (full scale is 1): a corrupt float file holds values like 1e30 whose
# spectrogram overflows to NaN scores; featurize's ``DecodeLimits.max_peak`` is the same bound.
MAX_PEAK = 64.0
# Chunks walked before giving up (a real file has a handful; this bounds a hostile one).
MAX_CHUNKS = 64

PCM, IEEE_FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
# Bytes 2..15 of KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT (the first two are the format tag).
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FMT_BYTES = 40  # the extensible fmt chunk; a plain one has 16 (or 18) bytes
# (format, bits) pairs, in the order of the decoder branches below.
_ENCODINGS = ((PCM, 8), (PCM, 16), (PCM, 24), (PCM, 32), (IEEE_FLOAT, 32), (IEEE_FLOAT, 64))


def _little_endian(byte_values: tf.Tensor) -> tf.Tensor:
    """Unsigned little-endian integer of a ``[n]`` uint8-valued int64 tensor (n ≤ 4)."""
    weights = tf.constant([1, 1 << 8, 1 << 16, 1 << 24], tf.int64)[: tf.shape(byte_values)[0]]
    return tf.reduce_sum(byte_values * weights)


def _substr(data: tf.Tensor, pos: tf.Tensor, length: int) -> tf.Tensor:
    """``length`` bytes of ``data`` from ``pos``, zero-filled past the end (never out of range)."""
    end = tf.cast(tf.strings.length(data, "BYTE"), tf.int64)
    piece = tf.strings.substr(data, tf.clip_by_value(tf.cast(pos, tf.int64), 0, end), length)
    return tf.strings.substr(tf.strings.join([piece, "\0" * length]), 0, length)


def _bytes_at(data: tf.Tensor, pos: tf.Tensor, length: int) -> tf.Tensor:
    """``_substr`` as ``[length]`` int64 byte values."""
    return tf.cast(tf.io.decode_raw(_substr(data, pos, length), tf.uint8), tf.int64)


def _find_chunks(data: tf.Tensor, size: tf.Tensor) -> dict[str, tf.Tensor]:
    """Walks the chunks after the RIFF header: body offsets and sizes of fmt and data (-1: none)."""

    def keep_walking(offset, chunks, fmt_at, fmt_size, data_at, data_size):
        unfound = (fmt_at < 0) | (data_at < 0)
        return (offset + 8 <= size) & unfound & (chunks < MAX_CHUNKS)

    def step(offset, chunks, fmt_at, fmt_size, data_at, data_size):
        chunk_id = tf.strings.substr(data, offset, 4)
        chunk_size = _little_endian(_bytes_at(data, offset + 4, 4))
        is_fmt = (chunk_id == "fmt ") & (fmt_at < 0)
        is_data = (chunk_id == "data") & (data_at < 0)
        return (
            offset + 8 + chunk_size + chunk_size % 2,  # odd-sized chunks carry a pad byte
            chunks + 1,
            tf.where(is_fmt, offset + 8, fmt_at),
            tf.where(is_fmt, chunk_size, fmt_size),
            tf.where(is_data, offset + 8, data_at),
            tf.where(is_data, chunk_size, data_size),
        )

    start = [
        tf.constant(12, tf.int64),
        tf.constant(0),
        *[tf.constant(v, tf.int64) for v in (-1, 0, -1, 0)],
    ]
    _, chunks, fmt_at, fmt_size, data_at, data_size = tf.while_loop(keep_walking, step, start)
    return {
        "chunks": chunks,
        "fmt_at": fmt_at,
        "fmt_size": fmt_size,
        "data_at": data_at,
        "data_size": data_size,
    }


def _checks_in_order(checks: list[tuple]) -> tf.Operation:
    """Chains ``tf.debugging.Assert``s so the first failing check is the one reported.

    Each check is ``(condition, template, *values)``; ``{}`` in the template shows a value.
    """
    previous = tf.no_op()
    for condition, template, *values in checks:
        message = tf.strings.format(template, values, summarize=-1) if values else template
        with tf.control_dependencies([previous]):
            previous = tf.debugging.Assert(condition, [message])
    return previous


def _checked_float(samples: tf.Tensor) -> tf.Tensor:
    """``samples`` of a float file, refused when one is NaN, infinite or beyond ``MAX_PEAK``.

    Only float data can hold such values (integer PCM decodes within full scale), so only the
    float branches pay for the checks (~0.2 ms of a 5 s clip, a tenth of its decoding).
    """
    finite = tf.debugging.Assert(
        tf.reduce_all(tf.math.is_finite(samples)), ["WAV file holds NaN or infinite samples"]
    )
    with tf.control_dependencies([finite]):
        loudest = tf.reduce_max(tf.abs(samples))
        in_range = tf.debugging.Assert(
            loudest <= MAX_PEAK,
            [f"a WAV sample of magnitude beyond {MAX_PEAK:g} (corrupt float data):", loudest],
        )
    with tf.control_dependencies([in_range]):
        return tf.identity(samples)


def _decode_samples(payload: tf.Tensor, branch: tf.Tensor) -> tf.Tensor:
    """Decodes the data bytes with encoding ``branch`` (an index into ``_ENCODINGS``) to float32."""

    def unsigned_8():
        return (tf.cast(tf.io.decode_raw(payload, tf.uint8), tf.float32) - 128.0) / 128.0

    def signed(dtype, bits):
        return lambda: (
            tf.cast(tf.io.decode_raw(payload, dtype), tf.float32) / float(1 << (bits - 1))
        )

    def signed_24():
        triples = tf.reshape(tf.cast(tf.io.decode_raw(payload, tf.uint8), tf.int32), [-1, 3])
        value = triples[:, 0] + triples[:, 1] * 256 + triples[:, 2] * 65536
        value = tf.where(value >= 1 << 23, value - (1 << 24), value)  # two's complement
        return tf.cast(value, tf.float32) / float(1 << 23)

    def float_32():
        return _checked_float(tf.io.decode_raw(payload, tf.float32))

    def float_64():
        return _checked_float(tf.cast(tf.io.decode_raw(payload, tf.float64), tf.float32))

    branches = [
        unsigned_8,
        signed(tf.int16, 16),
        signed_24,
        signed(tf.int32, 32),
        float_32,
        float_64,
    ]
    return tf.switch_case(branch, branches)


def decode(data: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Validates and decodes one whole WAV file.

    Args:
        data: Scalar string tensor holding the file's bytes.

    Returns:
        ``(samples, sample_rate)``: ``[frames, channels]`` float32 samples and the scalar int32
        rate. A malformed, unsupported, too large or too long file raises ``InvalidArgumentError``
        naming the problem, before any sample is decoded.
    """
    size = tf.cast(tf.strings.length(data, "BYTE"), tf.int64)
    riff = _substr(data, 0, 12)
    is_riff_wave = (tf.strings.substr(riff, 0, 4) == "RIFF") & (
        tf.strings.substr(riff, 8, 4) == "WAVE"
    )
    chunks = _find_chunks(data, size)
    fmt_bytes = _substr(data, chunks["fmt_at"], _FMT_BYTES)
    fmt = tf.cast(tf.io.decode_raw(fmt_bytes, tf.uint8), tf.int64)
    tag = _little_endian(fmt[0:2])
    channels = _little_endian(fmt[2:4])
    rate = _little_endian(fmt[4:8])
    block_align = _little_endian(fmt[12:14])
    bits = _little_endian(fmt[14:16])
    guid_tail = tf.strings.substr(fmt_bytes, 26, 14)
    is_extensible = tag == EXTENSIBLE
    encoding = tf.where(is_extensible, _little_endian(fmt[24:26]), tag)
    branch_of = tf.constant([f * 1000 + b for f, b in _ENCODINGS], tf.int64)
    matches = tf.equal(branch_of, encoding * 1000 + bits)
    rates = tf.constant(SUPPORTED_RATES, tf.int64)
    data_at, data_size = chunks["data_at"], chunks["data_size"]
    frames = data_size // tf.maximum(block_align, 1)
    fmt_at, fmt_size = chunks["fmt_at"], chunks["fmt_size"]
    checks = [
        (size <= MAX_WAV_BYTES, f"request too large: {{}} bytes (limit {MAX_WAV_BYTES})", size),
        (is_riff_wave, "not a WAV file (expected a RIFF/WAVE header)"),
        (
            (chunks["chunks"] < MAX_CHUNKS) | ((fmt_at >= 0) & (data_at >= 0)),
            f"WAV file has more than {MAX_CHUNKS} chunks before its fmt and data chunks",
        ),
        (fmt_at >= 0, "WAV file has no fmt chunk"),
        (fmt_at + fmt_size <= size, "WAV fmt chunk runs past the end of the file (truncated)"),
        (
            fmt_size >= tf.where(is_extensible, tf.constant(40, tf.int64), 16),
            "WAV fmt chunk too short for its format tag {}: {} bytes",
            tag,
            fmt_size,
        ),
        (
            ~is_extensible | (guid_tail == _GUID_TAIL),
            "WAVE_FORMAT_EXTENSIBLE with a sub-format other than PCM or IEEE float",
        ),
        (
            (encoding == PCM) | (encoding == IEEE_FLOAT),
            "unsupported WAV format tag {} (supported: 1 PCM, 3 IEEE float, 0xFFFE extensible "
            "with a PCM or float sub-format)",
            encoding,
        ),
        (
            tf.reduce_any(matches),
            "unsupported bit depth {} for WAV format tag {} (supported: PCM 8, 16, 24, 32; "
            "IEEE float 32, 64)",
            bits,
            encoding,
        ),
        (
            (channels >= 1) & (channels <= MAX_CHANNELS),
            f"unsupported channel count {{}} (supported: 1 to {MAX_CHANNELS})",
            channels,
        ),
        (
            block_align == channels * (bits // 8),
            "bad WAV block align {} (channels * bytes per sample = {})",
            block_align,
            channels * (bits // 8),
        ),
        (
            tf.reduce_any(tf.equal(rates, rate)),
            "unsupported sample rate {} Hz (supported: {})",
            rate,
            rates,
        ),
        (data_at >= 0, "WAV file has no data chunk"),
        (frames > 0, "the WAV file holds no audio samples"),
        (
            frames <= MAX_INPUT_SECONDS * rate,
            f"audio longer than {MAX_INPUT_SECONDS} s: {{}} frames at {{}} Hz",
            frames,
            rate,
        ),
        (
            data_at + data_size <= size,
            "WAV data chunk declares {} bytes but only {} follow (truncated file)",
            data_size,
            size - data_at,
        ),
        (
            frames * 1000 >= MIN_INPUT_MS * rate,
            f"audio too short: {{}} frames at {{}} Hz (minimum {MIN_INPUT_MS} ms)",
            frames,
            rate,
        ),
    ]
    with tf.control_dependencies([_checks_in_order(checks)]):
        payload = tf.strings.substr(data, data_at, frames * block_align)
        branch = tf.argmax(tf.cast(matches, tf.int32), output_type=tf.int32)
        samples = tf.reshape(_decode_samples(payload, branch), [-1, tf.cast(channels, tf.int32)])
    return samples, tf.cast(rate, tf.int32)
