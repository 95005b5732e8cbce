"""A task says what it is: one marker line at its start, and the same label on its outputs.

A KFP task is named after its component (``train``, ``train-2``, ``baselines``), which does not
say which loop item it runs. Each step's KFP wrapper therefore calls ``announce`` first, with a
label such as ``train cnn_log_mel (seed)``: the line ``household-sounds task: <label>`` opens the
task's log (a pod's log on a cluster; locally, ``pipelines.task_stream`` reads it to name the
task's console line and log file), and the label is recorded in its output artifacts' metadata
under ``task``, so a task served from the cache, which prints nothing, is still named by what
it produced. Imports neither KFP nor TensorFlow.
"""

from typing import Any

MARK = "household-sounds task: "
METADATA_KEY = "task"


def announce(label: str, *outputs: Any) -> None:
    """Prints the task's marker line and records ``label`` in each output's ``metadata``."""
    print(f"{MARK}{label}", flush=True)
    for output in outputs:
        output.metadata[METADATA_KEY] = label
