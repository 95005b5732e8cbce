"""What a distributed worker's train task reports to KFP: its trials, no model, no best."""

import json

from components.train import report
from components.train.core import TrainResult


def worker_result(model_dir: str) -> TrainResult:
    return TrainResult(
        name="cnn_mfcc_tuned",
        feature="mfcc",
        tuned=True,
        model_dir=model_dir,
        epochs_trained=0,
        training_seconds=0.0,
        seconds_per_epoch=0.0,
        tuning_seconds=12.5,
        hyperparameters={},
        worker_only=True,
        trials_run=2,
    )


def test_a_worker_reports_its_trials_and_no_model(tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    trials = [{"trial_id": "1", "status": "COMPLETED", "val_loss": 0.5}]
    (model_dir / "trials.json").write_text(json.dumps(trials))
    result = worker_result(str(model_dir))
    logged = {}
    report.log_metrics(result, logged.__setitem__)
    assert logged == {"trials_run": 2, "tuning_seconds": 12.5}
    report.write_hparams(result, str(tmp_path / "hparams"))
    assert [p.name for p in (tmp_path / "hparams").iterdir()] == ["trials.json"]  # no best
    assert json.loads((tmp_path / "hparams" / "trials.json").read_text()) == trials
    metadata = report.model_metadata(result)
    assert metadata == {"name": "cnn_mfcc_tuned", "worker": True, "trials_run": 2}
    assert "framework" not in metadata  # nothing downstream may take it for a model
