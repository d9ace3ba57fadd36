"""A broken new version never replaces the served one, and the failure shows: ``/model``'s
``last_error``, the load-failure metrics, a 4xx/503 from ``/admin/reload`` (never 500), and a
poller that logs the failed version once, backs off, and still takes a later good version."""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

import mlflow
import pytest

from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias

NAME = "broken-recommender"
URI = f"models:/{NAME}@champion"
EXPERIMENT = [""]


def _foreign_model() -> mlflow.pyfunc.PythonModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's hint to add type hints

        class NotARecommender(mlflow.pyfunc.PythonModel):
            def predict(self, context, model_input: list[str], params=None) -> list[str]:
                return model_input

    return NotARecommender()


def _register_dir(directory: Path) -> int:
    with mlflow.start_run(experiment_id=EXPERIMENT[0]):
        mlflow.log_artifacts(str(directory), "model")
        run_id = mlflow.active_run().info.run_id
    return int(mlflow.register_model(f"runs:/{run_id}/model", NAME).version)


def _broken(source: Path, tmp: Path, kind: str) -> Path:
    import shutil

    import numpy as np

    copy = tmp / kind
    shutil.copytree(source, copy)
    npz = next(copy.rglob("recommender.npz"))
    if kind == "truncated":
        data = npz.read_bytes()
        npz.write_bytes(data[: len(data) // 2])
    elif kind == "no-item-factors":
        with np.load(npz, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files if name != "item_factors"}
        npz.unlink()
        np.savez(npz, **arrays)
    elif kind == "missing-artifact":
        npz.unlink()
    return copy


@pytest.fixture(scope="module")
def versions(trained, tmp_path_factory):
    """Version 1 good; 2-4 broken artifacts; 5 a model of another family; 6 good again."""
    settings, result = trained
    client = tracking.configure(settings)
    EXPERIMENT[0] = tracking.ensure_experiment(client, settings)  # artifacts in the workspace
    tmp = tmp_path_factory.mktemp("broken")
    source = Path(mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp / "src")))
    good = _register_dir(source)
    broken = {kind: _register_dir(_broken(source, tmp, kind))
              for kind in ("truncated", "no-item-factors", "missing-artifact")}
    with mlflow.start_run(experiment_id=EXPERIMENT[0]), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MLflow's hint to add type hints
        foreign = mlflow.pyfunc.log_model(name="model", python_model=_foreign_model(),
                                          registered_model_name=NAME)
    broken["other-family"] = int(foreign.registered_model_version)
    later = _register_dir(source)
    set_alias(client, NAME, "champion", good)
    return client, good, broken, later


def _metric(text: str, name: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_reload_of_each_broken_version_keeps_the_old_and_says_why(versions, make_client,
                                                                   admin_token) -> None:
    client_, good, broken, _ = versions
    auth = {"Authorization": f"Bearer {admin_token}"}
    set_alias(client_, NAME, "champion", good)
    with make_client(URI, alias_poll_seconds=0) as client:
        for kind, version in broken.items():
            set_alias(client_, NAME, "champion", version)
            before = time.time()
            reload = client.post("/admin/reload", headers=auth)
            assert reload.status_code in (422, 503), (kind, reload.status_code, reload.text)
            body = reload.json()
            assert body["field"] == "model" and f"still serving {NAME} version {good}" in \
                body["detail"], (kind, body)
            assert reload.headers["X-Model-Version"] == str(good)
            info = client.get("/model").json()
            assert info["version"] == good, kind
            assert info["last_error"]["version"] == version, (kind, info["last_error"])
            assert info["last_error"]["error"] and info["last_error"]["at"] >= \
                time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before - 60))
            served = client.post("/recommendations", json={"users": [42], "k": 3})
            assert served.status_code == 200 and served.json()["model"]["version"] == good
        metrics = client.get("/metrics").text
    assert _metric(metrics, "mlwb_model_load_failures_total") == len(broken)
    assert _metric(metrics, "mlwb_model_load_failure_timestamp_seconds") >= before
    assert 'mlwb_model_reloads_total{outcome="failed"} 4.0' in metrics


def test_the_poller_logs_a_broken_version_once_backs_off_and_takes_a_later_good_one(
    versions, make_client, caplog
) -> None:
    client_, good, broken, later = versions
    set_alias(client_, NAME, "champion", good)
    with caplog.at_level(logging.DEBUG, "mlworkbench.serving.model_holder"), \
            make_client(URI, alias_poll_seconds=0.1) as client:
        set_alias(client_, NAME, "champion", broken["truncated"])
        time.sleep(2.0)  # 20 polls: without a back-off, 20 failed loads
        info = client.get("/model").json()
        metrics = client.get("/metrics").text
        assert info["version"] == good and info["last_error"]["version"] == broken["truncated"]
        failures = _metric(metrics, "mlwb_model_load_failures_total")
        assert 1 <= failures <= 3, failures  # retried after 0.2, 0.4, 0.8... s at most
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING
                    and f"version {broken['truncated']}" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in warnings]
        set_alias(client_, NAME, "champion", later)
        deadline = time.monotonic() + 20
        while client.get("/model").json()["version"] != later:
            assert time.monotonic() < deadline, "the later good version never arrived"
            time.sleep(0.05)
        assert client.get("/model").json()["last_error"] is None
