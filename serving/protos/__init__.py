"""TF Serving's request/response messages for the light client, generated without TensorFlow.

``scripts/gen_protos.py`` writes these ``.proto`` files from the descriptors of the official
``tensorflow-serving-api``/``tensorflow`` modules (same field numbers and types, so the same bytes
on the wire; ``tests/serving/test_light_client.py`` checks it in both directions) under the proto
package ``household_sounds.tensorflow[.serving]``, and compiles them with grpcio-tools. Do not
edit: rerun the script.
"""
