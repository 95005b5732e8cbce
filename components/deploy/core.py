"""deploy: export the blessed model as a raw-audio SavedModel and publish it for TF Serving.

Input: a trained model artifact directory (``model.json`` + ``model.keras`` or ``model.joblib``,
see docs/contracts.md), the featurize step's tf.Transform graph, and the evaluate step's blessing
(``{"blessed": bool, "model": name, "reasons": [...], "ranking"?: [names, best first]}``).
Output: ``<model_base>/<model_name>/<version>/`` (local path or ``gs://``) holding a SavedModel
whose ``serving_default`` takes WAV bytes (``export.py``) and
``assets.extra/tf_serving_warmup_requests`` (``warmup.py``), written atomically
(``publish.py``). An unblessed evaluation deploys nothing unless ``force`` is set (``gate``). Before
publishing, the saved model is loaded back and the warmup requests are run through it, so a
version TF Serving cannot execute is never published.
"""

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace

import tensorflow as tf

from components.artifacts import files
from components.artifacts.model_files import ModelInfo, read_model_info
from components.artifacts.names import BLESSING_FILE
from components.deploy import classifiers, export, publish, warmup
from components.deploy.config import DeployConfig


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
    """

    deployed: bool
    model: str
    model_name: str
    version: int | None = None
    uri: str = ""
    reasons: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


def read_blessing(blessing: str | dict) -> dict:
    """The evaluate step's blessing as a dict.

    Args:
        blessing: The dict itself, a ``blessing.json`` path, or a directory holding one.
    """
    if isinstance(blessing, dict):
        return blessing
    path = blessing
    if tf.io.gfile.isdir(path):
        path = os.path.join(path, BLESSING_FILE)
    return files.read_json(path)


def gate(blessing: dict, force: bool) -> tuple[bool, list[str]]:
    """Whether the evaluation lets a model be deployed, and the reasons to record.

    The one blessing check of this step: an unblessed evaluation deploys nothing unless
    ``force`` is set, and then says so first.

    Args:
        blessing: The evaluate step's blessing (``read_blessing``).
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


def choose_model(model_dirs: list[str], blessing: str | dict) -> tuple[str, list[str]]:
    """Picks the model to export: the blessed winner, or the best exportable one if it cannot be.

    Random forests and SVCs cannot be exported exactly (``classifiers.py``); then the first
    exportable model in the blessing's ``ranking`` (best first) is chosen and the reason recorded.

    Args:
        model_dirs: Candidate model artifact directories (every trained model).
        blessing: The evaluate step's blessing (see ``read_blessing``).

    Returns:
        ``(model_dir, reasons)``.

    Raises:
        ValueError: If the winner is not among ``model_dirs``.
        classifiers.UnsupportedModelError: If no acceptable model can be exported.
    """
    blessing = read_blessing(blessing)
    infos = {info.name: info for info in map(read_model_info, model_dirs)}
    winner = blessing["model"]
    if winner not in infos:
        raise ValueError(f"blessed model {winner!r} is not among the candidates {sorted(infos)}")
    if classifiers.is_exportable(infos[winner]):
        return infos[winner].model_dir, []
    for rank, name in enumerate(blessing.get("ranking", []), start=1):
        if name in infos and classifiers.is_exportable(infos[name]):
            reason = (
                f"winner {winner!r} cannot be exported to TensorFlow exactly; deploying "
                f"{name!r}, the best exportable model (rank {rank} of the evaluation)"
            )
            logging.warning("deploy: %s", reason)
            return infos[name].model_dir, [reason]
    raise classifiers.UnsupportedModelError(
        f"winner {winner!r} cannot be exported to TensorFlow exactly and the blessing ranks no "
        "exportable (Keras or logistic-regression) model to deploy instead"
    )


def verify(export_dir: str) -> None:
    """Loads a saved export and runs every warmup request through its signatures."""
    loaded = tf.saved_model.load(export_dir)
    for log in warmup.read(os.path.join(export_dir, warmup.WARMUP_DIR, warmup.WARMUP_FILE)):
        request = log.predict_log.request
        signature = loaded.signatures[request.model_spec.signature_name]
        signature(**{key: tf.make_ndarray(value) for key, value in request.inputs.items()})


