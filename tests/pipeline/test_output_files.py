"""Every cacheable step writes a file for each Metrics output it declares.

kfp.local's cache (kfp 2.17, ``kfp/local/cache.py``) takes a cached output whose file is missing
for a miss, and ``Metrics.log_metric`` only fills the artifact's metadata: a step that never
writes the file reruns on every ``household-sounds run``, and so does everything after it (its
outputs get new paths). Found when an interrupted run recomputed ingest, rebalance and featurize.
"""

import inspect
import typing

import pytest
from kfp.dsl import Metrics
from kfp.dsl.types.type_annotations import OutputAnnotation

from pipelines.training import STEPS

CACHED = [step for step in STEPS if step.name not in ("evaluate", "deploy")]  # never cached
# The steps that report Metrics: the reading tasks only return a list of names.
REPORTING = [step for step in CACHED if not step.name.endswith("-reading")]


def _metrics_outputs(func) -> list[str]:
    """Names of the ``Output[Metrics]`` parameters (``Annotated[Metrics, OutputAnnotation]``)."""
    return [
        name
        for name, parameter in inspect.signature(func).parameters.items()
        if typing.get_origin(parameter.annotation) is typing.Annotated
        and typing.get_args(parameter.annotation)[:2] == (Metrics, OutputAnnotation)
    ]


@pytest.mark.parametrize("step", REPORTING, ids=lambda step: step.name)
def test_metrics_outputs_are_written_to_their_files(step):
    source = inspect.getsource(step.python_func)
    outputs = _metrics_outputs(step.python_func)
    assert outputs, step.name  # each of these steps reports Metrics
    for name in outputs:
        assert f"files.write_json({name}.path, {name}.metadata)" in source, (step.name, name)
