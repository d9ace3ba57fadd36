"""Seed 001's container flow, command for command, on the real engine (README, Docker section).

One compose project for the module, in order: start the services, train in a container against
PostgreSQL + S3, list the models, serve the champion, send test_api's requests, kill the API's
process and watch its restart policy bring it back, serve N replicas behind nginx and kill one
under load, run `make docker-compose` on the running stack, then `down -v` and find nothing left.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import boto3
import httpx
import psycopg2
import pytest

from fixtures.compose import ALL_PROFILES, Stack, make, wait_for

pytestmark = [pytest.mark.containers, pytest.mark.integration]

INFRA = ("postgres", "s3", "mlflow", "simulator")
CHAMPION = "models:/movielens-recommender@champion"


def _health(stack: Stack) -> dict[str, str]:
    lines = stack.compose("ps", "--format", "json").splitlines()
    rows = [json.loads(line) for line in lines if line]
    return {row["Service"]: row.get("Health") or row["State"] for row in rows}


def test_start_mlflow_services_runs_every_service_healthy_on_loopback(stack: Stack) -> None:
    make("start_mlflow_services", env=stack.env)

    health = _health(stack)
    assert {service: health.get(service) for service in INFRA} == dict.fromkeys(INFRA, "healthy")
    for service in INFRA:
        [container] = stack.containers(service)
        bindings = json.loads(stack.inspect(container, "{{json .NetworkSettings.Ports}}"))
        hosts = {b["HostIp"] for published in bindings.values() if published for b in published}
        assert hosts == {"127.0.0.1"}, f"{service} publishes on {hosts}"
        policy = stack.inspect(container, "{{.HostConfig.RestartPolicy.Name}}")
        assert policy == "unless-stopped", service
    assert wait_for(stack.url("MLWB_MLFLOW_PORT") + "/health").text.strip() == "OK"
    assert wait_for(stack.url("MLWB_SIMULATOR_PORT") + "/health").status_code == 200


def test_train_model_in_a_container_logs_to_postgres_and_s3(stack: Stack) -> None:
    make("train_model", env=stack.env)
    listing = make("list_models", env=stack.env)
    assert "movielens-recommender" in listing and "champion" in listing

    alias = httpx.get(stack.url("MLWB_MLFLOW_PORT")
                      + "/api/2.0/mlflow/registered-models/alias",
                      params={"name": "movielens-recommender", "alias": "champion"}, timeout=10)
    assert alias.status_code == 200, alias.text
    assert alias.json()["model_version"]["version"] == "1"

    # the registry lives in the compose PostgreSQL, reached through its published port
    with psycopg2.connect(host="127.0.0.1", port=stack.ports["MLWB_POSTGRES_PORT"],
                          user="postgres", dbname="mlflow") as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM registered_models")
        assert cur.fetchall() == [("movielens-recommender",)]
    # and the model's files in the compose S3 bucket
    s3 = boto3.client("s3", endpoint_url=stack.url("MLWB_S3_PORT"), region_name="us-east-1",
                      aws_access_key_id="mlwb", aws_secret_access_key="mlwb-secret")
    keys = [obj["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="mlflow")
            for obj in page.get("Contents", [])]
    assert any(key.endswith("MLmodel") for key in keys), keys[:20]


def test_serve_model_serves_the_champion_on_its_published_port(stack: Stack) -> None:
    make("serve_model", f"MODEL={CHAMPION}", env=stack.env)
    api = stack.url("MLWB_SERVE_PORT")

    model = wait_for(api + "/model").json()
    assert (model["name"], str(model["version"])) == ("movielens-recommender", "1")
    out = make("test_api", f"API={api}", env=stack.env)
    assert '"title"' in out  # user 42's, the visitor's and item 260's answers
    assert '"fallback": "popular"' in out  # user 99999
    assert '"field": "k"' in out  # the bad request's 422


def test_a_killed_api_container_is_restarted_by_its_policy(stack: Stack) -> None:
    [container] = stack.containers("api")
    before = int(stack.inspect(container, "{{.RestartCount}}"))
    os.kill(int(stack.inspect(container, "{{.State.Pid}}")), signal.SIGKILL)  # a crash, not a stop

    deadline = time.monotonic() + 60
    while int(stack.inspect(container, "{{.RestartCount}}")) == before:
        assert time.monotonic() < deadline, "the killed API was not restarted within 60 s"
        time.sleep(0.5)
    assert wait_for(stack.url("MLWB_SERVE_PORT") + "/ready").json()


def test_a_killed_replica_behind_nginx_costs_no_request(stack: Stack) -> None:
    stack.env["MLWB_API_REPLICAS"] = "2"
    stack.compose("--profile", "replicas", "up", "-d", "--wait", "api-replica", "nginx")
    replicas = stack.containers("api-replica")
    assert len(replicas) == 2
    url = stack.url("MLWB_BALANCER_PORT") + "/recommendations"
    body = {"users": [42, 7], "k": 5}

    failures: list[str] = []
    upstreams: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post(url, json=body)
                    # nginx lists every replica it tried; the last one answered
                    upstreams.append(response.headers.get("x-upstream", "").split(",")[-1].strip())
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as error:
                    failures.append(repr(error))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(3)
    served_before = len(upstreams)
    os.kill(int(stack.inspect(replicas[0], "{{.State.Pid}}")), signal.SIGKILL)
    time.sleep(6)
    stop.set()
    for worker in workers:
        worker.join()

    assert failures == []
    assert len(set(upstreams[:served_before])) == 2, "nginx did not spread requests over both"
    assert len(upstreams) - served_before > 20, "too few requests after the kill to tell"


def test_make_docker_compose_on_the_running_stack_leaves_it_whole(stack: Stack) -> None:
    out = make("docker-compose", env=stack.env)  # seed 003's one command (scripts/launch-stack.sh)

    assert "stack up:" in out
    assert "no champion yet" not in out  # the champion is kept, not retrained
    assert "no classifier champion yet" in out
    health = _health(stack)
    assert {s: health.get(s) for s in (*INFRA, "api")} == dict.fromkeys((*INFRA, "api"), "healthy")
    assert wait_for(stack.url("MLWB_SERVE_PORT") + "/ready").status_code == 200


def test_down_v_leaves_no_container_network_or_volume(stack: Stack) -> None:
    assert stack.leftovers()["volumes"], "the stack made no volume to remove"
    stack.compose(*ALL_PROFILES, "down", "-v", "--timeout", "5")
    assert stack.leftovers() == {"containers": [], "networks": [], "volumes": []}
