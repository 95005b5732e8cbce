"""Pipeline steps (one sub-package per DAG node) and the shared audio library.

Each step folder holds ``core.py`` (plain typed Python, no KFP) and ``component.py`` (a thin
lightweight KFP component that calls the core inside the project image).
"""

__version__ = "0.1.0"
IMAGE_NAME = "ghcr.io/household-sounds/household-sounds"
IMAGE = f"{IMAGE_NAME}:{__version__}"
