"""The Kubeflow pipeline definition and its runners: compile, local run, submit (CLI: ``cli/``)."""
