"""rebalance: per-class under/oversampling of the training split, with augmented copies."""
