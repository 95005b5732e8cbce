import pytest

from components.evaluate import blessing

MODELS = {
    "cnn": {"macro_f1": 0.42, "accuracy": 0.5, "exportable": True},
    "xgb": {"macro_f1": 0.31, "accuracy": 0.4, "exportable": False, "not_exportable": "an xgboost"},
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
    assert decision["blessed"] and decision["candidate"] == decision["best"] == "cnn"
    assert decision["ranking"] == ["cnn", "xgb"]
    assert "loudness=<-40" in decision["reasons"][2]


def test_low_macro_f1_is_not_blessed():
    decision = blessing.decide(MODELS, [], blessing.BlessingPolicy(0.5, 0.1))
    assert not decision["blessed"]
    assert "< min_macro_f1 0.5" in decision["reasons"][1]


def test_weak_significant_slice_blocks_the_blessing():
    decision = blessing.decide(MODELS, [WEAK], blessing.BlessingPolicy(0.3, 0.2))
    assert not decision["blessed"]
    assert decision["checks"] == {
        "exportable": True,
        "macro_f1": True,
        "worst_slice_f1": False,
        "production": True,
    }


def test_no_significant_slice_passes_and_says_so():
    decision = blessing.decide(MODELS, [], POLICY)
    assert decision["blessed"]
    assert "no slice is significantly worse" in decision["reasons"][2]


def production(candidate_f1: float, production_f1: float, compared: int = 40) -> dict:
    return {
        "version": 7,
        "model": "old_cnn",
        "n_test": 40,
        "n_compared": compared,
        "n_rejected": 40 - compared,
        "rejected": [{"clip_id": "x", "message": "not a WAV file"}] * min(40 - compared, 5),
        "candidate_macro_f1": candidate_f1 if compared else None,
        "production_macro_f1": production_f1 if compared else None,
    }


@pytest.mark.parametrize(
    ("candidate_f1", "production_f1", "tolerance", "blessed"),
    [(0.40, 0.40, 0.0, True), (0.40, 0.45, 0.0, False), (0.41, 0.43, 0.02, True)],
)
def test_candidate_must_not_be_worse_than_production(
    candidate_f1, production_f1, tolerance, blessed
):
    policy = blessing.BlessingPolicy(0.3, 0.1, baseline_tolerance=tolerance)
    decision = blessing.decide(MODELS, [], policy, production(candidate_f1, production_f1))
    assert decision["blessed"] is blessed
    assert decision["checks"]["production"] is blessed
    assert "production version 7 (old_cnn)" in decision["reasons"][-1]
    assert "on the same 40 test clips" in decision["reasons"][-1]


def test_production_that_answers_no_clip_blocks_the_blessing():
    decision = blessing.decide(MODELS, [], POLICY, production(0.4, 0.4, compared=0))
    assert not decision["blessed"]
    assert "refused all 40 test clips" in decision["reasons"][-1]


def test_first_deployment_and_no_model_base_pass_and_say_so():
    first = {"version": None, "reason": "no published version under /base/household_sounds"}
    decision = blessing.decide(MODELS, [], POLICY, first)
    assert decision["blessed"] and "this is the first deployment" in decision["reasons"][-1]
    decision = blessing.decide(MODELS, [], POLICY, None)
    assert decision["blessed"] and "no model base given" in decision["reasons"][-1]


def test_the_candidate_is_the_best_exportable_model():
    models = {**MODELS, "xgb": {**MODELS["xgb"], "macro_f1": 0.6}}
    decision = blessing.decide(models, [], POLICY)
    assert decision["best"] == "xgb" and decision["candidate"] == "cnn"
    assert blessing.subject(decision) == "cnn"
    assert decision["blessed"]
    assert "xgb cannot be exported (an xgboost); the candidate is cnn" in decision["reasons"][1]
    assert "macro-F1 0.420 >= min_macro_f1" in decision["reasons"][2]


def test_nothing_exportable_is_not_blessed():
    models = {"xgb": MODELS["xgb"]}
    decision = blessing.decide(models, [], POLICY, production(0.9, 0.1))
    assert not decision["blessed"] and decision["candidate"] is None
    assert decision["best"] == "xgb" and decision["checks"]["exportable"] is False
    assert blessing.subject(decision) == "xgb"  # what the report and notebook analyse
    assert "production" not in decision["checks"]


def test_ties_rank_by_accuracy_then_name():
    models = {"b": {"macro_f1": 0.3, "accuracy": 0.5}, "a": {"macro_f1": 0.3, "accuracy": 0.5}}
    assert blessing.rank(models) == ["a", "b"]


def test_first_reason_names_the_classes_absent_from_the_test_split():
    models = {**MODELS, "cnn": {**MODELS["cnn"], "absent_classes": ["movement", "other"]}}
    reason = blessing.decide(models, [], POLICY)["reasons"][0]
    assert "over the 6 classes in the test split; absent: movement, other" in reason
    assert "absent" not in blessing.decide(MODELS, [], POLICY)["reasons"][0]
