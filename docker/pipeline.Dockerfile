# The one project image: every pipeline component runs in it, with nothing installed at run time.
# Build: `make image` (tag = components.IMAGE, i.e. the package version).
#
# Base images: exact versions (PYTHON_BASE below, used by every stage, and Beam's SDK image of
# BEAM_VERSION), pinned by digest with `make pin-images` (scripts/pin_base_images.py: it resolves
# each tag in the registry with docker buildx, skopeo or crane and rewrites it here as
# name:tag@sha256:<digest>; rerun it after changing a tag or BEAM_VERSION, since the digest wins
# over the tag beside it). They are NOT pinned in this repository: no registry is reachable where
# it is developed, and no digest is made up. `python scripts/pin_base_images.py --check` fails
# while a base has no digest (a release CI gate).
ARG PYTHON_BASE=python:3.11.14-slim-bookworm

# The same image is the Beam SDK container of a remote runner (Dataflow's --sdk_container_image,
# a Flink/Spark Docker environment; components/featurize/remote.py sets both): Beam's harness
# launcher (/opt/apache/beam/boot) comes from the official SDK image of the Beam version in
# requirements.lock (a test keeps the two equal), copied as Beam documents for custom containers.
ARG BEAM_VERSION=2.77.0
# The image the launcher is copied from. Only scripts/image-smoke.sh overrides it, where Docker
# Hub cannot be reached, with a stand-in whose boot refuses to start a worker; the final image
# records it (label org.household-sounds.beam-sdk-image) and scripts/image-push.sh refuses to
# push an image whose harness is not this default, so a smoke build never ships.
ARG BEAM_SDK_IMAGE=apache/beam_python3.11_sdk:${BEAM_VERSION}

# ---- beam_sdk: only the SDK harness launcher is taken from it -----------------------------------
FROM ${BEAM_SDK_IMAGE} AS beam_sdk

# ---- serving_tf: the TensorFlow of the serving image, for deploy's infra validation ----------
# components/deploy/serving_tf.py installs requirements-serving-tf.lock (hash-checked) into
# /opt/serving-tf; it needs only the standard library and pip, so this stage copies just that
# module and its constants and stays cached until the lock or they change.
FROM ${PYTHON_BASE} AS serving_tf
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements-build.lock requirements-serving-tf.lock ./
COPY components/__init__.py components/
COPY components/artifacts/__init__.py components/artifacts/serving_stack.py components/artifacts/
COPY components/deploy/__init__.py components/deploy/serving_tf.py components/deploy/
RUN python -m venv /opt/installer \
 && /opt/installer/bin/pip install --require-hashes --no-deps -r requirements-build.lock \
 && HOUSEHOLD_SOUNDS_SERVING_TF=/opt/serving-tf \
    /opt/installer/bin/python -m components.deploy.serving_tf requirements-serving-tf.lock

# ---- builder: a venv with the locked dependencies and the project, no compilers needed ------
FROM ${PYTHON_BASE} AS builder

# Optional package mirror (a corporate proxy, or the offline smoke build's local wheel index).
# Build args of this stage never reach the final image.
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# The same hash-checked installer as `make install` (requirements-build.lock).
COPY requirements-build.lock ./
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements-build.lock

# Dependencies first: this layer is reused until requirements.lock changes. Only the runtime
# lock: test, lint, notebook and cluster tools live in requirements-dev.lock, never in the image.
# Every file is checked against the lock's sha256; --no-build-isolation builds the two locked
# sdists with the hash-checked setuptools above (see the Makefile's install recipe).
# TENSORFLOW=gpu (`make image-gpu`) swaps tensorflow-cpu for the CUDA build of the same version
# and its pinned, hashed NVIDIA libraries (requirements-gpu.lock; docker/gpu_lock.py): the GPU
# nodes then need only the NVIDIA driver.
ARG TENSORFLOW=cpu
COPY requirements.lock requirements-gpu.lock docker/gpu_lock.py ./
RUN case "$TENSORFLOW" in cpu) ;; \
      gpu) python gpu_lock.py requirements.lock requirements-gpu.lock ;; \
      *) echo "TENSORFLOW must be cpu or gpu, not $TENSORFLOW" >&2; exit 1 ;; esac \
 && /opt/venv/bin/pip install --require-hashes --no-deps --no-build-isolation -r requirements.lock

