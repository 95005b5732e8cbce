"""Names of the served SavedModel's signatures, input and output tensors (no TensorFlow).

``serving_default`` takes a batch of WAV files (``audio_wav``); ``waveform`` takes float32 clips
at 22,050 Hz (``waveform``). Both answer ``probabilities``, ``class_index`` and ``class_name``.
The export (``components/deploy/export.py``), its warmup requests, the client and the
development server all use these names.
"""

DEFAULT_SIGNATURE = "serving_default"
WAVEFORM_SIGNATURE = "waveform"
WAV_INPUT = "audio_wav"
WAVEFORM_INPUT = "waveform"
PROBABILITIES = "probabilities"
CLASS_INDEX = "class_index"
CLASS_NAME = "class_name"
