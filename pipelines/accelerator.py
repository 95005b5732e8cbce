"""Where the training tasks run: accelerator type and count, node selector and tolerations.

``Accelerator`` is chosen when the pipeline is compiled (``compile``/``submit`` flags, generated
from its fields by ``cli.flags``): an accelerator request, a node selector and tolerations are
parts of the task's pod spec, which Kubeflow fixes at compile time (``pipelines.training``
applies them, the node selector and tolerations through ``kfp.kubernetes`` like the PVC
mounts). Free of KFP, so ``--help`` stays fast. Without a type the training tasks
request none and the package is the portable CPU one. The type is what the backend expects:
``nvidia.com/gpu`` (a Kubernetes extended resource, on Kubeflow Pipelines) or a Vertex AI name
such as ``NVIDIA_TESLA_T4``. Run the GPU image (``make image-gpu``) on such nodes.
"""

from dataclasses import dataclass, field

EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def _pair(text: str, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not (key and sep):
        raise ValueError(f"{what} {text!r}: expected KEY=VALUE")
    return key, value


@dataclass(frozen=True)
class Toleration:
    """One toleration: ``KEY[=VALUE][:EFFECT]`` (no value: any value, operator Exists)."""

    key: str
    value: str = ""
    effect: str = ""

    @classmethod
    def parse(cls, text: str) -> "Toleration":
        """``"nvidia.com/gpu=present:NoSchedule"`` → ``Toleration("nvidia.com/gpu", ...)``."""
        body, _, effect = text.partition(":")
        key, _, value = body.partition("=")
        if not key or (effect and effect not in EFFECTS):
            raise ValueError(f"toleration {text!r}: expected KEY[=VALUE][:{'|'.join(EFFECTS)}]")
        return cls(key, value, effect)


@dataclass(frozen=True)
class Accelerator:
    """The training tasks' accelerators and placement (empty type: CPU only, no placement)."""

    accelerator_type: str = field(
        default="",
        metadata={
            "help": "training accelerator, e.g. nvidia.com/gpu or NVIDIA_TESLA_T4 (default none)"
        },
    )
    accelerator_count: int = field(default=1, metadata={"help": "accelerators per training task"})
    node_selector: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "training pods' node label, repeatable (e.g. cloud.google.com/gke-accelerator"
            "=nvidia-tesla-t4)",
            "metavar": "KEY=VALUE",
        },
    )
    toleration: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "taint the training pods tolerate, repeatable (e.g. nvidia.com/gpu:NoSchedule)",
            "metavar": "KEY[=VALUE][:EFFECT]",
        },
    )

    def __post_init__(self) -> None:
        if self.accelerator_count < 1:
            raise ValueError(f"--accelerator-count {self.accelerator_count}: expected at least 1")
        self.node_labels()
        self.tolerations()

    def node_labels(self) -> dict[str, str]:
        """The node selector as label → value."""
        return dict(_pair(text, "--node-selector") for text in self.node_selector)

    def tolerations(self) -> list[Toleration]:
        """The tolerations, parsed."""
        return [Toleration.parse(text) for text in self.toleration]


CPU_ONLY = Accelerator()
