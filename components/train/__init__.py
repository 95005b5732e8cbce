"""train: the study's Keras models, their Keras Tuner search and the model artifact directory."""
