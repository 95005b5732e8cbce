"""DEVELOPMENT SERVER: a stand-in for TF Serving's ``PredictionService`` over exported models.

The TF Serving binary is not installable on development machines without Docker, so this package
serves the exported SavedModels over the real wire protocol (the official
``tensorflow-serving-api`` stubs) on 127.0.0.1, letting clients, the CLI, tests and benchmarks
run unchanged against it. It is not a production server: it serves the highest integer version
of every model under ``<model_base>/<model_name>/``, or, when the model base has a rollout
config (``models.config``), the versions and labels the config names, re-reading it as TF
Serving re-reads ``--model_config_file`` (``config_follower.py``); like TF Serving it replays a
version's warmup requests before serving it; it has no batching and no monitoring. It can speak
TLS (mTLS too) and require a bearer token (``security.py``). It implements ``Predict`` and
``GetModelMetadata`` for a version number, a version label or the highest loaded version
(``Classify``, ``Regress`` and ``MultiInference`` answer ``UNIMPLEMENTED``). Beyond TF Serving,
``GetModelMetadata`` also answers the metadata field ``model_card``: the version's
``assets.extra/model_card.json`` (``components/model_card.py``) as a packed
``google.protobuf.StringValue``; TF Serving rejects that field with ``INVALID_ARGUMENT`` (it
serves ``signature_def`` only and never reads ``assets.extra/`` beyond the warmup file), so
there the card is read from the model base (``serving/describe.py``). It rejects requests as TF
Serving does: an unknown model or version is ``NOT_FOUND``, an unknown label
``INVALID_ARGUMENT``; a missing or unexpected input, a wrong dtype or shape, or an
``InvalidArgumentError`` raised by the model is ``INVALID_ARGUMENT`` with the message; and it
keeps serving afterwards. ``repository.py`` loads the models and holds those request semantics,
``grpc_api.py`` answers gRPC, ``rest.py`` adds the REST API over the same repository and
``launcher.py`` starts both (``household-sounds serve-dev``). It enforces TF Serving's limits
(``serving/limits.py``): ``MAX_MESSAGE_BYTES`` per message, gRPC and REST alike, and at most
``MAX_BATCH_SIZE`` inputs per request, refused with TF Serving's batching message. This module
holds what both APIs share and imports nothing.
"""

BANNER = "DEVELOPMENT SERVER (a stand-in for TF Serving, not for production)"
