"""Serving: the Python client for TF Serving (gRPC and REST) and a development stand-in server.

TF Serving itself runs from ``docker/serving.Dockerfile`` and ``k8s/`` with the configs in this
folder; the model it serves is exported by ``components/deploy``.
"""
