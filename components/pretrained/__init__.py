"""Pretrained backbones' files: what they are, where they are cached, and how they get there.

The project never ships pretrained weights: ``catalog`` names every file a backbone needs with
its pinned sha256, official URL and licence; ``cache`` finds the checked copy in the weights
cache (``$HOUSEHOLD_SOUNDS_WEIGHTS``, else ``~/.cache/household-sounds/weights``); ``provision``
fills that cache (``household-sounds weights``, run by ``make install`` and the image build)
from an existing cache, the official URLs or local folders.
"""
