"""deploy: export exactly the evaluation's candidate as a raw-audio SavedModel and publish it.

Input: the trained model artifact directories (``model.json`` + ``model.keras`` or
``model.joblib``, see docs/contracts.md), the featurize step's tf.Transform graph, and the
evaluate step's directory (``blessing.json``: ``{"blessed", "candidate" (the best exportable
model, or null), "best", "reasons", "production"...}``, plus ``metrics.json``, ``slices.json``
and ``discovery.json`` for the model card). Output: ``<model_base>/<model_name>/<version>/``
(local path or ``gs://``) holding a SavedModel whose ``serving_default`` takes WAV bytes
(``export.py``), and in ``assets.extra/`` the warmup requests (``warmup.py``), the model card
(``components/model_card.py``: JSON and Markdown) and the evaluation's ``metrics.json`` and
``blessing.json``; written atomically (``publish.py``). ``run`` is the one entry point (the KFP
wrapper and ``household-sounds deploy``): it reads the evaluation once, gates once (``gate``:
no model base or no candidate deploys nothing; an unblessed candidate or a stale production
comparison — the production version under the model base (``stable`` in its rollout config,
else the newest) is no longer the one evaluate compared with, ``stale_production`` — deploys
nothing unless ``force`` is set), then reads the
candidate's ``model.json`` once and exports it and no other model (an unexportable one is an
error: evaluate never proposes one, ``components/artifacts/exportable.py``). Before publishing,
the saved model is loaded back and the warmup requests are run through it, so a version TF
Serving cannot execute is never published. A published version is served once the rollout
config labels it (``household-sounds promote``, docs/serving.md). Unless
``skip_infra_validation`` is set, the infra validation (``infra_validation.py``) first replays
the warmup requests and a few of the manifest's test clips the way TF Serving loads and runs a
model, in the export's TensorFlow and in the serving image's, and a version that fails or answers
differently there is not published (``deployed`` false, the differences in ``reasons``).
"""

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field

import tensorflow as tf

from components import model_card
from components.artifacts import exportable, files
from components.artifacts.model_base import asset_file, version_dir, versions, warmup_file
from components.artifacts.model_files import ModelInfo, read_model_card
from components.artifacts.names import (
    BLESSING_FILE,
    CANDIDATE,
    DISCOVERY_FILE,
    METRICS_FILE,
    SLICES_FILE,
    VERSION_CARD_JSON,
    VERSION_CARD_MARKDOWN,
)
from components.artifacts.rollout_config import production_version
from components.audio.featurizer import weight_files
from components.deploy import classifiers, export, infra_validation, publish, warmup
from components.deploy.config import DeployConfig

EVALUATION_FILES = {"metrics": METRICS_FILE, "slices": SLICES_FILE, "discovery": DISCOVERY_FILE}


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


def gate(evaluation: Evaluation, model_base: str, cfg: DeployConfig) -> tuple[bool, list[str]]:
    """Whether the evaluation lets its candidate be published under ``model_base``, and why.

    The one check of this step. Refused whatever ``cfg.force`` says: no model base, or no
    candidate (evaluate found no exportable model). Refused unless ``cfg.force`` is set (and
    then the reasons say so): the candidate is not blessed, or the blessing's production
    comparison is stale (``stale_production``).

    Args:
        evaluation: The evaluate step's output (``read_evaluation``).
        model_base: TF Serving model base; empty deploys nothing.
        cfg: Served name and force flag.

    Returns:
        ``(deploy, reasons)``: the blessing's reasons, led by why it was refused (or forced).
    """
    blessing = evaluation.blessing
    reasons = [str(reason) for reason in blessing.get("reasons", [])]
    if not model_base:
        return False, ["no model_base given: nothing to deploy to"]
    if not blessing.get(CANDIDATE):
        return False, ["no exportable candidate: nothing to deploy", *reasons]
    refusals = []
    if not blessing.get("blessed", False):
        refusals.append("not blessed")
    stale = stale_production(blessing, model_base, cfg.model_name)
    if stale:
        refusals.append(stale)
    if not refusals:
        return True, reasons
    if cfg.force:
        return True, [f"{why}; deployed because force=True" for why in refusals] + reasons
    logging.warning("deploy: %s not deployed: %s", blessing[CANDIDATE], "; ".join(refusals))
    return False, refusals + reasons


def choose_model(model_dirs: list[str], name: str) -> tuple[str, dict]:
    """The directory and ``model.json`` of the model named ``name``, which must be exportable.

    Args:
        model_dirs: Model artifact directories (every trained model), each card read once.
        name: The candidate the blessing names.

    Raises:
        ValueError: If the named model is not among ``model_dirs``.
        classifiers.UnsupportedModelError: If it cannot be exported (evaluate never proposes
            one; this is reached only by a hand-written blessing).
    """
    for model_dir in model_dirs:
        card = read_model_card(model_dir)
        if card["name"] == name:
            why_not = exportable.why_not_exportable(card)
            if why_not:
                raise classifiers.UnsupportedModelError(f"cannot deploy {name!r}: {why_not}")
            return model_dir, card
    raise ValueError(f"the candidate {name!r} is not among the {len(model_dirs)} model directories")


