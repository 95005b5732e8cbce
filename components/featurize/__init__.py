"""featurize: Beam + tf.Transform from manifest to scaled TFRecords (see core.py)."""
