"""Domain library shared by every step and by serving: decoding, waveforms, features, labels.

Nothing here imports KFP or Beam. ``waveform``, ``resample`` and ``features`` are TensorFlow ops
so that the Beam featurizer and the served SavedModel run the same code.
"""
