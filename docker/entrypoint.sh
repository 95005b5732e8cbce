#!/bin/sh
# Entrypoint of the project image: Beam SDK harness for runner flags, else the given command.
# Dataflow and Flink/Spark Docker environments start the SDK container with flags only
# (--id=1 --provision_endpoint=... or --worker_pool); Beam's boot must then be the last step.
set -eu
case "${1:-}" in
  --*) exec /opt/apache/beam/boot "$@" ;;
  *) exec "$@" ;;
esac
