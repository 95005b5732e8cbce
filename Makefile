# Household sounds on Kubeflow. `make help` lists the targets.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
RUN    ?= runs/demo
DEMO_DATA ?= data/demo
# Offline copies of the pretrained weights, used when the official URLs cannot be reached: the
# team's ../shared/models/<backbone>/ folders where they exist (this machine, CI).
WEIGHTS_FROM ?= $(foreach dir,$(wildcard ../shared/models/*/),--from $(dir))

.DEFAULT_GOAL := help
.PHONY: help install weights serving-tf lock demo demo-data test test-faults test-fast lint compile benchmarks image image-push image-gpu image-smoke image-demo pin-images kind-up kind-run kind-serve kind-down clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# Every downloaded file is checked against the sha256 in the lock files (--require-hashes).
# --no-build-isolation: the two locked sdists (google-apitools, kfp-server-api) build with the
# hash-checked setuptools/wheel of requirements-build.lock, not with unchecked copies fetched
# into an isolated build env. The project itself (-e .) is a local tree, which pip cannot hash:
# it is the one install outside hash mode, and --no-deps keeps it from fetching anything.
$(BIN)/household-sounds: pyproject.toml requirements-build.lock requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-build.lock
	$(BIN)/pip install --quiet --require-hashes --no-deps --no-build-isolation -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(BIN)/household-sounds weights serving-tf ## Create .venv/, install the hashed lock files (runtime + dev tools), provision the weights and the serving TensorFlow
	@$(BIN)/python -c "import tensorflow, tensorflow_transform, apache_beam, kfp; print('installed: tf', tensorflow.__version__, '| tft', tensorflow_transform.__version__, '| beam', apache_beam.__version__, '| kfp', kfp.__version__)"

weights: $(BIN)/household-sounds ## Fill the pretrained-weights cache (official URLs, else WEIGHTS_FROM folders), sha256-checked
	$(BIN)/household-sounds weights $(WEIGHTS_FROM) >/dev/null

# deploy's infra validation loads every export with the serving image's TensorFlow: a venv of
# its own in the cache, from requirements-serving-tf.lock (hash-checked), once per lock.
serving-tf: $(BIN)/household-sounds ## Provision the serving image's TensorFlow for deploy's infra validation
	$(BIN)/python -m components.deploy.serving_tf >/dev/null

lock: ## Re-resolve pyproject.toml into the hashed requirements*.lock files (needs network)
	bash scripts/lock.sh

demo: install ## Generate the demo dataset and run the whole pipeline locally into runs/demo/
	$(BIN)/household-sounds demo --data-root $(DEMO_DATA) --output $(RUN)

test: install ## The full test suite (what CI runs)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-faults: install ## Fault suite (fuzzing, hostile files, kill -9, load) and its reliability table
	$(BIN)/python benchmarks/reliability.py

test-fast: install ## Unit tests only
	$(BIN)/python -m pytest -q tests/unit

PY_DIRS := cli components demo_data pipelines serving tests benchmarks scripts
lint: install ## ruff check and format check, yamllint, hadolint, shellcheck (CI runs it first)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/yamllint --strict -c k8s/.yamllint.yaml k8s serving/kustomization.yaml
	$(BIN)/hadolint --failure-threshold info docker/*Dockerfile*
	for script in scripts/*.sh; do bash -n $$script || exit 1; done
	$(BIN)/shellcheck -x --severity=style scripts/*.sh

compile: install ## Compile the pipeline to build/pipeline.yaml
	$(BIN)/household-sounds compile --output build/pipeline.yaml

benchmarks: install ## Run every benchmark script (prints measured tables)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean: ## Remove runs/, build/ and caches (keeps .venv/)
	rm -rf runs build .pytest_cache

# ---- image and kind (scripts/ hold the logic; see docs/cluster.md) ------------------------
image: ## Build the project image (components.IMAGE) with docker, or podman without a Docker engine
	bash scripts/image-build.sh

image-push: ## Push the built image to REGISTRY (make image-push REGISTRY=europe-docker.pkg.dev/PROJECT/ml) and print the --image to use
	bash scripts/image-push.sh

image-gpu: ## The GPU variant of the image (CUDA TensorFlow of the lock's version), tagged <tag>-gpu
	TENSORFLOW=gpu bash scripts/image-build.sh

image-smoke: ## Podman+runc smoke build of the image and a CLI run inside it (root; minutes; not in `make test`)
	bash scripts/image-smoke.sh

image-demo: install ## The demo with every task in the (smoke-built) image via podman, compared with a subprocess run (root; docs/containers.md)
	bash scripts/image-demo.sh

# Stdlib only, no venv needed. `python3 scripts/pin_base_images.py --check` (no registry) exits 1
# while a base has no digest: a release CI gate.
pin-images: ## Pin the Dockerfile's base images by digest (buildx/skopeo/crane + a registry; CI: scripts/pin_base_images.py --check)
	python3 scripts/pin_base_images.py

kind-up: ## kind cluster + Kubeflow Pipelines standalone + the project image loaded into it
	bash scripts/kind-up.sh

kind-run: install ## Submit the demo pipeline to the kind cluster's Kubeflow Pipelines
	bash scripts/kind-run.sh

kind-serve: ## Serve the newest model with TF Serving on the kind cluster (localhost:8500/8501)
	bash scripts/kind-serve.sh

kind-down: ## Delete the kind cluster (keeps build/kind-store)
	bash scripts/kind-down.sh
