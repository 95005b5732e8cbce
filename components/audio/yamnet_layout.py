"""YAMNet's layer table and the Keras names of its weights, shared by the network and readers.

YAMNet (tensorflow/models ``_YAMNET_LAYER_DEFS``) is a 3×3 stride-2 convolution and 13
depthwise-separable blocks; block ``i`` is ``layer{i + 1}``. The rebuilt network names its
convolutions ``layer1_conv``, ``layer2_depthwise``, ``layer2_pointwise``, ... and its AudioSet
head ``logits``; the weight readers (``yamnet_h5``, ``yamnet_tflite``) return arrays under
``<layer>.kernel`` / ``<layer>.bias`` of those names.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One layer of YAMNet's table: ``conv`` (full 3×3) or ``separable`` (depthwise + 1×1)."""

    kind: str
    stride: int
    filters: int

    def parts(self) -> tuple[str, ...]:
        """Its convolutions' name suffixes, in graph order."""
        return ("conv",) if self.kind == "conv" else ("depthwise", "pointwise")


BLOCKS: tuple[Block, ...] = (
    Block("conv", 2, 32),
    Block("separable", 1, 64),
    Block("separable", 2, 128),
    Block("separable", 1, 128),
    Block("separable", 2, 256),
    Block("separable", 1, 256),
    Block("separable", 2, 512),
    *(Block("separable", 1, 512) for _ in range(5)),
    Block("separable", 2, 1024),
    Block("separable", 1, 1024),
)
LOGITS = "logits"


def conv_layer_names() -> list[str]:
    """Names of the convolutions in graph order (``layer1_conv``, ``layer2_depthwise``, ...)."""
    return [
        f"layer{index}_{part}"
        for index, block in enumerate(BLOCKS, start=1)
        for part in block.parts()
    ]