COPY pyproject.toml README.md ./
COPY cli ./cli
COPY components ./components
COPY demo_data ./demo_data
COPY pipelines ./pipelines
COPY serving ./serving
# --no-deps: the lock above is the complete, tested set (see docs/dependencies.md). The project
# is a local tree, which pip cannot hash: the one install outside --require-hashes.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
 && /opt/venv/bin/python -c "import cli.main, components, demo_data.scenarios as s, serving; s.load()"

# The pretrained weights, never in the repository or the wheel: build/image-weights is the host's
# weights cache as scripts/stage-weights.sh staged it (possibly empty); `household-sounds weights`
# checks every file there against its pinned sha256 and downloads what is missing from the
# official URLs (so an offline build needs a filled host cache: `make install`).
COPY build/image-weights /opt/household-sounds/weights
RUN HOUSEHOLD_SOUNDS_WEIGHTS=/opt/household-sounds/weights /opt/venv/bin/household-sounds weights >/dev/null

# ---- final: the runtime base plus the venv ------------------------------------------------------
FROM ${PYTHON_BASE}

# The source commit, recorded in every deployed version's model card (components/model_card.py).
ARG GIT_COMMIT=unknown
ARG BEAM_SDK_IMAGE
LABEL org.opencontainers.image.title="household-sounds" \
      org.opencontainers.image.description="Household sound classification pipeline components" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.household-sounds.beam-sdk-image="${BEAM_SDK_IMAGE}"

# A fixed numeric uid so Kubernetes `runAsNonRoot` can verify it without /etc/passwd lookups.
# The KFP v2 launcher stages artifacts under /gcs, /minio and /s3 (a fixed contract of the
# v2 Python executor); as a non-root user it cannot create them at the root, so they exist
# here, owned by that user (kubeflow/pipelines#5673).
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
 && mkdir -p /gcs /minio /s3 \
 && chown app:app /gcs /minio /s3

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/household-sounds/weights /opt/household-sounds/weights
COPY --from=serving_tf /opt/serving-tf /opt/serving-tf
COPY --from=beam_sdk /opt/apache/beam /opt/apache/beam
COPY docker/entrypoint.sh /usr/local/bin/household-sounds-entrypoint

# KFP's lightweight-component command calls `python3`; the venv comes first on PATH, so it is
# the project's interpreter and `household-sounds` is on PATH. matplotlib and Keras write caches
# on import: point them at /tmp, the one place that stays writable under a read-only root.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HOME=/home/app \
    MPLCONFIGDIR=/tmp/matplotlib \
    KERAS_HOME=/tmp/keras \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TF_CPP_MIN_LOG_LEVEL=1 \
    RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT=1 \
    HOUSEHOLD_SOUNDS_GIT_COMMIT=${GIT_COMMIT} \
    HOUSEHOLD_SOUNDS_WEIGHTS=/opt/household-sounds/weights \
    HOUSEHOLD_SOUNDS_SERVING_TF=/opt/serving-tf

USER 10001:10001
WORKDIR /home/app

# A Beam runner starts the container with flags only (--id=... --provision_endpoint=..., or
# --worker_pool): the entrypoint hands those to Beam's boot, which runs the SDK harness with the
# venv's python (RUN_PYTHON_SDK_IN_DEFAULT_ENVIRONMENT: no per-worker venv, the image's packages
# as they are). Any other arguments run as a command. KFP sets the command of every task, which
# replaces the entrypoint; the CMD only makes `docker run IMAGE` self-describing.
ENTRYPOINT ["/usr/local/bin/household-sounds-entrypoint"]
CMD ["household-sounds", "--help"]
