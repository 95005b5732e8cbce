"""The names of a run's files and splits, defined once for every step (no TensorFlow).

Each step's output directory holds files with these names (docs/contracts.md): ingest's
manifest, label report and rejects; featurize's example shards per split, the feature sets they
hold, transform graph, clip statistics and dead letter; a model directory's card, model file,
predictions and hyperparameters; evaluate's metrics and blessing.
"""

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS: tuple[str, ...] = (TRAIN, VALIDATION, TEST)

# ingest (and rebalance, which writes a manifest of the same shape)
MANIFEST_FILE = "manifest.jsonl"
# rebalance names a clip's augmented copies ``<clip_id>__aug<k>``; baselines groups CV folds by it
AUGMENTED_COPY_MARK = "__aug"
LABEL_REPORT_FILE = "label_report.json"
REJECTS_FILE = "rejects.jsonl"

# featurize: examples/<split>/part-*.tfrecord.gz, stats per clip and the clips it rejected
EXAMPLES_DIR = "examples"
SHARD_SUFFIX = ".tfrecord.gz"
TRANSFORM_GRAPH_DIR = "transform_graph"
CLIP_STATS = "clip_stats"
DEAD_LETTER = "dead_letter"
CLIP_STATS_FILE = f"{CLIP_STATS}.jsonl"
DEAD_LETTER_FILE = f"{DEAD_LETTER}.jsonl"
FEATURE_SETS_FILE = "feature_sets.json"  # {"feature_sets": [...]}: what the examples hold

# a model directory (train, baselines)
MODEL_CARD_FILE = "model.json"
KERAS_MODEL_FILE = "model.keras"
SKLEARN_MODEL_FILE = "model.joblib"
PREDICTIONS_DIR = "predictions"
BEST_HPARAMS_FILE = "best_hparams.json"
TRIALS_FILE = "trials.json"
RESUME_DIR = "resume"  # a Keras model's resume state, only while its task is unfinished
KERAS = "keras"  # model.json "framework" values
SKLEARN = "sklearn"

# evaluate
METRICS_FILE = "metrics.json"
BLESSING_FILE = "blessing.json"

# a deployed version: <model_base>/<model_name>/<version>/assets.extra/ (deploy → describe);
# evaluate reads the newest version of the same served name to compare the candidate with
SERVED_MODEL_NAME = "household_sounds"
ASSETS_EXTRA_DIR = "assets.extra"
VERSION_CARD_JSON = "model_card.json"
VERSION_CARD_MARKDOWN = "model_card.md"
