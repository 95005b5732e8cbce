"""deploy: export exactly the blessed model as a raw-audio SavedModel and publish it for TF Serving.

Input: the trained model artifact directories (``model.json`` + ``model.keras`` or
``model.joblib``, see docs/contracts.md), the featurize step's tf.Transform graph, and the
evaluate step's directory (``blessing.json``: ``{"blessed", "model" (the candidate: the best
exportable model), "reasons", "production"...}``, plus ``metrics.json``, ``slices.json`` and
``discovery.json`` for the model card). Output: ``<model_base>/<model_name>/<version>/`` (local
path or ``gs://``) holding a SavedModel whose ``serving_default`` takes WAV bytes
(``export.py``), and in ``assets.extra/`` the warmup requests (``warmup.py``), the model card
(``components/model_card.py``: JSON and Markdown) and the evaluation's ``metrics.json`` and
``blessing.json``; written atomically (``publish.py``). deploy exports the model the blessing
names and no other: an unexportable one is an error (evaluate never blesses one,
``components/artifacts/exportable.py``). An unblessed evaluation deploys nothing unless ``force``
is set (``gate``); nor does a blessing whose production comparison is stale, i.e. when the newest
version under the model base is no longer the one evaluate compared with (``stale_production``).
Before publishing, the saved model is loaded back and the warmup requests are run through it,
so a version TF Serving cannot execute is never published; then, unless
``skip_infra_validation`` is set, the infra validation (``infra_validation.py``) replays those
requests and a few of the manifest's test clips the way TF Serving loads and runs a model, in
the export's TensorFlow and in the serving image's, and a version that fails or answers
differently there is not published (``deployed`` false, the differences in ``reasons``).
"""

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import tensorflow as tf

from components import model_card
from components.artifacts import exportable, files
from components.artifacts.model_files import ModelInfo, read_model_card, read_model_info
from components.artifacts.names import (
    ASSETS_EXTRA_DIR,
    BLESSING_FILE,
    METRICS_FILE,
    VERSION_CARD_JSON,
    VERSION_CARD_MARKDOWN,
)
from components.audio.featurizer import weight_files
from components.deploy import classifiers, export, infra_validation, publish, warmup
from components.deploy.config import DeployConfig

EVALUATION_FILES = {"metrics": METRICS_FILE, "slices": "slices.json", "discovery": "discovery.json"}


@dataclass(frozen=True, kw_only=True)
class DeployResult:
    """What the deploy step did.

    Attributes:
        deployed: Whether a version was published.
        model: Name of the trained model considered (from ``model.json``).
        model_name: Served model name.
        version: Published version number, or ``None``.
        uri: Published version directory, or ``""``.
        reasons: Why it was (not) deployed, for logs and KFP metadata.
        infra_validation: ``infra_validation.Report.summary()`` of a passed validation,
            ``{"skipped": true}``, or ``{}`` when no export was made.
    """

    deployed: bool
    model: str
    model_name: str
    version: int | None = None
    uri: str = ""
    reasons: list[str] = field(default_factory=list)
    infra_validation: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True)
class Evaluation:
    """The evaluate step's decision and, when read from its directory, its analysis.

    Attributes:
        blessing: ``blessing.json``.
        metrics: ``metrics.json``, or None.
        slices: ``slices.json``, or None.
        discovery: ``discovery.json``, or None.
    """

    blessing: dict
    metrics: dict | None = None
    slices: list | None = None
    discovery: list | None = None


def read_evaluation(evaluation: "str | dict | Evaluation") -> Evaluation:
    """The evaluate step's output.

    Args:
        evaluation: A blessing dict (no analysis), a ``blessing.json`` path, or the evaluation
            directory; from a path, the analysis files beside ``blessing.json`` are read too.
    """
    if isinstance(evaluation, Evaluation):
        return evaluation
    if isinstance(evaluation, dict):
        return Evaluation(evaluation)
    directory, path = evaluation, os.path.join(evaluation, BLESSING_FILE)
    if not tf.io.gfile.isdir(evaluation):
        directory, path = os.path.dirname(evaluation), evaluation
    found = {
        key: files.read_json(os.path.join(directory, name))
        for key, name in EVALUATION_FILES.items()
        if tf.io.gfile.exists(os.path.join(directory, name))
    }
    return Evaluation(files.read_json(path), **found)


def gate(blessing: dict, force: bool) -> tuple[bool, list[str]]:
    """Whether the evaluation lets a model be deployed, and the reasons to record.

    The one blessing check of this step: an unblessed evaluation deploys nothing unless
    ``force`` is set, and then says so first.

    Args:
        blessing: The evaluate step's blessing (``read_evaluation``).
        force: Deploy even when the evaluation did not bless the model.

    Returns:
        ``(deploy, reasons)``: the blessing's reasons, led by ``"not blessed"`` (refused) or
        ``"not blessed, deployed because force=True"`` (forced) when it is not blessed.
    """
    reasons = [str(reason) for reason in blessing.get("reasons", [])]
    if blessing.get("blessed", False):
        return True, reasons
    if force:
        return True, ["not blessed, deployed because force=True", *reasons]
    logging.warning("deploy: %s is not blessed; nothing deployed", blessing.get("model"))
    return False, ["not blessed", *reasons]


