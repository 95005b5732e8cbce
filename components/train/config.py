"""train's configuration: the Keras families, the tuners, ``TrainConfig``, its presets and ``Role``.

TensorFlow-free, so the KFP wrapper, the pipeline and the command line read the families, the
defaults and the demo budgets from here without loading Keras. Field metadata ``help`` (and
``flag`` where the option's name differs from the field's) is what ``household-sounds train``
shows; fields without it are not command-line options.
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, get_args

from components.audio import feature_sets

Family = Literal[
    "cnn_log_mel",
    "cnn_mfcc",
    "resnet50_mfcc",
    "dense_mean_mfcc",
    "yamnet",
    "mn04",
    "mn04_finetuned",
]
FAMILIES: tuple[str, ...] = get_args(Family)
CNN_LOG_MEL, CNN_MFCC, RESNET50_MFCC, DENSE_MEAN_MFCC, YAMNET, MN04, MN04_FINETUNED = FAMILIES
# The heads on a pretrained embedding: one head builder and optimizer, their own seed values.
EMBEDDING_FAMILIES: tuple[str, ...] = (YAMNET, MN04)
# The feature set each family reads (``components/audio/feature_sets.py``).
FEATURE_OF: dict[str, str] = {
    CNN_LOG_MEL: feature_sets.LOG_MEL,
    CNN_MFCC: feature_sets.MFCC,
    RESNET50_MFCC: feature_sets.MFCC,
    DENSE_MEAN_MFCC: feature_sets.MEAN_MFCC,
    YAMNET: feature_sets.YAMNET_EMBEDDING,
    MN04: feature_sets.MN04_EMBEDDING,
    MN04_FINETUNED: feature_sets.MN04_LOG_MEL,
}
# The families tuned by default: all but the fine-tuned mn04, whose every trial would be a
# fine-tuning run of the trunk.
DEFAULT_TUNED_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILIES if f != MN04_FINETUNED)


def families_reading(computed: list[str], families: list[str]) -> list[str]:
    """The families of ``families`` whose feature set is in ``computed``, in their order.

    Raises:
        ValueError: For an unknown name, or when none is left (``feature_sets.reading``).
    """
    return feature_sets.reading(computed, families, FEATURE_OF, "families")


Tuner = Literal["bayesian", "hyperband"]

# The demo's smaller batches give SGD more updates per epoch on its ~500 training clips.
PRESETS: dict[str, dict] = {
    "full": {"epochs": 40, "max_trials": 10, "batch_size": 32},
    "demo": {"epochs": 6, "max_trials": 2, "batch_size": 16},
    "quality": {"epochs": 4, "max_trials": 2, "batch_size": 32},
}

# The demo pipeline's per-family changes, for its ~100 SGD updates (the study made ~50,000): the
# MFCC CNN learns only with Adam, ResNet50 only with faster BatchNorm statistics and its epochs
# are the demo's largest cost, the embedding heads are cheap and early-stop, so they get 40
# epochs; measured in docs/benchmarks.md#demo-budgets.
DEMO_FAMILY_OVERRIDES: dict[str, dict] = {
    YAMNET: {"epochs": 40},
    MN04: {"epochs": 40},
    # The study's filters and kernel: the tuned space's larger draws are too slow for the demo.
    CNN_LOG_MEL: {"hparams": {"filters": 16, "kernel_size": 3}},
    CNN_MFCC: {"epochs": 12, "hparams": {"optimizer": "adam", "learning_rate": 0.001}},
    RESNET50_MFCC: {
        "epochs": 2,
        "hparams": {
            "batch_norm_momentum": 0.9,
            "dense_dropout": 0.0,
            "optimizer": "sgd",
            "learning_rate": 0.01,
        },
    },
}
# The quality benchmark's per-family changes (``pipelines.presets``' ``quality``; docs/quality.md):
# the demo's for the embedding heads (they early-stop) and the log-mel CNN (the seed's filters), and
# ResNet50 cut to one epoch and one trial, the costliest task at this budget. Every other run keeps
# the study's training, so the tuned runs measure the recipe against it.
QUALITY_FAMILY_OVERRIDES: dict[str, dict] = {
    **{family: DEMO_FAMILY_OVERRIDES[family] for family in (YAMNET, MN04, CNN_LOG_MEL)},
    RESNET50_MFCC: {**DEMO_FAMILY_OVERRIDES[RESNET50_MFCC], "epochs": 1, "max_trials": 1},
}
# The families the demo also tunes: the two whose search takes seconds on precomputed features
# (docs/benchmarks.md#demo-budgets); the full preset tunes them all. YAMNet's embedding is opt-in
# (``feature_sets``), so the demo tunes the same head on mn04's embedding instead of YAMNet's.
DEMO_TUNED_FAMILIES: tuple[str, ...] = (DENSE_MEAN_MFCC, MN04)
_FULL = PRESETS["full"]

# The training recipe (issue 10) that a tuned run fixes before searching the rest of its space
# (``TrainConfig.recipe``); a seed run never uses it, and ``hparams`` wins over it. Chosen on real
# audio (docs/benchmarks.md#training-recipe). BatchNorm after every convolution stays off (it made
# the MFCC CNN answer one class), searchable with the momentum when ``recipe`` is off; ResNet50
# was not measured on real audio, so its tuned run keeps the study's training.
_CNN_RECIPE = {
    "optimizer": "adamw",
    "learning_rate": 0.001,
    "lr_schedule": "cosine",
    "label_smoothing": 0.1,
    "spec_augment": True,
    "mixup_alpha": 0.0,
    "conv_batch_norm": False,
}
RECIPES: dict[str, dict] = {
    CNN_LOG_MEL: _CNN_RECIPE,
    CNN_MFCC: _CNN_RECIPE,
    RESNET50_MFCC: {
        "lr_schedule": "constant",
        "label_smoothing": 0.0,
        "spec_augment": False,
        "mixup_alpha": 0.0,
    },
    DENSE_MEAN_MFCC: {
        "optimizer": "adamw",
        "learning_rate": 0.01,
        "lr_schedule": "cosine",
        "label_smoothing": 0.1,
        "mixup_alpha": 0.0,
    },
}


CHIEF = "chief"  # keras-tuner's chief is the process whose tuner id contains it


def task_label(family: str, tuned: bool, tuner_id: str = "") -> str:
    """What a train task is, for its log and console line: ``train cnn_log_mel (seed)``.

    A distributed search's worker says which (``train mn04 (tuned, tuner0)``); its chief is
    the tuned task itself.
    """
    worker = f", {tuner_id}" if tuner_id and CHIEF not in tuner_id else ""
    return f"train {family} ({'tuned' if tuned else 'seed'}{worker})"


@dataclass(frozen=True)
class Role:
    """This process's part in a search.

    Attributes:
        tuner_id: ``chief``, a unique worker id (``tuner0``...), or empty for a search alone.
        oracle_address: ``host:port``: where the chief listens (``0.0.0.0:P`` listens on every
            interface) or where a worker finds it; empty for a worker that reads it from
            ``rendezvous``.
        rendezvous: Folder (local, mounted or ``gs://``) where the chief publishes its address
            for workers that were not given one; empty: not published.
        timeout_s: Seconds of silence the chief allows: a trial it has not heard of for that
            long is lost (a worker sends a heartbeat every quarter of it while it trains), and
            with no trial running a search no worker contacts for that long ends; also how
            long a worker waits for the chief.
    """

    tuner_id: str = ""
    oracle_address: str = ""
    rendezvous: str = ""
    timeout_s: float = 600.0

    @property
    def distributed(self) -> bool:
        """Whether this process takes part in a distributed search."""
        return bool(self.tuner_id)

    @property
    def is_worker(self) -> bool:
        """A distributed worker (keras-tuner's rule: an id without ``chief``)."""
        return self.distributed and CHIEF not in self.tuner_id

    def check(self) -> None:
        """Raises ValueError for an incomplete role (before any TensorFlow work starts)."""
        if not self.distributed:
            if self.oracle_address or self.rendezvous:
                raise ValueError("an oracle address or rendezvous needs a tuner_id")
            return
        if self.oracle_address:
            split_address(self.oracle_address)
        elif self.is_worker and not self.rendezvous:
            raise ValueError(f"worker {self.tuner_id!r} needs oracle_address or a rendezvous")
        elif not self.is_worker:
            raise ValueError("the chief needs oracle_address (host:port to listen on)")
        if self.timeout_s <= 0:
            raise ValueError(f"tuner timeout must be positive, got {self.timeout_s}")


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` → ``(host, port)``; raises ValueError for anything else."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"oracle address {address!r}: expected host:port")
    return host, int(port)


def rendezvous_dir(checkpoint_root: str, run_id: str, family: str) -> str:
    """Where a pipeline run's tuner chief for ``family`` publishes its address ("" without a run).

    Raises:
        ValueError: For a run without ``checkpoint_root``: the chief and its workers run in
            different pods and meet only on storage they all reach.
    """
    if not run_id:
        return ""
    if not checkpoint_root:
        raise ValueError(
            "a distributed search in a pipeline needs checkpoint_root (gs:// or a volume every "
            "task mounts): the tuner chief publishes its address there for the workers"
        )
    return f"{checkpoint_root.rstrip('/')}/tuner-rendezvous/{run_id}/{family}"


@dataclass(frozen=True)
class TrainConfig:
    """How to train one Keras family (defaults: the study's full configuration).

    Attributes:
        family: One of ``FAMILIES``.
        epochs: Maximum epochs (final training and each tuning trial).
        batch_size: Examples per batch.
        tuned: Search the family's space with Keras Tuner before training.
        max_trials: Trial budget of the Bayesian tuner.
        tuner: ``bayesian`` or ``hyperband``.
        early_stopping_patience: Epochs without validation-loss improvement before stopping.
        class_weights: Weight the loss by inverse class frequency of the training split.
        seed: Seed of weights, shuffling and the tuner.
        resnet_weights: ``imagenet`` (needs a download) or None for ``resnet50_mfcc``.
        shuffle_buffer: Training examples held by the shuffle buffer.
        tuner_dir: Tuner state directory; empty uses a temporary one (set a shared path for
            distributed tuning).
        tuner_id: Distributed tuning (``distributed.py``): ``chief`` or a unique worker id
            (``tuner0``...); empty searches alone.
        oracle_address: Distributed tuning: ``host:port`` the chief listens on (``0.0.0.0:P``:
            every interface) or a worker finds it at; a worker may leave it empty and read it
            from ``tuner_rendezvous``.
        tuner_rendezvous: Distributed tuning: a folder every process reaches (``gs://``, a
            mounted volume) where the chief publishes its reachable address; empty: none.
        tuner_timeout_s: Distributed tuning: ``Role.timeout_s``, the silence after which the
            chief fails a trial as lost (workers send heartbeats while training, so it need not
            exceed a trial's length) and the longest a worker waits for the chief.
        hparams: Hyperparameter values fixed for this family (name → value, e.g.
            ``{"optimizer": "adam"}``): a seed run builds the study's configuration with these
            changed; a tuned run leaves them out of its search.
        recipe: A tuned run also fixes the family's training recipe (``RECIPES``; ``hparams``
            wins); off, the tuner searches the recipe's choices with everything else.
        checkpoint_dir: Resume state (tuner project, epoch backups; ``resume.py``); empty uses
            ``<output>/resume``. A rerun with the same directory continues where it stopped.
        cache_examples: Keep the decoded training and validation examples in memory after the
            first epoch (``data.dataset``); for splits that fit in the task's memory.
        mixed_precision: Compute in float16 with float32 variables (Keras ``mixed_float16``;
            the softmax output stays float32); pays off on GPUs with tensor cores only.
    """

    family: Family = field(
        metadata={"help": "model family (the study's 1a, 2a, 2b, 3a; yamnet: head on YAMNet)"}
    )
    epochs: int = field(default=_FULL["epochs"], metadata={"help": "maximum epochs"})
    batch_size: int = field(default=_FULL["batch_size"], metadata={"help": "examples per batch"})
    tuned: bool = field(default=False, metadata={"help": "Keras Tuner search first"})
    max_trials: int = field(default=_FULL["max_trials"], metadata={"help": "tuner trial budget"})
    tuner: Tuner = field(default="bayesian", metadata={"help": "Keras Tuner algorithm"})
    early_stopping_patience: int = field(
        default=5, metadata={"help": "early-stopping patience", "flag": "--patience"}
    )
    class_weights: bool = field(default=False, metadata={"help": "inverse-frequency weights"})
    seed: int = field(default=0, metadata={"help": "initialisation/shuffle/tuner seed"})
    resnet_weights: Literal["imagenet"] | None = field(
        default=None, metadata={"help": "pretrained ResNet50 body"}
    )
    shuffle_buffer: int = 1024
    tuner_dir: str = field(
        default="", metadata={"help": "tuner state dir (shared when distributed)"}
    )
    tuner_id: str = field(
        default="", metadata={"help": "distributed tuning: 'chief' or a unique worker id"}
    )
    oracle_address: str = field(
        default="", metadata={"help": "distributed tuning: chief host:port (listen / connect)"}
    )
    tuner_rendezvous: str = field(
        default="", metadata={"help": "distributed tuning: folder where the chief publishes"}
    )
    tuner_timeout_s: float = field(
        default=600.0,
        metadata={
            "help": "distributed tuning: seconds to wait for a peer",
            "flag": "--tuner-timeout",
        },
    )
    hparams: dict = field(default_factory=dict)
    recipe: bool = True
    checkpoint_dir: str = field(
        default="", metadata={"help": "resume state dir (default <output>/resume)"}
    )
    cache_examples: bool = field(
        default=False, metadata={"help": "keep decoded examples in memory after epoch 1"}
    )
    mixed_precision: bool = field(
        default=False, metadata={"help": "float16 compute, float32 output (GPUs)"}
    )

    @property
    def name(self) -> str:
        """The model's name in reports: the family, with ``_tuned`` for tuned runs."""
        return f"{self.family}_tuned" if self.tuned else self.family

    @property
    def role(self) -> Role:
        """This run's part in a distributed search (``Role()``: alone)."""
        return Role(self.tuner_id, self.oracle_address, self.tuner_rendezvous, self.tuner_timeout_s)

    @property
    def fixed_hparams(self) -> dict:
        """The hyperparameters this run fixes: ``hparams``, over the recipe in a tuned run."""
        if self.tuned and self.recipe:
            return {**RECIPES.get(self.family, {}), **self.hparams}
        return dict(self.hparams)

    def with_overrides(self, overrides: dict[str, dict]) -> "TrainConfig":
        """This config with ``overrides[family]`` (field name → value) applied.

        Lets one pipeline give a smaller budget to the family that is far slower (ResNet50).
        Values take the type of the field they replace: KFP passes dict parameters as protobuf
        Structs, in which every number is a float (``2`` arrives as ``2.0``).
        """
        fields = {}
        for key, value in overrides.get(self.family, {}).items():
            current = getattr(self, key)
            fields[key] = value if current is None else type(current)(value)
        return dataclasses.replace(self, **fields)
