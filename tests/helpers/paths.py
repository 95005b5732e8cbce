"""Where the tests find the repository and the team's read-only shared folder (``../shared``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
AUDIO_SAMPLES = SHARED / "audio-samples"
