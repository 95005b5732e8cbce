"""The rollout config: TF Serving's text ModelServerConfig with labels, and the rollout's state."""

import pytest
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from components.artifacts import rollout_config
from components.artifacts.rollout_config import ModelRollout, RolloutConfig

NAME = "household_sounds"
HAND_WRITTEN = """
# an operator's config: two models, one with request logging
model_config_list {
  config {
    name: "household_sounds"
    base_path: "/models/household_sounds"
    model_platform: "tensorflow"
    logging_config { sampling_config { sampling_rate: 0.01 } }
    model_version_policy { latest { num_versions: 2 } }
  }
  config {
    name: "other"
    base_path: "gs://bucket/other"
    model_platform: "tensorflow"
    model_version_policy { all {} }
  }
}
"""


def labelled(**changes) -> ModelRollout:
    values = {
        "name": NAME,
        "base_path": f"/models/{NAME}",
        "versions": (1, 2),
        "labels": {"stable": 1, "canary": 2},
        "stable_history": (1,),
        "added_at": {1: 100.0, 2: 200.5},
        "events": ({"action": "promote", "label": "canary", "version": 2},),
    }
    return ModelRollout(**{**values, **changes})


def test_the_written_text_is_what_tf_serving_reads():
    text = rollout_config.render(RolloutConfig().with_model(labelled()))
    official = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    (entry,) = official.model_config_list.config
    assert entry.name == NAME and entry.base_path == f"/models/{NAME}"
    assert entry.model_platform == "tensorflow"
    assert list(entry.model_version_policy.specific.versions) == [1, 2]
    assert dict(entry.version_labels) == {"stable": 1, "canary": 2}
    assert text.count('key: "stable"') == 1  # a map field: one version_labels block per label


def test_state_and_events_survive_a_round_trip():
    config = RolloutConfig().with_model(labelled())
    again = rollout_config.parse(rollout_config.render(config))
    assert again.models == config.models
    assert rollout_config.render(again) == rollout_config.render(config)


def test_fields_it_does_not_manage_and_other_models_are_kept():
    config = rollout_config.parse(HAND_WRITTEN)
    model = config.model(NAME)
    assert (model.policy, model.latest_count, model.labels) == ("latest", 2, {})
    assert config.model("other").policy == "all"
    changed = config.with_model(
        ModelRollout(NAME, model.base_path, versions=(4,), labels={"stable": 4, "canary": 4})
    )
    official = text_format.Parse(
        rollout_config.render(changed), model_server_config_pb2.ModelServerConfig()
    )
    ours, other = official.model_config_list.config
    assert ours.logging_config.sampling_config.sampling_rate == pytest.approx(0.01)
    assert list(ours.model_version_policy.specific.versions) == [4]
    assert other.name == "other" and other.model_version_policy.HasField("all")
    assert [m.name for m in rollout_config.parse(rollout_config.render(changed)).models] == [
        NAME,
        "other",
    ]


def test_bad_text_is_refused_with_where():
    with pytest.raises(ValueError, match="base/models.config is not a TF Serving model config"):
        rollout_config.parse("model_config_list { config { nme: 1 } }", "base/models.config")
    with pytest.raises(ValueError, match="has no model_config_list"):
        rollout_config.parse("")
    text = rollout_config.render(RolloutConfig().with_model(labelled()))
    broken = text.replace('{"stable_history"', '{"stable_history": oops', 1)
    with pytest.raises(ValueError, match=r"models.config:4: bad rollout line"):
        rollout_config.parse(broken)


def test_production_is_the_stable_version_else_the_newest(tmp_path):
    for version in (1, 2, 3):
        (tmp_path / NAME / str(version)).mkdir(parents=True)
    assert rollout_config.read(str(tmp_path)) is None
    assert rollout_config.production_version(str(tmp_path), NAME) == 3  # TF Serving's default
    config = RolloutConfig().with_model(labelled(labels={"stable": 2, "canary": 3}))
    (tmp_path / "models.config").write_text(rollout_config.render(config))
    assert rollout_config.production_version(str(tmp_path), NAME) == 2
    assert rollout_config.production_version(str(tmp_path), "unlabelled") is None
