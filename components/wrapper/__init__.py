"""What every step's KFP wrapper (``components/<step>/component.py``) shares besides the image.

``signature_defaults`` gives a wrapper's parameters its step config's defaults, which KFP reads
from the wrapper's signature when it builds the component's interface; ``task_label`` is the
line a task opens its log with, saying what it is (``train cnn_log_mel (seed)``). Like the
steps' configs they import neither KFP nor TensorFlow; no core imports them.
"""
