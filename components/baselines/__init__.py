"""baselines: the study's scikit-learn models on mean-MFCC, with randomized search."""
