#!/usr/bin/env bash
# Prints the project image reference, components.IMAGE = IMAGE_NAME:__version__, read from
# components/__init__.py as text (importing the package would load TensorFlow).
set -euo pipefail
cd "$(dirname "$0")/.."
name=$(sed -n 's/^IMAGE_NAME = "\(.*\)"$/\1/p' components/__init__.py)
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' components/__init__.py)
[[ -n $name && -n $version ]] || { echo "image-tag: IMAGE_NAME/__version__ not found" >&2; exit 1; }
echo "$name:$version"
