"""deploy's configuration: ``DeployConfig`` (served model name, force, version, infra validation).

TensorFlow-free, so the KFP wrapper and the command line (``deploy``, ``export``, ``predict``)
read the served model's name from here. Field metadata ``help`` is what ``household-sounds
deploy`` shows.
"""

from dataclasses import dataclass, field

from components.artifacts.names import SERVED_MODEL_NAME
from components.artifacts.serving_stack import SERVING_IMAGE


@dataclass(frozen=True)
class DeployConfig:
    """How to deploy.

    Attributes:
        model_name: Name TF Serving serves the model under (``models.config``).
        force: Deploy even when the evaluation did not bless the model.
        version: Version number to publish; ``None`` picks the Unix time (or one more than the
            highest existing version).
        skip_infra_validation: Publish without replaying the export in the TensorFlow of the
            serving image (``infra_validation.py``; docs/infra-validation.md).
        infra_validation_clips: How many of the manifest's test clips the infra validation
            replays besides the warmup records.
    """

    model_name: str = field(default=SERVED_MODEL_NAME, metadata={"help": "served model name"})
    force: bool = field(default=False, metadata={"help": "deploy even if not blessed"})
    version: int | None = field(default=None, metadata={"help": "version (default: Unix time)"})
    skip_infra_validation: bool = field(
        default=False,
        metadata={"help": f"publish without replaying the export in {SERVING_IMAGE}'s TensorFlow"},
    )
    infra_validation_clips: int = field(
        default=4, metadata={"help": "test clips of --manifest the infra validation replays"}
    )
