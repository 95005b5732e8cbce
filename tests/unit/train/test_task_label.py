"""What a train or baselines task calls itself on its first log line (components/wrapper)."""

from components.baselines.config import task_label as baselines_label
from components.train.config import task_label as train_label


def test_labels_say_which_model_a_task_trains():
    assert train_label("cnn_log_mel", False) == "train cnn_log_mel (seed)"
    assert train_label("mn04", True) == "train mn04 (tuned)"
    assert train_label("mn04", True, "chief") == "train mn04 (tuned)"  # the tuned task itself
    assert train_label("mn04", True, "tuner0") == "train mn04 (tuned, tuner0)"
    assert baselines_label("svc") == "baselines svc on mean_mfcc"
    assert baselines_label("svc_mn04") == "baselines svc on mn04_embedding"
    assert baselines_label("random_forest_yamnet") == "baselines random_forest on yamnet_embedding"
