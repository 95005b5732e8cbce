"""Audio held in memory, decoded through the production path: a file and ``decode.decode_file``.

featurize decodes files (local or ``gs://``), never bytes; tests that build a clip in memory
write it to a temporary file first, so they exercise the descriptor path Beam runs.
"""

import tempfile

from components.audio import decode


def decode_data(data: bytes, **options) -> decode.DecodedAudio:
    """``decode.decode_file`` of ``data`` written to a temporary file (``options``: its own)."""
    with tempfile.NamedTemporaryFile(suffix=".audio") as handle:
        handle.write(data)
        handle.flush()
        return decode.decode_file(handle.name, **options)
