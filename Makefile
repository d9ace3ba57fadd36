# mlworkbench: `make demo` and `make test` do all the set-up (virtualenv, install, services).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL ?= models:/movielens-recommender@champion
PYTEST_ARGS ?=

export OPENBLAS_NUM_THREADS := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install init_local demo test services-deps lint benchmarks clean list_models train_model

help:  ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-22s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Error: mlworkbench needs Python >= 3.11; set PYTHON=python3.11 (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the project with its test extras

init_local: install  ## seed 001's name for `install`

demo: install  ## train ALS on MovieLens, register it, list models, recommend for a known and an unknown user
	$(BIN)/mlwb train recommender
	$(BIN)/mlwb models list
	$(BIN)/mlwb recommend --model $(MODEL) --user 42 --user 99999 --k 10

train_model: install  ## one training run with the defaults
	$(BIN)/mlwb train recommender

list_models: install  ## the registry: versions, aliases, run ids, key metric, source
	$(BIN)/mlwb models list

services-deps:  ## system packages the integration tests need (PostgreSQL server binaries, Chromium)
	@bash scripts/ensure-postgres.sh
	@bash scripts/ensure-chromium.sh

test: install services-deps  ## the whole suite, integration tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install  ## ruff over src, tests and benchmarks
	$(BIN)/python -m pip install --quiet 'ruff>=0.6'
	$(BIN)/ruff check src tests benchmarks

benchmarks: install  ## print the benchmark tables
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/serving.py

# --- the recommendation service -----------------------------------------------------------
API ?= http://127.0.0.1:5001
JSON := $(BIN)/python -m json.tool --no-ensure-ascii

.PHONY: serve_model test_api

serve_model: install  ## serve MODEL (any MLflow reference or path) on :5001 (MLWB_SERVE_PORT)
	$(BIN)/mlwb serve $(MODEL)

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

# --- the local stack (seed 001's targets); the *_container ones need Docker ---------------
BASE_IMAGE ?= mlworkbench-base:latest
MODEL_IMAGE ?= mlworkbench-model:latest
COMPOSE := docker compose -f deploy/compose.yaml

.PHONY: build_base_container build_model_container start_mlflow_services stop_mlflow_services \
	compose_up compose_down

build_base_container:  ## docker: OS packages and compiled dependencies (the slow layer)
	docker build -f deploy/Dockerfile.base -t $(BASE_IMAGE) .

build_model_container:  ## docker: the project on top of the base image
	docker build -f deploy/Dockerfile.model --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(MODEL_IMAGE) .

start_mlflow_services: install services-deps  ## local stack: PostgreSQL, S3, MLflow server, simulator (+ API once a champion exists)
	$(BIN)/mlwb up

stop_mlflow_services: install  ## local stack: stop every service, keep the data
	$(BIN)/mlwb down

compose_up:  ## docker: the same stack as containers (build the images first)
	$(COMPOSE) up -d

compose_down:  ## docker: stop the containers, keep the volumes
	$(COMPOSE) down
