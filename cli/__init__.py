"""The ``household-sounds`` command line: what a user runs, over the steps, the DAG and serving.

``main`` holds the steps' commands and dispatches (the console script's entry point); the
pipeline's commands for a cluster (``cluster``: compile, submit) and for this machine
(``local``: run, demo) and the serving commands (``serving``) live beside it, their options
generated from the config dataclasses by ``flags``. ``user_config`` reads the settings file and
``image`` picks the image ``compile``/``submit`` compile for. Every command imports the module
that does the work only when it runs, so ``--help`` loads neither KFP nor TensorFlow.
"""