def choose_model(model_dirs: list[str], blessing: dict) -> str:
    """The directory of the model the blessing names, which must be exportable.

    Args:
        model_dirs: Candidate model artifact directories (every trained model).
        blessing: The evaluate step's blessing.

    Raises:
        ValueError: If the named model is not among ``model_dirs``.
        classifiers.UnsupportedModelError: If it cannot be exported (evaluate blesses only
            exportable models; this is reached only by forcing an evaluation without one).
    """
    name = blessing["model"]
    for model_dir in model_dirs:
        card = read_model_card(model_dir)
        if card["name"] == name:
            why_not = exportable.why_not_exportable(card)
            if why_not:
                raise classifiers.UnsupportedModelError(f"cannot deploy {name!r}: {why_not}")
            return model_dir
    raise ValueError(f"blessed model {name!r} is not among the {len(model_dirs)} candidates")


def stale_production(blessing: dict, model_base: str, model_name: str) -> str | None:
    """Why the blessing's production comparison no longer holds, or None if it does.

    evaluate records the version it compared with (``production``: ``version``, ``model_base``,
    ``model_name``); when another version was published under the same base since, the
    candidate was never compared with the model it would now replace.
    """
    production = blessing.get("production") or {}
    if (production.get("model_base"), production.get("model_name")) != (model_base, model_name):
        return None
    compared = production.get("version")
    newest = max(publish.existing_versions(model_base, model_name), default=None)
    if newest == compared:
        return None
    return (
        f"the evaluation compared with version {compared} but the newest version under "
        f"{model_base}/{model_name} is now {newest}: evaluate again"
    )


def verify(export_dir: str) -> None:
    """Loads a saved export and runs every warmup request through its signatures."""
    loaded = tf.saved_model.load(export_dir)
    for log in warmup.read(os.path.join(export_dir, warmup.WARMUP_DIR, warmup.WARMUP_FILE)):
        request = log.predict_log.request
        signature = loaded.signatures[request.model_spec.signature_name]
        signature(**{key: tf.make_ndarray(value) for key, value in request.inputs.items()})


def validation_clips(manifest: str, cfg: DeployConfig) -> list[infra_validation.Clip]:
    """The manifest's test clips the infra validation replays (none without either)."""
    if not manifest or cfg.skip_infra_validation:
        return []
    return infra_validation.test_clips(manifest, cfg.infra_validation_clips)


def export_model(
    model_dir: str,
    transform_graph_dir: str,
    export_dir: str,
    model_name: str,
    extra: dict[str, str] | None = None,
) -> ModelInfo:
    """Exports a model as a verified serving SavedModel with warmup records (no blessing check).

    Args:
        model_dir: Model artifact directory (``model.json`` + ``model.keras``/``model.joblib``).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        export_dir: New local directory for the SavedModel.
        model_name: Served model name written into the warmup requests.
        extra: File name → text written into ``assets.extra/`` (the model card...).

    Returns:
        What ``model.json`` says about the exported model.

    Raises:
        classifiers.UnsupportedModelError: If the model cannot be exported.
    """
    info = read_model_info(model_dir)
    classifier = classifiers.load_classifier(info)
    export.save(export.ServingModule(classifier, transform_graph_dir, info.feature), export_dir)
    warmup.write(export_dir, model_name)
    for name, text in (extra or {}).items():
        files.write_text(os.path.join(export_dir, ASSETS_EXTRA_DIR, name), text)
    verify(export_dir)
    return info


def card_files(card: dict, evaluation: Evaluation) -> dict[str, str]:
    """The ``assets.extra/`` files of a version: the card (JSON, Markdown) and the evaluation's."""
    texts = {
        VERSION_CARD_JSON: files.to_json(card),
        VERSION_CARD_MARKDOWN: model_card.render(card),
        BLESSING_FILE: files.to_json(evaluation.blessing),
    }
    if evaluation.metrics is not None:
        texts[METRICS_FILE] = files.to_json(evaluation.metrics)
    return texts


