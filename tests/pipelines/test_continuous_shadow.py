"""The two-phase loop on the embedded default (SQLite + local artifacts): the gate requires
shadow evidence (``MLWB_GATE_SHADOW_MIN_LISTS``).

A real ``mlwb serve`` process with ``MLWB_SHADOW_SHARE=1`` serves the champion (popularity);
turn 1 retrains (ALS) and ends ``shadowing``; the service shadows the challenger on every
request; users act afterwards (production interaction rows through the store): before they
do, and while too few lists are judged, a turn ends ``waiting`` (recorded with the counts, no
cooldown); once enough users took what the challenger listed, the gate promotes it and the
service serves it. A second challenger whose lists users ignore (they take the champion's)
is refused on its evidence, with the reason, and loses its ``challenger`` alias.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import orjson
import pandas as pd
import pytest

from fixtures.serving import serve_process, served_version, wait_for_version
from fixtures.workspaces import module_workspace
from mlworkbench import families
from mlworkbench.cli.main import run as cli
from mlworkbench.config import Settings, get_settings
from mlworkbench.data import pipeline_state
from mlworkbench.data.ingest import open_store
from mlworkbench.data.shadow_log import shadowed_rows
from mlworkbench.errors import ConfigError
from mlworkbench.pipelines import shadowing
from mlworkbench.pipelines.continuous import run_pipeline
from mlworkbench.pipelines.policy import Policy
from mlworkbench.tracking import client as tracking
from mlworkbench.training.recommender import RECOMMENDER
from mlworkbench.training.train import TrainRequest, train

pytestmark = pytest.mark.integration
NAME = "movielens-recommender"
USERS = list(range(1, 31))  # MovieLens users 1..30, all in the training data
MIN_LISTS = 20


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Champion version 1: popularity, on MovieLens (loaded into the empty store)."""
    with module_workspace(tmp_path_factory, "loop-shadow") as settings:
        assert train(RECOMMENDER, TrainRequest(model="popularity"), settings).version == 1
        yield settings


