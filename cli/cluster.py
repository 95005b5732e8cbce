"""The commands for a cluster: ``compile`` the pipeline package and ``submit`` a run of it.

Both choose, at compile time, the image every task runs (``--image``, resolved by
``cli.image``), the training tasks' accelerator and placement (``pipelines.accelerator``,
whose fields become the flags), how many Keras Tuner workers search beside each tuned task
(``--tuner-workers``: worker tasks are part of the DAG's shape, docs/scaling.md) and the steps'
pod deadlines (``--task-timeout``, ``pipelines.task_limits``). The release image
(``components.IMAGE``) is not published anywhere, so ``compile`` warns when it is the one
chosen and ``submit`` refuses it (a cluster would end in ImagePullBackOff) unless
``--allow-unpublished-image`` says it is there (kind loads it into its node); ``submit`` sends
the package to Kubeflow Pipelines or Vertex AI (``pipelines.submit``) with its ``SubmitOptions``
as options, and with the data's fingerprint as ``data_fingerprint``, ingest's cache key
(``submit.with_fingerprint``). KFP is imported only when a command runs, so ``--help`` stays
fast. ``cli/main.py`` registers ``COMMANDS``.
"""

import argparse
import sys

from cli.flags import Command, UsageError, add_config_flags, config_from_args, emit, registrar
from cli.user_config import IMAGE_ENV, PROJECT_FILE, USER_FILE
from components import IMAGE
from pipelines import presets
from pipelines.accelerator import CPU_ONLY, Accelerator
from pipelines.submit import SubmitOptions
from pipelines.task_limits import DEFAULT_LIMITS, TaskLimits

COMMANDS: dict[str, Command] = {}
command = registrar(COMMANDS)


def _image_reference(text: str) -> str:
    from pipelines.image import check_name

    try:
        return check_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _image_and_accelerator_flags(parser: argparse.ArgumentParser) -> None:
    help = (
        f"image every task runs (default ${IMAGE_ENV}, else image in {PROJECT_FILE} or "
        f"~/.config/{USER_FILE}, else the release image); no tag: the git commit"
    )
    parser.add_argument("--image", type=_image_reference, metavar="REGISTRY/NAME[:TAG]", help=help)
    add_config_flags(parser, Accelerator)
    add_config_flags(parser, TaskLimits)
    help = "Keras Tuner worker tasks beside each tuned task (0: it searches alone); needs "
    help += "checkpoint_root, Kubeflow on Kubernetes only"
    parser.add_argument("--tuner-workers", type=_count, default=0, metavar="N", help=help)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: expected a count (0, 1, 2...)")
    return int(text)


def _image(args: argparse.Namespace) -> str:
    """``--image``, else ``$HOUSEHOLD_SOUNDS_IMAGE``, the settings file, the release image."""
    from cli.image import resolve_image

    return resolve_image(args.image)  # a ValueError: a usage error


def _accelerator(args: argparse.Namespace) -> Accelerator:
    """The training tasks' accelerator and placement the flags describe."""
    return config_from_args(args, Accelerator)  # a ValueError: a usage error


def _limits(args: argparse.Namespace) -> TaskLimits:
    """The steps' pod deadlines the ``--task-timeout`` flags describe."""
    return config_from_args(args, TaskLimits)  # a ValueError: a usage error


UNPUBLISHED = (
    f"{IMAGE} is the release name, which nothing publishes: build and push your image "
    "(make image image-push REGISTRY=...) and pass --image (or $HOUSEHOLD_SOUNDS_IMAGE)"
)


def _compile_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", default="build/pipeline.yaml", help="IR YAML path")
    help = "mount PersistentVolumeClaim NAME at PATH in every task, repeatable (kind's store)"
    parser.add_argument("--pvc", action="append", default=[], metavar="NAME:PATH", help=help)
    _image_and_accelerator_flags(parser)


@command("compile", flags=_compile_flags)
def _compile(args: argparse.Namespace) -> int:
    """Compile the pipeline to KFP IR YAML for any KFP v2 backend."""
    from pipelines.compile import compile_pipeline
    from pipelines.training import PvcMount

    pvcs = [PvcMount.parse(pvc) for pvc in args.pvc]
    image = _image(args)
    if image == IMAGE:
        print(f"household-sounds compile: warning: {UNPUBLISHED}", file=sys.stderr)
    accelerator, limits = _accelerator(args), _limits(args)
    print(compile_pipeline(args.output, pvcs, image, accelerator, args.tuner_workers, limits))
    return 0


def _submit_flags(parser: argparse.ArgumentParser) -> None:
    presets.add_flags(parser)
    _image_and_accelerator_flags(parser)
    help = f"submit even if the tasks run {IMAGE}, which nothing publishes (kind loads it)"
    parser.add_argument("--allow-unpublished-image", action="store_true", help=help)


@command("submit", config=SubmitOptions, flags=_submit_flags)
def _submit(args: argparse.Namespace, options: SubmitOptions) -> int:
    """Submit a run (or a recurring run) of the pipeline to Kubeflow Pipelines or Vertex AI."""
    import tempfile

    from pipelines import submit
    from pipelines.compile import compile_pipeline
    from pipelines.package import images

    accelerator, limits = _accelerator(args), _limits(args)
    if options.package and args.image:
        raise UsageError("--image needs no --package (recompile it)")
    recompiled = accelerator != CPU_ONLY or args.tuner_workers or limits != DEFAULT_LIMITS
    if options.package and recompiled:
        flags = "accelerator, placement, tuner and --task-timeout flags"
        raise UsageError(f"{flags} need no --package (recompile it)")
    if options.vertex and args.tuner_workers:
        # Vertex runs each task as its own custom job: no pod network between them.
        raise UsageError("--tuner-workers runs on Kubeflow on Kubernetes, not on Vertex AI")
    with tempfile.TemporaryDirectory() as tmp:
        compiled = f"{tmp}/pipeline.yaml"
        package = options.package or compile_pipeline(
            compiled,
            image=_image(args),
            accelerator=accelerator,
            tuner_workers=args.tuner_workers,
            limits=limits,
        )
        if IMAGE in images(package) and not args.allow_unpublished_image:
            raise UsageError(f"{UNPUBLISHED}; or --allow-unpublished-image")
        # A ValueError (ParamError, VertexTarget) is a usage error: nothing was sent.
        payload, code = submit.start(package, options, presets.arguments(args))
    emit(payload)
    return code