def run(
    model_dir: str,
    transform_graph_dir: str,
    model_base: str,
    evaluation: "str | dict | Evaluation",
    cfg: DeployConfig = DeployConfig(),
    origin: dict | None = None,
    clips: Sequence[infra_validation.Clip] = (),
) -> DeployResult:
    """Exports and publishes one model version if the evaluation blessed it (or ``cfg.force``).

    Args:
        model_dir: Model artifact directory to export (see ``choose_model``).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        model_base: TF Serving model base: local path or ``gs://bucket/prefix``.
        evaluation: The evaluate step's directory, its ``blessing.json``, or a blessing dict
            (then the model card records no metrics, slices or data).
        cfg: Served name, force flag and version.
        origin: The card's lineage (``model_card.lineage``); None reads it here.
        clips: Recordings the infra validation replays besides the warmup records
            (``infra_validation.test_clips``).

    Returns:
        What was deployed, where, and why.

    Raises:
        classifiers.UnsupportedModelError: If the model cannot be exported.
        publish.VersionExistsError: If the version is already published.
        serving_tf.ServingTensorflowError: If the infra validation's environment is missing and
            cannot be installed.
    """
    evaluation = read_evaluation(evaluation)
    blessing = evaluation.blessing
    info = read_model_info(model_dir)
    deploy, reasons = gate(blessing, cfg.force)
    if not deploy:
        return DeployResult(
            deployed=False, model=info.name, model_name=cfg.model_name, reasons=reasons
        )
    if blessing.get("blessed", False) and blessing.get("model") != info.name:
        reasons.append(f"blessing names {blessing.get('model')!r}; deploying {info.name!r}")
    stale = stale_production(blessing, model_base, cfg.model_name)
    if stale and not cfg.force:
        logging.warning("deploy: %s", stale)
        return DeployResult(
            deployed=False, model=info.name, model_name=cfg.model_name, reasons=[stale, *reasons]
        )
    if stale:
        reasons.append(f"{stale}; deployed because force=True")
    version = cfg.version
    if version is None:
        version = publish.next_version(publish.existing_versions(model_base, cfg.model_name))
    served = {
        "model_name": cfg.model_name,
        "version": version,
        "uri": publish.version_uri(model_base, cfg.model_name, version),
    }
    trained = read_model_card(model_dir)
    card = model_card.build(
        trained,
        served,
        blessing,
        {key: getattr(evaluation, key) for key in EVALUATION_FILES},
        origin or model_card.lineage(),
        weight_files((info.feature,)),
    )
    with tempfile.TemporaryDirectory(prefix="deploy-") as scratch:
        export_dir = os.path.join(scratch, "export")
        extra = card_files(card, evaluation)
        export_model(model_dir, transform_graph_dir, export_dir, cfg.model_name, extra)
        validation = {"skipped": True}
        if not cfg.skip_infra_validation:
            try:
                validation = infra_validation.validate(export_dir, clips, cfg.model_name).summary()
            except infra_validation.InfraValidationError as error:
                logging.error("deploy: %s", error)
                return DeployResult(
                    deployed=False,
                    model=info.name,
                    model_name=cfg.model_name,
                    reasons=[str(error), *reasons],
                    infra_validation={"passed": False, "error": str(error)},
                )
        uri, version = publish.publish(export_dir, model_base, cfg.model_name, version)
    logging.info("deploy: published %s (%s) as %s", info.name, info.feature, uri)
    return DeployResult(
        deployed=True,
        model=info.name,
        model_name=cfg.model_name,
        version=version,
        uri=uri,
        reasons=reasons,
        infra_validation=validation,
    )


def run_best(
    model_dirs: list[str],
    transform_graph_dir: str,
    model_base: str,
    evaluation: "str | dict | Evaluation",
    cfg: DeployConfig = DeployConfig(),
    origin: dict | None = None,
    manifest: str = "",
) -> DeployResult:
    """The pipeline's entry point: gate on the blessing, then ``run`` on the model it names.

    Args:
        model_dirs: Every trained model artifact directory (Keras and scikit-learn).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        model_base: TF Serving model base: local path or ``gs://bucket/prefix``; empty deploys
            nothing (and says so).
        evaluation: The evaluate step's directory (or ``blessing.json``, or a blessing dict).
        cfg: Served name, force flag and version.
        origin: The card's lineage (pipeline run, commit, image); None reads it here.
        manifest: The ingest manifest, whose first ``cfg.infra_validation_clips`` test clips
            the infra validation replays; empty replays the warmup records only.

    Returns:
        What was deployed, where, and why.

    Raises:
        classifiers.UnsupportedModelError: If the named model cannot be exported (forced).
    """
    evaluation = read_evaluation(evaluation)
    blessing = evaluation.blessing
    if not model_base:
        reasons = ["no model_base given: nothing to deploy to"]
    else:
        deploy, reasons = gate(blessing, cfg.force)
        if deploy:
            model_dir = choose_model(model_dirs, blessing)
            clips = validation_clips(manifest, cfg)
            return run(model_dir, transform_graph_dir, model_base, evaluation, cfg, origin, clips)
    return DeployResult(
        deployed=False, model=str(blessing.get("model")), model_name=cfg.model_name, reasons=reasons
    )
