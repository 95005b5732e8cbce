"""featurize's configuration: ``FeaturizeConfig`` (feature sets, Beam runner, options, shards).

TensorFlow- and Beam-free, so the KFP wrapper, the pipeline and the command line read the
defaults from here. Field metadata ``help`` (``flag``, ``metavar``, ``cli_default``: the
command line's own default) is what ``household-sounds featurize`` shows; fields without it are
not command-line options.
"""

from dataclasses import dataclass, field

from components.audio.feature_sets import DEFAULT as DEFAULT_FEATURE_SETS
from components.audio.feature_sets import OPT_IN


@dataclass(frozen=True)
class FeaturizeConfig:
    """What to compute and how to run the featurization.

    Attributes:
        feature_sets: The feature sets computed and stored (``components/audio/feature_sets.py``;
            the YAMNet embedding and mn04's log-mel are opt-in).
        num_shards: Transformed shards per split; 0 lets the runner choose (streams best).
        batch_size: Clips per featurizer call (TF is faster on batches).
        runner: Beam runner name. FnApiRunner is pinned locally because Beam's DirectRunner first
            tries to download the Prism binary, which an offline machine cannot do.
        beam_args: Extra Beam pipeline options passed through unchanged.
        keep_raw: Keep the unscaled example shards (``raw/``) after the transform.
        sdk_container_image: Image a remote runner's workers run (Dataflow, Flink, Spark; see
            ``remote.py``); the pipeline passes its own image. Empty: the runner's default.
        worker_start_timeout_s: With an EXTERNAL worker pool or a PROCESS environment, how long
            the one-element check job that proves it starts workers may take
            (``worker_check.py``); featurize then fails instead of waiting forever, as Beam would.
    """

    feature_sets: tuple[str, ...] = field(
        default=DEFAULT_FEATURE_SETS,
        metadata={
            "help": f"feature set to compute, repeatable (default {', '.join(DEFAULT_FEATURE_SETS)}"
            f"; opt-in: {', '.join(OPT_IN)})",
            "flag": "--feature-set",
            "metavar": "NAME",
        },
    )
    num_shards: int = field(
        default=0, metadata={"help": "TFRecord shards per split", "cli_default": 4}
    )
    batch_size: int = 32
    runner: str = field(
        default="FnApiRunner",
        metadata={
            "help": "Beam runner: FnApiRunner (local, default), DirectRunner, DataflowRunner, "
            "FlinkRunner, SparkRunner"
        },
    )
    beam_args: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "extra Beam pipeline option, repeatable, "
            "e.g. --beam-arg=--direct_num_workers=2",
            "flag": "--beam-arg",
            "metavar": "FLAG",
        },
    )
    keep_raw: bool = False
    sdk_container_image: str = field(
        default="",
        metadata={
            "help": "image the workers of DataflowRunner, FlinkRunner or SparkRunner run "
            "(the project image, which holds the Beam SDK harness); a --beam-arg image wins",
            "metavar": "REGISTRY/NAME:TAG",
        },
    )
    worker_start_timeout_s: float = field(
        default=120.0,
        metadata={
            "help": "with an EXTERNAL worker pool or a PROCESS environment: seconds a "
            "one-element check job may take to start a worker and import the project before "
            "featurize stops with an error (Beam itself would wait forever)",
            "metavar": "SECONDS",
        },
    )
