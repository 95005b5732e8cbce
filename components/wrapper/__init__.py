"""What every step's KFP wrapper (``components/<step>/component.py``) shares besides the image.

``signature_defaults`` gives a wrapper's parameters its step config's defaults, which KFP reads
from the wrapper's signature when it builds the component's interface. Like the steps' configs it
imports neither KFP nor TensorFlow; no core imports it.
"""
