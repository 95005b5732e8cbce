import numpy as np
import pytest
from sklearn import metrics as skm

from components.audio.labels import CLASS_NAMES, NUM_CLASSES
from components.evaluate import metrics


@pytest.fixture
def fixed():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, NUM_CLASSES, 300)
    predicted = np.where(rng.random(300) < 0.6, labels, rng.integers(0, NUM_CLASSES, 300))
    return labels, predicted


def test_classification_metrics_equal_scikit_learn(fixed):
    labels, predicted = fixed
    scores = metrics.classification_metrics(labels, predicted)
    assert scores["accuracy"] == pytest.approx(skm.accuracy_score(labels, predicted))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            labels, predicted, average=average, zero_division=0
        )
        assert scores[f"{average}_precision"] == pytest.approx(p)
        assert scores[f"{average}_recall"] == pytest.approx(r)
        assert scores[f"{average}_f1"] == pytest.approx(f)
    per_class = skm.f1_score(labels, predicted, average=None, labels=range(NUM_CLASSES))
    assert list(scores["per_class_f1"].values()) == pytest.approx(list(per_class))
    assert list(scores["per_class_f1"]) == list(CLASS_NAMES)
    assert scores["confusion_matrix"] == skm.confusion_matrix(labels, predicted).tolist()
    assert scores["absent_classes"] == []


def test_majority_class_reference_is_the_constant_test_majority():
    labels = np.array([2, 2, 2, 5, 5, 7, 0, 2])
    reference = metrics.majority_class(labels)
    constant = np.full_like(labels, 2)
    assert reference["class"] == CLASS_NAMES[2]
    assert reference["accuracy"] == pytest.approx(0.5)
    assert reference["macro_f1"] == pytest.approx(
        skm.f1_score(labels, constant, average="macro", labels=np.unique(labels))
    )
    assert reference["macro_f1"] == pytest.approx((2 * 4 / (4 + 8)) / 4)  # 4 classes present


def test_macro_averages_cover_the_classes_present_and_list_the_absent(fixed):
    labels, predicted = fixed
    keep = labels != CLASS_NAMES.index("alarm")  # a test split without alarm clips
    labels, predicted = labels[keep], predicted[keep]
    assert (predicted == CLASS_NAMES.index("alarm")).any()  # still predicted: costs recall
    scores = metrics.classification_metrics(labels, predicted)
    present = np.unique(labels)
    assert len(present) == NUM_CLASSES - 1 and scores["absent_classes"] == ["alarm"]
    for name, key in (("precision", "macro_precision"), ("recall", "macro_recall")):
        expected = getattr(skm, f"{name}_score")(
            labels, predicted, labels=present, average="macro", zero_division=0
        )
        assert scores[key] == pytest.approx(expected)
    assert scores["macro_f1"] == pytest.approx(
        skm.f1_score(labels, predicted, labels=present, average="macro")
    )
    assert scores["per_class"]["alarm"]["support"] == 0 and scores["per_class_f1"]["alarm"] == 0
    assert len(scores["per_class_f1"]) == NUM_CLASSES
    # The same definition as the slices' point estimate, so the two never disagree.
    assert scores["macro_f1"] == pytest.approx(metrics.point_scores(labels, predicted)[1])
    perfect = metrics.classification_metrics(labels, labels)
    assert perfect["macro_f1"] == 1.0 and perfect["macro_precision"] == 1.0


def test_slice_scores_equal_scikit_learn_on_the_slice_classes(fixed):
    labels, predicted = fixed
    subset = labels < 3  # a slice holding three classes, predictions anywhere
    scores = metrics.slice_scores(
        labels[subset], predicted[subset], 0, 0.95, np.random.default_rng(0)
    )
    expected = skm.f1_score(
        labels[subset], predicted[subset], labels=np.unique(labels[subset]), average="macro"
    )
    assert scores["macro_f1"] == pytest.approx(expected)
    assert scores["accuracy"] == pytest.approx(
        skm.accuracy_score(labels[subset], predicted[subset])
    )


def test_bootstrap_confusions_match_scikit_learn(fixed):
    labels, predicted = fixed
    rows = np.random.default_rng(1).integers(0, len(labels), (4, len(labels)))
    confusions = metrics._confusions(labels, predicted, rows)
    for row, matrix in zip(rows, confusions, strict=True):
        expected = skm.confusion_matrix(labels[row], predicted[row], labels=range(NUM_CLASSES))
        assert (matrix == expected).all()


@pytest.mark.parametrize("size", [5, 30, 300])
def test_intervals_cover_the_point_estimate_and_are_seeded(fixed, size):
    labels, predicted = fixed[0][:size], fixed[1][:size]
    scores = metrics.slice_scores(labels, predicted, 500, 0.95, np.random.default_rng(7))
    for name in ("accuracy", "macro_f1"):
        assert scores[f"{name}_ci_low"] <= scores[name] <= scores[f"{name}_ci_high"]
        assert 0.0 <= scores[f"{name}_ci_low"] and scores[f"{name}_ci_high"] <= 1.0
    again = metrics.slice_scores(labels, predicted, 500, 0.95, np.random.default_rng(7))
    assert again == scores


def test_intervals_narrow_with_more_clips(fixed):
    labels, predicted = fixed
    small = metrics.slice_scores(labels[:30], predicted[:30], 500, 0.95, np.random.default_rng(0))
    large = metrics.slice_scores(labels, predicted, 500, 0.95, np.random.default_rng(0))
    width = lambda s: s["accuracy_ci_high"] - s["accuracy_ci_low"]  # noqa: E731
    assert width(large) < width(small)
