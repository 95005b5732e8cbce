"""The embedded demo dataset's generator: synthetic, deterministic, FSD50K-shaped clips.

Not a pipeline step: it writes the raw data a run starts from, so a fresh machine needs no
download (``household-sounds demo-data``). ``dataset`` plans and writes the files, ``sounds``
synthesizes the audio (code) and ``scenarios`` reads the scenario table ``scenarios.json`` (data).
"""
