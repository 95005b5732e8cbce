"""The names of a run's files and splits, defined once for every step (no TensorFlow).

Each step's output directory holds files with these names (docs/contracts.md): ingest's
manifest, label report and rejects; featurize's example shards per split, the feature sets they
hold, transform graph, clip statistics and dead letter; a model directory's card, model file,
predictions and hyperparameters; evaluate's metrics, analysis, blessing and report, and the two
models they name; a served version's files and the rollout config beside the served models.
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

# evaluate: the scores, the analysis (slices, discovery, importance, errors), the blessing and
# the report (its table of slices in Markdown, the page, and the page's screenshot)
METRICS_FILE = "metrics.json"
SLICES_FILE = "slices.json"
DISCOVERY_FILE = "discovery.json"
IMPORTANCE_FILE = "importance.json"
ERRORS_FILE = "errors.json"
ERRORS_CSV_FILE = "errors.csv"
BLESSING_FILE = "blessing.json"
SLICES_TABLE_FILE = "slices.md"
REPORT_HTML_FILE = "report.html"
# the two models metrics.json and blessing.json name: the candidate (the best exportable model,
# which the blessing is about and deploy publishes; null when none is) and the overall best
CANDIDATE = "candidate"
BEST = "best"

# the model base TF Serving reads (components/artifacts/model_base.py knows its layout):
# <model_base>/<model_name>/<version>/ holds the SavedModel and assets.extra/ (the warmup
# requests TF Serving replays, the model card); <model_base>/models.config is the rollout's
# TF Serving model config (versions and labels: components/artifacts/rollout_config.py)
SERVED_MODEL_NAME = "household_sounds"
SAVED_MODEL_FILE = "saved_model.pb"
ASSETS_EXTRA_DIR = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"  # TF Serving's fixed name, in assets.extra/
VERSION_CARD_JSON = "model_card.json"
VERSION_CARD_MARKDOWN = "model_card.md"
ROLLOUT_CONFIG_FILE = "models.config"
