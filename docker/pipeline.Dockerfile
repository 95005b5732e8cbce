# The one project image: every pipeline component runs in it, with nothing installed at run time.
# Build: `make image` (tag = components.IMAGE, i.e. the package version).
#
# Base pinned by exact version. Add the digest (`docker buildx imagetools inspect
# python:3.11.14-slim-bookworm`) when you publish from CI; it cannot be resolved offline.

# ---- builder: a venv with the locked dependencies and the project, no compilers needed ------
FROM python:3.11.14-slim-bookworm AS builder

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
# The same installer versions as `make install`, so both resolve the lock identically.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install "pip==26.3" "setuptools==80.9.0" "wheel==0.45.1"

# Dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock docker/image_requirements.py ./
RUN python image_requirements.py requirements.lock > image.lock \
 && /opt/venv/bin/pip install --no-deps -r image.lock

COPY pyproject.toml README.md ./
COPY components ./components
COPY demo_data ./demo_data
COPY pipelines ./pipelines
COPY serving ./serving
# --no-deps: the lock above is the complete, tested set (see README "Dependencies").
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation . \
 && /opt/venv/bin/python -c "import components, demo_data.scenarios as s, pipelines.cli, serving; s.load()"

# ---- final: the runtime base plus the venv ------------------------------------------------------
FROM python:3.11.14-slim-bookworm

# The source commit, recorded in every deployed version's model card (components/model_card.py).
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="household-sounds" \
      org.opencontainers.image.description="Household sound classification pipeline components" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.revision="${GIT_COMMIT}"

# A fixed numeric uid so Kubernetes `runAsNonRoot` can verify it without /etc/passwd lookups.
# The KFP v2 launcher stages artifacts under /gcs, /minio and /s3 (a fixed contract of the
# v2 Python executor); as a non-root user it cannot create them at the root, so they exist
# here, owned by that user (kubeflow/pipelines#5673).
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
 && mkdir -p /gcs /minio /s3 \
 && chown app:app /gcs /minio /s3

COPY --from=builder /opt/venv /opt/venv

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
    HOUSEHOLD_SOUNDS_GIT_COMMIT=${GIT_COMMIT}

USER 10001:10001
WORKDIR /home/app

# KFP sets the command of every task; this default only makes `docker run IMAGE` self-describing.
CMD ["household-sounds", "--help"]
