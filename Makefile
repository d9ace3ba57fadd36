# mlworkbench: `make demo` and `make test` do all the set-up (virtualenv, install, services).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AIRFLOW_VENV ?= .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_SPEC ?= apache-airflow==3.3.2
MODEL ?= models:/movielens-recommender@champion
PYTEST_ARGS ?=

export OPENBLAS_NUM_THREADS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install init_local demo test system-deps services-deps lint benchmarks clean airflow

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-22s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements-test.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Error: mlworkbench needs Python >= 3.11; set PYTHON=python3.11 (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-test.lock
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test and spark extras

# Airflow 3 lives in a venv of its own (its pins would clash with the project's); the DAGs in
# deploy/airflow/dags run their tasks in .venv through @task.external_python.
$(AIRFLOW_STAMP):
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet '$(AIRFLOW_SPEC)'
	@touch $(AIRFLOW_STAMP)

airflow: $(AIRFLOW_STAMP)  ## Apache Airflow 3 in .venv-airflow, for deploy/airflow/dags and its test

init_local: install  ## seed 001's name for `install`

demo: install  ## train ALS on MovieLens, register it, list models, recommend for a known and an unknown user
	$(BIN)/mlwb train recommender
	$(BIN)/mlwb models list
	$(BIN)/mlwb recommend --model $(MODEL) --user 42 --user 99999 --k 10


services-deps:  ## system packages the integration tests need (PostgreSQL server binaries, Chromium)
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh

# `make test` prepares side by side what does not share a lock: the two virtualenvs (pip) beside the
# system packages (apt, one script after the other). Then the container tests' images build in the
# background (tests/fixtures/images.sh, its log in $(IMAGES_LOG)) while pytest runs the other tests;
# the container tests run last and wait for that build, finding its images in the engine's cache.
# With PYTEST_ARGS (a part of the suite) nothing builds ahead: the fixture builds what it needs.
IMAGES_LOG ?= $(VENV)/images-build.log

test:  ## the whole suite, integration and container tests included
	@$(MAKE) --no-print-directory -j3 --output-sync=target install airflow system-deps
	@images=; $(if $(strip $(PYTEST_ARGS)),,bash tests/fixtures/images.sh >$(IMAGES_LOG) 2>&1 & images=$$!;) \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ -n "$$images" ] && ! wait $$images; then echo "the image build failed: see $(IMAGES_LOG)"; fi; \
	exit $$status

system-deps: services-deps  ## services-deps, then docker-deps (apt takes one at a time)
	@$(MAKE) --no-print-directory docker-deps

lint: install  ## ruff over src, tests and benchmarks
	$(BIN)/python -m pip install --quiet 'ruff>=0.6'
	$(BIN)/ruff check src tests benchmarks

benchmarks: install  ## print the benchmark tables (raw output under benchmarks/results/)
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/stack.py
	$(BIN)/python benchmarks/serving.py

# --- the recommendation service -----------------------------------------------------------
API ?= http://127.0.0.1:5001
JSON := $(BIN)/python -m json.tool --no-ensure-ascii

.PHONY: serve_model test_api

test_api:  ## send a few real requests to a running service ($(API)) and print the answers
	curl -sf $(API)/model | $(JSON)
	curl -sf "$(API)/users/42/recommendations?k=3" | $(JSON)
	curl -sf -X POST $(API)/recommendations -H 'Content-Type: application/json' \
		-d '{"users": [42, 99999], "k": 3}' | $(JSON)
	curl -sf -X POST $(API)/recommendations -H 'Content-Type: application/json' \
		-d '{"items": [260, 1196, 1210], "k": 3}' | $(JSON)
	curl -sf "$(API)/items/260/similar?k=3" | $(JSON)
	curl -s -X POST $(API)/recommendations -H 'Content-Type: application/json' \
		-d '{"users": [42], "k": 0}' | $(JSON)

clean:  ## remove the virtualenv and the default workspace
	rm -rf $(VENV) .mlwb

