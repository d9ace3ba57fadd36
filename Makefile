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

.PHONY: help install init_local demo test lint benchmarks clean list_models train_model

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

test: install  ## the whole suite, integration tests included
	$(BIN)/python -m pytest $(PYTEST_ARGS)

benchmarks: install  ## print the benchmark tables
	$(BIN)/python benchmarks/training.py

clean:  ## remove the virtualenv and the default workspace
	rm -rf $(VENV) .mlwb
