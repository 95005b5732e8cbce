"""The Kubeflow pipeline definition and its entry points (compile, local run, submit, CLI)."""
