#!/usr/bin/env bash
# The whole stack in containers, in one command (`make docker-compose` runs it):
#   1. a Docker engine and compose v2 (scripts/ensure-docker.sh)
#   2. the images, built when missing (base images from Debian packages without a registry)
#   3. postgres, s3, mlflow, simulator, each healthy before the next
#   4. a first training run when the recommender has no champion yet
#   5. the recommender API, healthy, on 127.0.0.1:$MLWB_SERVE_PORT
#   6. the classifier API on 127.0.0.1:$MLWB_CLASSIFIER_PORT, when the classifier has a champion
# Settings as for compose (MLWB_*_PORT, MLWB_*_IMAGE, COMPOSE_PROJECT_NAME). Stop it with
# `make stop_mlflow_services RUNTIME=docker` (data kept) or `docker compose -f deploy/compose.yaml down -v`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-docker.sh
compose=(docker compose -f deploy/compose.yaml)
base=${MLWB_BASE_IMAGE:-mlworkbench-base:latest}
model=${MLWB_IMAGE:-mlworkbench-model:latest}

docker image inspect "$base" >/dev/null 2>&1 || make --no-print-directory build_base_container BASE_IMAGE="$base"
docker image inspect "$model" >/dev/null 2>&1 \
    || make --no-print-directory build_model_container BASE_IMAGE="$base" MODEL_IMAGE="$model"

"${compose[@]}" up -d --wait postgres s3 mlflow simulator

mlflow="http://127.0.0.1:${MLWB_MLFLOW_PORT:-5000}"
champion="$mlflow/api/2.0/mlflow/registered-models/alias?name=movielens-recommender&alias=champion"
if ! curl -fsS -o /dev/null "$champion" 2>/dev/null; then
    echo "no champion yet: training the recommender in a container ..."
    "${compose[@]}" run --rm cli mlwb train recommender
fi
"${compose[@]}" up -d --wait api
classifier="$mlflow/api/2.0/mlflow/registered-models/alias?name=titanic-classifier&alias=champion"
if curl -fsS -o /dev/null "$classifier" 2>/dev/null; then
    "${compose[@]}" --profile classifier up -d --wait classifier
    echo "classifier API http://127.0.0.1:${MLWB_CLASSIFIER_PORT:-1234}"
else
    echo "no classifier champion yet: train one, then run this again:" \
         "docker compose -f deploy/compose.yaml run --rm cli mlwb train classifier"
fi

echo "stack up: MLflow $mlflow, recommender API http://127.0.0.1:${MLWB_SERVE_PORT:-5001}," \
     "simulator http://127.0.0.1:${MLWB_SIMULATOR_PORT:-5004}"
