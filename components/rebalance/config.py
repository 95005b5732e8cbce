"""rebalance's configuration: ``RebalanceConfig`` and its presets (the study's, demo's, quality's).

TensorFlow-free, so the KFP wrapper, the pipeline and the command line read the per-class
targets from here. Field metadata ``help`` is what ``household-sounds rebalance`` shows; fields
without it are not command-line options.
"""

from dataclasses import dataclass, field

PRESETS: dict[str, dict] = {
    "full": {"target_per_class": 5000},
    "demo": {"target_per_class": 60},
    "quality": {"target_per_class": 200},
}
# Shifts smaller than this are inaudible, so a copy would be a near-duplicate of its source.
MIN_SEMITONES = 0.25


@dataclass(frozen=True)
class RebalanceConfig:
    """How to rebalance the training split.

    Attributes:
        target_per_class: Training clips every class ends with (the study used 5,000).
        snr_db_range: Uniform range of the noise SNR given to each augmented copy, in dB.
        semitone_range: Uniform range of each copy's pitch shift; shifts with magnitude below
            ``MIN_SEMITONES`` are redrawn so every copy is audibly shifted.
        keep_majority_clips: Keep every clip of a class above the target instead of
            undersampling it (classes below it are still topped up with augmented copies); the
            pipeline then passes it to the Keras tasks' ``class_weights`` (by hand:
            ``train --class-weights``), and the baselines always weight classes. Models on a
            pretrained embedding gain from every clip; the study undersampled.
        seed: Seed of the sampling and of every copy's augmentation.
    """

    target_per_class: int = field(
        default=PRESETS["full"]["target_per_class"], metadata={"help": "training clips per class"}
    )
    snr_db_range: tuple[float, float] = (10.0, 30.0)
    semitone_range: tuple[float, float] = (-2.0, 2.0)
    keep_majority_clips: bool = field(
        default=False, metadata={"help": "keep every clip of classes above the target"}
    )
    seed: int = field(default=0, metadata={"help": "sampling and augmentation seed"})