def stale_production(blessing: dict, model_base: str, model_name: str) -> str | None:
    """Why the blessing's production comparison no longer holds, or None if it does.

    evaluate records the version it compared with (``production``: ``version``, ``model_base``,
    ``model_name``); when the production version under the same base changed since (another
    version published, promoted or rolled back to), the candidate was never compared with the
    model it would now replace.
    """
    production = blessing.get("production") or {}
    if (production.get("model_base"), production.get("model_name")) != (model_base, model_name):
        return None
    compared = production.get("version")
    current = production_version(model_base, model_name)
    if current == compared:
        return None
    return (
        f"the evaluation compared with version {compared} but the production version under "
        f"{model_base}/{model_name} is now {current}: evaluate again"
    )


def verify(export_dir: str) -> None:
    """Loads a saved export and runs every warmup request through its signatures."""
    loaded = tf.saved_model.load(export_dir)
    for log in warmup.read(warmup_file(export_dir)):
        request = log.predict_log.request
        signature = loaded.signatures[request.model_spec.signature_name]
        signature(**{key: tf.make_ndarray(value) for key, value in request.inputs.items()})


def export_model(
    info: ModelInfo,
    transform_graph_dir: str,
    export_dir: str,
    model_name: str,
    extra: dict[str, str] | None = None,
) -> None:
    """Exports a model as a verified serving SavedModel with warmup records (no blessing check).

    Args:
        info: The model (``model_files.read_model_info`` of its artifact directory).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        export_dir: New local directory for the SavedModel.
        model_name: Served model name written into the warmup requests.
        extra: File name → text written into ``assets.extra/`` (the model card...).

    Raises:
        classifiers.UnsupportedModelError: If the model cannot be exported.
    """
    classifier = classifiers.load_classifier(info)
    export.save(export.ServingModule(classifier, transform_graph_dir, info.feature), export_dir)
    warmup.write(export_dir, model_name)
    for name, text in (extra or {}).items():
        files.write_text(asset_file(export_dir, name), text)
    verify(export_dir)


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
    model_dirs: list[str],
    transform_graph_dir: str,
    model_base: str,
    evaluation: "str | dict | Evaluation",
    cfg: DeployConfig = DeployConfig(),
    origin: dict | None = None,
    manifest: str = "",
) -> DeployResult:
    """The step's one entry point: gate on the evaluation, then publish the candidate it names.

    Reads the evaluation once and gates once (``gate``); then reads the candidate's
    ``model.json`` from ``model_dirs`` (``choose_model``), exports, verifies and publishes it
    as a new version with its card.

    Args:
        model_dirs: Every trained model artifact directory (Keras and scikit-learn), or just the
            candidate's.
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        model_base: TF Serving model base: local path or ``gs://bucket/prefix``; empty deploys
            nothing (and says so).
        evaluation: The evaluate step's directory, its ``blessing.json``, or a blessing dict
            (then the model card records no metrics, slices or data).
        cfg: Served name, force flag and version.
        origin: The card's lineage (``model_card.lineage``); None reads it here.
        manifest: The ingest manifest, whose first ``cfg.infra_validation_clips`` test clips
            the infra validation replays besides the warmup records; empty replays the warmup
            records only.

    Returns:
        What was deployed, where, and why (or why not).

    Raises:
        ValueError: If the candidate is not among ``model_dirs``.
        classifiers.UnsupportedModelError: If the candidate cannot be exported.
        publish.VersionExistsError: If the version is already published.
        serving_tf.ServingTensorflowError: If the infra validation's environment is missing and
            cannot be installed.
    """
    evaluation = read_evaluation(evaluation)
    candidate = str(evaluation.blessing.get(CANDIDATE))
    deploy, reasons = gate(evaluation, model_base, cfg)
    if not deploy:
        return DeployResult(
            deployed=False, model=candidate, model_name=cfg.model_name, reasons=reasons
        )
    model_dir, trained = choose_model(model_dirs, candidate)
    info = ModelInfo.from_card(trained, model_dir)
    version = cfg.version
    if version is None:
        version = publish.next_version(versions(model_base, cfg.model_name))
    served = {
        "model_name": cfg.model_name,
        "version": version,
        "uri": version_dir(model_base, cfg.model_name, version),
    }
    card = model_card.build(
        trained,
        served,
        evaluation.blessing,
        {key: getattr(evaluation, key) for key in EVALUATION_FILES},
        origin or model_card.lineage(),
        # the featurizer's trunk, and one the model itself holds (a fine-tuned mn04's)
        weight_files((info.feature,)) + trained.get("pretrained", []),
    )
    with tempfile.TemporaryDirectory(prefix="deploy-") as scratch:
        export_dir = os.path.join(scratch, "export")
        extra = card_files(card, evaluation)
        export_model(info, transform_graph_dir, export_dir, cfg.model_name, extra)
        validation = {"skipped": True}
        if not cfg.skip_infra_validation:
            try:
                count = cfg.infra_validation_clips
                clips = infra_validation.test_clips(manifest, count) if manifest else []
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
