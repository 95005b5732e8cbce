#!/usr/bin/env bash
# Stages this machine's pretrained-weights cache (household-sounds weights) as build/image-weights,
# the folder docker/pipeline.Dockerfile copies into the image before it runs `household-sounds
# weights` there: files already here are sha256-checked and kept, missing ones are downloaded
# from their official URLs during the build. So an offline build works once `make install` has
# filled the cache, and an online one works from an empty cache. Run by image-build.sh and
# image-smoke.sh; it never puts weights in the repository (build/ is git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${HOUSEHOLD_SOUNDS_WEIGHTS:-${XDG_CACHE_HOME:-$HOME/.cache}/household-sounds/weights}
rm -rf build/image-weights
mkdir -p build/image-weights
if [ -d "$cache" ]; then
  cp -R "$cache"/. build/image-weights/
  echo "staged the weights cache $cache for the image"
else
  echo "no weights cache at $cache: the image build will download the weights" >&2
fi
