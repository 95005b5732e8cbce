"""Compile the pipeline function to KFP IR YAML, the package a Kubeflow cluster runs."""

from pathlib import Path

from kfp import compiler

from pipelines.training import training_pipeline


def compile_pipeline(output: str) -> str:
    """Compiles ``training_pipeline`` to ``output`` (creating its folder) and returns the path."""
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(pipeline_func=training_pipeline, package_path=output)
    return output
