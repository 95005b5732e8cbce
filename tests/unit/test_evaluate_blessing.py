import pytest

from components.evaluate import blessing

MODELS = {
    "cnn": {"macro_f1": 0.42, "accuracy": 0.5},
    "rf": {"macro_f1": 0.31, "accuracy": 0.4},
}
WEAK = {
    "feature": "loudness",
    "value": "<-40",
    "size": 60,
    "accuracy": 0.2,
    "accuracy_rest": 0.6,
    "q_value": 1e-4,
    "macro_f1": 0.15,
}
POLICY = blessing.BlessingPolicy(min_macro_f1=0.3, min_worst_slice_f1=0.1)


def test_best_model_passing_every_check_is_blessed():
    decision = blessing.decide(MODELS, [WEAK], POLICY)
    assert decision["blessed"] and decision["model"] == "cnn"
    assert decision["ranking"] == ["cnn", "rf"]
    assert "loudness=<-40" in decision["reasons"][2]


def test_low_macro_f1_is_not_blessed():
    decision = blessing.decide(MODELS, [], blessing.BlessingPolicy(0.5, 0.1))
    assert not decision["blessed"]
    assert "< min_macro_f1 0.5" in decision["reasons"][1]


def test_weak_significant_slice_blocks_the_blessing():
    decision = blessing.decide(MODELS, [WEAK], blessing.BlessingPolicy(0.3, 0.2))
    assert not decision["blessed"]
    assert decision["checks"] == {"macro_f1": True, "worst_slice_f1": False}


def test_no_significant_slice_passes_and_says_so():
    decision = blessing.decide(MODELS, [], POLICY)
    assert decision["blessed"]
    assert "no slice is significantly worse" in decision["reasons"][2]


@pytest.mark.parametrize(
    ("baseline_f1", "tolerance", "blessed"),
    [(0.40, 0.0, True), (0.45, 0.0, False), (0.43, 0.02, True)],
)
def test_baseline_comparison(baseline_f1, tolerance, blessed):
    baseline = {"models": {"old": {"macro_f1": baseline_f1}}, "best_model": "old"}
    policy = blessing.BlessingPolicy(0.3, 0.1, baseline_tolerance=tolerance)
    decision = blessing.decide(MODELS, [], policy, baseline)
    assert decision["blessed"] is blessed
    assert decision["baseline_macro_f1"] == baseline_f1


def test_ties_rank_by_accuracy_then_name():
    models = {"b": {"macro_f1": 0.3, "accuracy": 0.5}, "a": {"macro_f1": 0.3, "accuracy": 0.5}}
    assert blessing.rank(models) == ["a", "b"]


def test_first_reason_names_the_classes_absent_from_the_test_split():
    models = {**MODELS, "cnn": {**MODELS["cnn"], "absent_classes": ["movement", "other"]}}
    reason = blessing.decide(models, [], POLICY)["reasons"][0]
    assert "over the 6 classes in the test split; absent: movement, other" in reason
    assert "absent" not in blessing.decide(MODELS, [], POLICY)["reasons"][0]