@pytest.fixture(scope="module")
def service(workspace: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLWB_")}
    env.update(MLWB_HOME=str(workspace.home), MLWB_SHADOW_SHARE="1",
               MLWB_ALIAS_POLL_SECONDS="0.3", MLWB_PREDICTION_LOG_FLUSH_SECONDS="0.1",
               OPENBLAS_NUM_THREADS="1")
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with serve_process(env, f"models:/{NAME}@champion", log) as base:
        yield base


def _policy(service: str) -> Policy:
    return Policy(shadow_min_lists=MIN_LISTS, shadow_tolerance=0.0, cooldown_seconds=0,
                  serving_urls=(service,), verify_seconds=30)


def _shadowed_by(service: str) -> int | None:
    model = httpx.get(f"{service}/model", timeout=5).json()["shadow"]["model"]
    return None if model is None else int(model["version"])


def _wait(condition, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"still not {what}"
        time.sleep(0.1)


def _serve_every_user(settings: Settings, service: str, version: int) -> pd.DataFrame:
    """Each user asks once while ``version`` is shadowed; the logged lists of both roles."""
    _wait(lambda: _shadowed_by(service) == version, f"shadowing version {version}")
    for user in USERS:
        reply = httpx.get(f"{service}/users/{user}/recommendations", params={"k": 10},
                          timeout=30)
        assert reply.status_code == 200, reply.text

    def rows() -> pd.DataFrame:
        with open_store(settings) as store:
            return shadowed_rows(store.engine, NAME, version)

    _wait(lambda: (rows()["role"] == "shadow").sum() >= len(USERS), "all shadow rows logged")
    return rows()


def _users_take(settings: Settings, lists: pd.DataFrame, users: list[int], taken: str,
                left: str) -> None:
    """What ``users`` did next: up to three items the ``taken`` role listed them and the
    ``left`` role did not, as a production batch (it arrives after the lists were served)."""
    by_role = {role: {int(row.user_id): orjson.loads(row.items) for row in part.itertuples()}
               for role, part in lists.groupby("role")}
    rows = []
    for user in users:
        chosen = [i for i in by_role[taken][user] if i not in set(by_role[left][user])][:3]
        assert chosen, f"user {user}: both lists are the same"
        rows += [{"user_id": user, "item_id": item, "rating": 5.0,
                  "timestamp": int(time.time())} for item in chosen]
    with open_store(settings) as store:
        batch = store.ingest("interactions", pd.DataFrame(rows), source="test:users-act",
                             stage="production")
    assert batch.accepted == len(rows)


def _last_run_at(settings: Settings):
    with open_store(settings) as store:
        return pipeline_state.read(store.engine, NAME).last_run_at


def test_a_challenger_is_shadowed_judged_online_and_then_promoted(workspace, service) -> None:
    first = run_pipeline(workspace, "recommender", force=True, params={"model": "als"},
                         policy=_policy(service))
    assert first.outcome == "shadowing", first.reason
    assert list(first.steps) == ["check", "snapshot", "retrain"]
    assert first.reason.startswith("version 2 is challenger; the service shadows it until 20")
    client = tracking.configure(workspace)
    assert int(client.get_registered_model(NAME).aliases["challenger"]) == 2
    assert served_version(service) == 1
    cooled = _last_run_at(workspace)
    assert cooled is not None  # turn 1 retrained: the cooldown starts as usual

    lists = _serve_every_user(workspace, service, 2)
    nobody = run_pipeline(workspace, "recommender", policy=_policy(service))
    assert nobody.outcome == "waiting", nobody.reason
    assert list(nobody.steps) == ["check", "shadow"]
    assert nobody.reason.startswith("waiting for shadow evidence: 0 of 20 judged shadow lists "
                                    "of version 2 (30 requests shadowed")

    _users_take(workspace, lists, USERS[:10], taken="shadow", left="champion")
    few = run_pipeline(workspace, "recommender", policy=_policy(service))
    assert few.outcome == "waiting" and "10 of 20 judged shadow lists" in few.reason
    assert few.steps["shadow"]["output"]["roles"]["shadow"]["hit_rate_at_k"] == 1.0
    assert _last_run_at(workspace) == cooled  # waiting burns no cooldown

    _users_take(workspace, lists, USERS[10:], taken="shadow", left="champion")
    judged = run_pipeline(workspace, "recommender", policy=_policy(service))
    assert judged.outcome == "promoted", judged.reason
    assert list(judged.steps) == ["check", "shadow", "gate", "verify"]
    assert (judged.version_before, judged.version_after) == (1, 2)
    assert judged.reason.startswith("shadow evidence: version 2's online hit rate@10 +1.0000 "
                                    "against the champion's on 30 lists; challenger ")
    wait_for_version(service, 2, 10)
    tags = client.get_model_version(NAME, "2").tags
    assert tags["promotion.decision"] == "promoted"
    assert tags["promotion.online_evidence"].startswith("shadow evidence: version 2's")
    assert "challenger" not in client.get_registered_model(NAME).aliases
    run = client.get_run(judged.run_id)
    assert run.data.tags["pipeline.outcome"] == "promoted"
    assert '"judged_lists": 30' in run.data.tags["pipeline.shadow_evidence"]
    assert run.data.metrics["shadow_judged_lists"] == 30


def test_a_challenger_users_ignore_is_refused_on_its_evidence(workspace, service) -> None:
    weak = run_pipeline(workspace, "recommender", force=True,
                        params={"factors": 2, "iterations": 1}, policy=_policy(service))
    assert weak.outcome == "shadowing", weak.reason
    lists = _serve_every_user(workspace, service, 3)
    _users_take(workspace, lists, USERS, taken="champion", left="shadow")
    refused = run_pipeline(workspace, "recommender", policy=_policy(service))
    assert refused.outcome == "kept", refused.reason
    assert refused.steps["shadow"]["outcome"] == "refused"
    assert refused.reason == ("shadow evidence: version 3's online hit rate@10 trails the "
                              "champion's by 1.0000 on 30 lists (tolerance 0): refused before "
                              "offline scoring")
    client = tracking.configure(workspace)
    tags = client.get_model_version(NAME, "3").tags
    assert tags["promotion.decision"] == "rejected" and tags["promotion.reason"] == refused.reason
    assert "challenger" not in client.get_registered_model(NAME).aliases
    _wait(lambda: _shadowed_by(service) is None, "done shadowing")
    assert served_version(service) == 2
    assert shadowing.pending(workspace, families.get("recommender")) is None  # decided


def test_pipeline_list_shows_the_two_phase_outcomes(workspace, capsys) -> None:
    assert cli(["pipeline", "list", "--model", "recommender"]) == 0
    out = capsys.readouterr().out
    for outcome in ("shadowing", "waiting", "promoted", "kept"):
        assert outcome in out
    assert "shadow:waiting" in out and "shadow:refused" in out


def test_a_family_without_online_evidence_refuses_the_setting(workspace, monkeypatch,
                                                              capsys) -> None:
    with pytest.raises(ConfigError, match="the classifier family has no online evidence"):
        run_pipeline(workspace, "classifier", policy=Policy(shadow_min_lists=5))
    monkeypatch.setenv("MLWB_GATE_SHADOW_MIN_LISTS", "5")
    get_settings.cache_clear()
    try:
        assert cli(["pipeline", "run", "--model", "classifier"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["Error: MLWB_GATE_SHADOW_MIN_LISTS=5: the classifier family has no online "
                   "evidence to judge a shadowed challenger by (nothing served says later "
                   "whether its answer was right); set MLWB_GATE_SHADOW_MIN_LISTS=0 to gate "
                   "classifier models offline only"]
