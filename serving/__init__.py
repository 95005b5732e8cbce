"""Serving: the Python client for TF Serving (gRPC and REST), the apps on it, a development server.

The client and what is built on it (``client``, ``describe``, ``listen``, ``alerts``, ``app/``)
import no TensorFlow; the development stand-in for TF Serving (``dev_server/``) does. TF Serving
itself runs from ``docker/serving.Dockerfile`` and ``k8s/`` with the configs in this folder; the
model it serves is exported by ``components/deploy``.
"""
