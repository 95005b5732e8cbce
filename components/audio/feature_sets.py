"""The feature sets by name: which exist, which featurize computes by default, which are opt-in.

A feature set is one array per clip that featurize stores in the examples and a model reads:
the study's ``log_mel``, ``mfcc`` and ``mean_mfcc`` (``features.py``), and what the pretrained
backbones make of the clip (``embedding.py``): ``mn04_embedding`` (EfficientAT mn04, pooled),
``yamnet_embedding`` (YAMNet, mean+max pooled) and ``mn04_log_mel`` (mn04's own log-mel input,
which the fine-tuned mn04 family trains the trunk on). Featurize computes the sets it is given
(the pipeline's ``feature_sets`` parameter, ``DEFAULT`` unless told otherwise); the examples,
the tf.Transform graph and the model lists follow. ``OPT_IN`` are left out by default for their
cost: YAMNet's embedding costs more than the rest of featurize together at ~12x mn04's compute
per second of audio, and mn04's log-mel is 64,000 floats per clip in the examples, read only by
the fine-tuned mn04 family; the quality preset computes them all, so one benchmark run scores
every model (docs/quality.md).
Free of TensorFlow, so configurations, the pipeline and the command line read it.
"""

from collections.abc import Iterable, Mapping

LOG_MEL = "log_mel"
MFCC = "mfcc"
MEAN_MFCC = "mean_mfcc"
YAMNET_EMBEDDING = "yamnet_embedding"
MN04_EMBEDDING = "mn04_embedding"
MN04_LOG_MEL = "mn04_log_mel"
# Every feature set, in the order examples and reports list them.
ALL: tuple[str, ...] = (LOG_MEL, MFCC, MEAN_MFCC, YAMNET_EMBEDDING, MN04_EMBEDDING, MN04_LOG_MEL)
DEFAULT: tuple[str, ...] = (LOG_MEL, MFCC, MEAN_MFCC, MN04_EMBEDDING)
OPT_IN: tuple[str, ...] = tuple(key for key in ALL if key not in DEFAULT)


def check(keys: Iterable[str]) -> tuple[str, ...]:
    """``keys`` validated and in ``ALL``'s order.

    Raises:
        ValueError: For an empty list or a name that is no feature set.
    """
    keys = list(keys)
    unknown = sorted(set(keys) - set(ALL))
    if unknown:
        raise ValueError(f"unknown feature set(s) {unknown}; known: {list(ALL)}")
    if not keys:
        raise ValueError(f"no feature set given; choose from {list(ALL)}")
    return tuple(key for key in ALL if key in keys)


def reading(
    computed: Iterable[str], candidates: Iterable[str], feature_of: Mapping[str, str], kind: str
) -> list[str]:
    """The ``candidates`` whose feature set (``feature_of``) is in ``computed``, in their order.

    The pipeline trains these models: one whose feature set featurize does not compute is left
    out. ``kind`` names them in errors (``families``, ``baselines``).

    Raises:
        ValueError: For an unknown name, or when none is left (KFP cannot loop over nothing).
    """
    computed, candidates = list(computed), list(candidates)
    unknown = sorted(set(candidates) - set(feature_of))
    if unknown:
        raise ValueError(f"unknown {kind} {unknown}; expected some of {list(feature_of)}")
    kept = [name for name in candidates if feature_of[name] in computed]
    if not kept:
        raise ValueError(
            f"none of the {kind} {candidates} reads a computed feature set "
            f"({', '.join(computed)}); add their feature sets to feature_sets"
        )
    return kept