# --- seed 001's flow: the local stack (default) or the same stack in containers -------------
# RUNTIME=local (default): processes under supervisord (`mlwb up`), no Docker needed.
# RUNTIME=docker: the same targets drive deploy/compose.yaml; build the two images first.
#   make build_base_container build_model_container
#   make start_mlflow_services train_model list_models RUNTIME=docker
#   make serve_model test_api RUNTIME=docker MODEL=models:/movielens-recommender@champion
#   make stop_mlflow_services RUNTIME=docker
RUNTIME ?= local
ifeq ($(filter $(RUNTIME),local docker),)
$(error RUNTIME must be local or docker, not '$(RUNTIME)')
endif
BASE_IMAGE ?= mlworkbench-base:latest
MODEL_IMAGE ?= mlworkbench-model:latest
BALANCER_IMAGE ?= mlworkbench-nginx:latest
COMPOSE := docker compose -f deploy/compose.yaml
INFRA := postgres s3 mlflow simulator fill jobs monitoring evidently scheduler

.PHONY: docker-deps base-images build_base_container build_model_container build_balancer_container \
	start_mlflow_services stop_mlflow_services train_model list_models compose_up compose_down \
	docker-compose lock

docker-deps:  ## a Docker engine and compose v2 (installs Debian's docker.io, starts dockerd if none runs)
	@bash scripts/ensure-docker.sh

base-images: docker-deps  ## pull the Dockerfiles' base images, or make them from Debian packages without a registry
	@bash scripts/bootstrap-images.sh

build_base_container: base-images  ## docker: OS packages and the locked dependencies (the slow layer)
	docker build -f deploy/Dockerfile.base -t $(BASE_IMAGE) .

build_model_container:  ## docker: the project on top of the base image
	docker build -f deploy/Dockerfile.model --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(MODEL_IMAGE) .

build_balancer_container: base-images  ## docker: nginx for the `replicas` profile
	docker build -t $(BALANCER_IMAGE) deploy/nginx

ifeq ($(RUNTIME),docker)
start_mlflow_services: docker-deps  ## PostgreSQL, S3, MLflow server, simulator and the loop's services (RUNTIME=docker: containers)
	$(COMPOSE) up -d --wait $(INFRA)

stop_mlflow_services:  ## stop every service, keep the data
	$(COMPOSE) --profile replicas --profile classifier down

train_model:  ## one training run with the defaults
	$(COMPOSE) run --rm cli mlwb train recommender

list_models:  ## the registry: versions, aliases, run ids, key metric, source
	$(COMPOSE) run --rm cli mlwb models list

serve_model:  ## serve MODEL (any MLflow reference or path) on :5001 (MLWB_SERVE_PORT)
	MODEL='$(MODEL)' $(COMPOSE) up -d --wait api
else
start_mlflow_services: install services-deps
	$(BIN)/mlwb up

stop_mlflow_services: install
	$(BIN)/mlwb down

train_model: install
	$(BIN)/mlwb train recommender

list_models: install
	$(BIN)/mlwb models list

serve_model: install
	$(BIN)/mlwb serve $(MODEL)
endif

compose_up: docker-deps  ## docker: the stack's services as containers (build the images first)
	$(COMPOSE) up -d --wait $(INFRA)

compose_down:  ## docker: stop the containers, keep the volumes
	$(COMPOSE) --profile replicas --profile classifier down

docker-compose: docker-deps  ## seed 003: build what is missing, start the whole stack, train if no champion, serve
	bash scripts/launch-stack.sh

# --- locked dependencies: exact versions with hashes (uv), for the images and `make install` ---
LOCK_PLATFORM := --python-version 3.11 --python-platform x86_64-manylinux_2_28

lock: install  ## regenerate requirements.lock (images) and requirements-test.lock (+ test, spark extras)
	$(BIN)/python -m pip install --quiet 'uv>=0.5,<1'
	$(BIN)/uv pip compile --quiet --native-tls --generate-hashes $(LOCK_PLATFORM) \
		--no-header --output-file requirements.lock pyproject.toml
	$(BIN)/uv pip compile --quiet --native-tls --generate-hashes $(LOCK_PLATFORM) \
		--no-header --extra test --extra spark --constraint requirements.lock --output-file requirements-test.lock pyproject.toml
