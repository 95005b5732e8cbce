"""Names of the served SavedModel's signatures, input and output tensors (no TensorFlow).

``serving_default`` takes a batch of WAV files (``audio_wav``); ``waveform`` takes float32 clips
at 22,050 Hz (``waveform``). Both answer ``probabilities``, ``class_index`` and ``class_name``;
``serving_default`` also answers the clip-level max over 5 s windows, the duration and the
per-window timeline, padded to the batch's longest clip (docs/contracts.md).
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
MAX_PROBABILITIES = "max_probabilities"
CLIP_DURATION_S = "clip_duration_s"
WINDOW_COUNT = "window_count"
WINDOW_START_S = "window_start_s"
WINDOW_END_S = "window_end_s"
WINDOW_PROBABILITIES = "window_probabilities"
WINDOW_CLASS_INDEX = "window_class_index"
WINDOW_CLASS_NAME = "window_class_name"
WINDOW_OUTPUTS = (
    WINDOW_COUNT,
    WINDOW_START_S,
    WINDOW_END_S,
    WINDOW_PROBABILITIES,
    WINDOW_CLASS_INDEX,
    WINDOW_CLASS_NAME,
)
