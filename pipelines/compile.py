"""Compile the pipeline function to KFP IR YAML, the package a Kubeflow cluster runs."""

from collections.abc import Sequence
from pathlib import Path

from kfp import compiler

from components import IMAGE
from pipelines.accelerator import CPU_ONLY, Accelerator
from pipelines.task_limits import DEFAULT_LIMITS, TaskLimits
from pipelines.training import PvcMount, build_pipeline


def compile_pipeline(
    output: str,
    pvcs: Sequence[PvcMount] = (),
    image: str = IMAGE,
    accelerator: Accelerator = CPU_ONLY,
    tuner_workers: int = 0,
    limits: TaskLimits = DEFAULT_LIMITS,
) -> str:
    """Compiles the pipeline to ``output`` (creating its folder) and returns the path.

    ``pvcs`` are mounted into every task through ``kfp.kubernetes`` (the kind demo's store).
    Every task runs ``image``; the training tasks request ``accelerator``; each tuned task
    searches with ``tuner_workers`` worker tasks (``build_pipeline``; 0: alone); every step's pod
    gets its ``limits`` deadline (``kfp.kubernetes``, so the package always has a Kubernetes
    platform spec, which only Kubeflow runs: ``pipelines.vertex`` leaves it out).
    """
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    pipeline = build_pipeline(
        pvcs, image, accelerator=accelerator, tuner_workers=tuner_workers, limits=limits
    )
    compiler.Compiler().compile(pipeline_func=pipeline, package_path=output)
    return output
