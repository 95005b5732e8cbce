"""Reading a compiled pipeline's IR (the YAML Kubeflow runs): its tasks, wherever they sit."""


def all_tasks(spec: dict) -> dict[str, dict]:
    """Every task of every DAG (root, loops, conditions), by task name."""
    dags = [spec["root"]["dag"]] + [
        component["dag"] for component in spec["components"].values() if "dag" in component
    ]
    return {name: task for dag in dags for name, task in dag["tasks"].items()}