def export_model(
    model_dir: str, transform_graph_dir: str, export_dir: str, model_name: str
) -> ModelInfo:
    """Exports a model as a verified serving SavedModel with warmup records (no blessing check).

    Args:
        model_dir: Model artifact directory (``model.json`` + ``model.keras``/``model.joblib``).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        export_dir: New local directory for the SavedModel.
        model_name: Served model name written into the warmup requests.

    Returns:
        What ``model.json`` says about the exported model.

    Raises:
        classifiers.UnsupportedModelError: If the model cannot be exported.
    """
    info = read_model_info(model_dir)
    classifier = classifiers.load_classifier(info)
    export.save(export.ServingModule(classifier, transform_graph_dir, info.feature), export_dir)
    warmup.write(export_dir, model_name)
    verify(export_dir)
    return info


def run(
    model_dir: str,
    transform_graph_dir: str,
    model_base: str,
    blessing: str | dict,
    cfg: DeployConfig = DeployConfig(),
) -> DeployResult:
    """Exports and publishes one model version if the evaluation blessed it (or ``cfg.force``).

    Args:
        model_dir: Model artifact directory to export (see ``choose_model``).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        model_base: TF Serving model base: local path or ``gs://bucket/prefix``.
        blessing: The evaluate step's blessing (dict, ``blessing.json`` path or its directory).
        cfg: Served name, force flag and version.

    Returns:
        What was deployed, where, and why.

    Raises:
        classifiers.UnsupportedModelError: If the model cannot be exported.
        publish.VersionExistsError: If ``cfg.version`` is already published.
    """
    blessing = read_blessing(blessing)
    info = read_model_info(model_dir)
    deploy, reasons = gate(blessing, cfg.force)
    if not deploy:
        return DeployResult(
            deployed=False, model=info.name, model_name=cfg.model_name, reasons=reasons
        )
    if blessing.get("blessed", False) and blessing.get("model") != info.name:
        reasons.append(f"blessing names {blessing.get('model')!r}; deploying {info.name!r}")
    with tempfile.TemporaryDirectory(prefix="deploy-") as scratch:
        export_dir = os.path.join(scratch, "export")
        export_model(model_dir, transform_graph_dir, export_dir, cfg.model_name)
        uri, version = publish.publish(export_dir, model_base, cfg.model_name, cfg.version)
    logging.info("deploy: published %s (%s) as %s", info.name, info.feature, uri)
    return DeployResult(
        deployed=True,
        model=info.name,
        model_name=cfg.model_name,
        version=version,
        uri=uri,
        reasons=reasons,
    )


def run_best(
    model_dirs: list[str],
    transform_graph_dir: str,
    model_base: str,
    blessing: str | dict,
    cfg: DeployConfig = DeployConfig(),
) -> DeployResult:
    """The pipeline's entry point: gate on the blessing, ``choose_model``, then ``run``.

    Args:
        model_dirs: Every trained model artifact directory (Keras and scikit-learn).
        transform_graph_dir: ``tft.TFTransformOutput`` directory of the same featurize run.
        model_base: TF Serving model base: local path or ``gs://bucket/prefix``; empty deploys
            nothing (and says so).
        blessing: The evaluate step's blessing (dict, ``blessing.json`` path or its directory).
        cfg: Served name, force flag and version.

    Returns:
        What was deployed, where, and why (including any fallback from an unexportable winner).
    """
    blessing = read_blessing(blessing)
    if not model_base:
        reason = "no model_base given: nothing to deploy to"
        return DeployResult(
            deployed=False,
            model=str(blessing.get("model")),
            model_name=cfg.model_name,
            reasons=[reason],
        )
    deploy, reasons = gate(blessing, cfg.force)
    if not deploy:
        return DeployResult(
            deployed=False,
            model=str(blessing.get("model")),
            model_name=cfg.model_name,
            reasons=reasons,
        )
    model_dir, choice = choose_model(model_dirs, blessing)
    result = run(model_dir, transform_graph_dir, model_base, blessing, cfg)
    return replace(result, reasons=[*choice, *result.reasons])
