"""deploy: export the blessed model with in-graph featurization and publish it for TF Serving."""
