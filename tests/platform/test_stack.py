"""The real local stack: up, train and register through the server, serve, survive a crash, down.

Tests run in file order against one stack (see conftest.py); the last one takes it down.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import sqlalchemy as sa

from fixtures.stack import only
from mlworkbench.cli.main import run
from mlworkbench.config import STACK_FILE, get_settings
from mlworkbench.errors import ObjectStoreError
from mlworkbench.platform.objectstore import ObjectStore
from mlworkbench.platform.processes import alive

pytestmark = pytest.mark.integration
# the data fill and the scheduler too; the fill writes its first batch as it starts, then one a
# minute (the default): a batch every few seconds would only load the machine the stack runs on
STACK_ENVIRONMENT = {"MLWB_STACK_LOOP": "true"}


LOOP_SERVICES = ("fill", "evidently", "jobs", "monitoring", "scheduler")  # the loop, alive


def _rows(stack) -> dict:
    return {row.name: row for row in stack.status()}


def test_up_starts_every_service_healthy_and_publishes_the_uris(stack) -> None:
    rows = _rows(stack)
    for name in ("postgres", "s3", "mlflow", "simulator", *LOOP_SERVICES):
        assert rows[name].state == "RUNNING" and rows[name].healthy, rows[name]
    assert rows["api"].state == "STOPPED"  # no champion yet
    published = json.loads((stack.settings.home / STACK_FILE).read_text())
    assert published["tracking_uri"] == stack.settings.stack_tracking_uri
    get_settings.cache_clear()
    assert get_settings().resolved_tracking_uri == stack.settings.stack_tracking_uri


def test_up_again_changes_nothing(stack, capsys) -> None:
    before = {name: row.pid for name, row in _rows(stack).items()}
    assert run(["up"]) == 0
    assert "healthy" in capsys.readouterr().out
    after = {name: row.pid for name, row in _rows(stack).items()}
    assert after == before


def test_a_taken_port_is_one_line_error_naming_the_setting(stack, tmp_path, monkeypatch,
                                                          capsys) -> None:
    monkeypatch.setenv("MLWB_HOME", str(tmp_path / "other"))  # a second workspace, same ports
    get_settings.cache_clear()
    assert run(["up"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and error.startswith("Error: port ")
    assert "already in use" in error and "MLWB_POSTGRES_PORT" in error
    get_settings.cache_clear()


def test_training_goes_through_the_server_to_postgres_and_s3(stack, movielens) -> None:
    from mlworkbench.models.pyfunc import load_recommender
    from mlworkbench.tracking import client as tracking
    from mlworkbench.training.recommender import RECOMMENDER
    from mlworkbench.training.train import train

    get_settings.cache_clear()
    settings = get_settings()  # no MLWB_TRACKING_URI: the workspace file points at the stack
    result = train(RECOMMENDER, settings=settings, data=movielens)
    assert result.version == 1 and result.champion_version == 1

    engine = sa.create_engine(stack.backend_store_uri)
    with engine.connect() as db:
        status = db.execute(sa.text("SELECT status FROM runs WHERE run_uuid = :id"),
                            {"id": result.run_id}).scalar_one()
        metrics = db.execute(sa.text("SELECT count(*) FROM metrics WHERE run_uuid = :id"),
                             {"id": result.run_id}).scalar_one()
        versions = db.execute(sa.text("SELECT name, version FROM model_versions")).all()
    engine.dispose()
    assert status == "FINISHED" and metrics > 10
    assert [tuple(row) for row in versions] == [("movielens-recommender", 1)]

    keys = ObjectStore(settings).keys()
    assert any(key.endswith(f"{result.run_id}/artifacts/plots/metrics_at_k.png") for key in keys)
    assert any(key.endswith("artifacts/MLmodel") for key in keys)
    assert any(key.endswith("recommender.npz") for key in keys)

    tracking.configure(settings)
    recommender, _ = load_recommender("models:/movielens-recommender@champion")
    assert recommender.recommend(np.array([1]), k=5).item_ids.shape == (1, 5)


def test_object_store_makes_missing_buckets_and_translates_refusals(stack) -> None:
    other = ObjectStore(stack.settings.model_copy(update={"s3_bucket": "made-by-mlwb"}))
    assert not other.bucket_exists()
    other.ensure_bucket()  # what MinIO or AWS need; SeaweedFS made the stack's own bucket
    assert other.bucket_exists() and other.keys() == []
    wrong = stack.settings.model_copy(update={"s3_secret_access_key": "not-the-secret"})
    with pytest.raises(ObjectStoreError, match="refused"):
        ObjectStore(wrong).bucket_exists()


def test_up_after_training_serves_the_champion(stack) -> None:
    stack.up()
    rows = _rows(stack)
    assert rows["api"].state == "RUNNING" and rows["api"].healthy
    url = f"{rows['api'].url}/users/1/recommendations?k=3"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        [answer] = json.loads(response.read())["recommendations"]
    assert answer["user"] == 1 and len(answer["items"]) == 3


def test_killed_mlflow_server_is_restarted_and_healthy_within_seconds(stack) -> None:
    before = _rows(stack)["mlflow"].pid
    os.kill(before, signal.SIGKILL)
    started, deadline = time.monotonic(), time.monotonic() + 60
    while True:
        row = _rows(stack)["mlflow"]
        if row.pid not in (None, before) and row.healthy:
            break
        assert time.monotonic() < deadline, f"mlflow not back after 60 s: {row}"
        time.sleep(0.2)
    print(f"mlflow server back in {time.monotonic() - started:.1f} s")
    assert not alive([before])


def test_status_and_logs_commands(stack, capsys) -> None:
    assert run(["status"]) == 0
    out = capsys.readouterr().out
    assert "mlflow" in out and "RUNNING" in out and "healthy" in out
    assert run(["logs", "mlflow", "-n", "5"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 5
    assert run(["logs", "nosuch"]) == 1
    assert "no service 'nosuch'" in capsys.readouterr().err


def _status(url: str, method: str = "GET", data: bytes | None = None,
            headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_secrets_are_private_and_postgres_wants_the_password(stack) -> None:
    stack_dir = stack.settings.stack_dir
    for path in (stack_dir / "secrets.json", stack.settings.home / STACK_FILE,
                 stack_dir / "supervisord.conf"):
        assert path.stat().st_mode & 0o777 == 0o600, path
    hba = (stack_dir / "data" / "postgres" / "pg_hba.conf").read_text().splitlines()
    assert not [line for line in hba if line.strip() and not line.startswith("#")
                and "trust" in line]
    known = sa.engine.make_url(stack.backend_store_uri)
    for password in ("", "not-the-password"):  # none given (libpq sends none) and a wrong one
        engine = sa.create_engine(known.set(password=password))
        with pytest.raises(sa.exc.OperationalError, match="password"):
            engine.connect()
        engine.dispose()


def test_mlflow_filer_and_simulator_refuse_requests_without_credentials(stack) -> None:
    tracking = f"{stack.settings.stack_tracking_uri}/api/2.0/mlflow/experiments/search"
    assert _status(f"{tracking}?max_results=1") == 401
    secrets = stack.secrets
    login = base64.b64encode(f"admin:{secrets.mlflow_password}".encode()).decode()
    assert _status(f"{tracking}?max_results=1", headers={"Authorization": f"Basic {login}"}) \
        == 200
    filer = f"http://{stack.settings.stack_host}:{stack.settings.s3_aux_port + 2}"
    assert _status(f"{filer}/buckets/{stack.settings.s3_bucket}/planted.txt", "PUT",
                   b"x") == 401
    assert _status(f"{filer}/buckets/{stack.settings.s3_bucket}/?pretty=y") == 401
    simulator = f"{_rows(stack)['simulator'].url}/batches"
    body, json_type = b'{"size": 5}', {"Content-Type": "application/json"}
    assert _status(simulator, "POST", body, json_type) == 401
    assert _status(simulator, "POST", body,
                   {**json_type, "Authorization": f"Bearer {secrets.admin_token}"}) == 201


def test_the_mlflow_servers_credential_cache_lets_no_changed_or_deleted_password_in(
        stack) -> None:
    """The stack turns on the basic-auth app's credential cache (each request would hash the
    password again otherwise): a user whose stored hash is overwritten behind the server's
    back still gets in on a checked password (the cache is on); a password accepted once,
    then changed or its user deleted through the server, is refused at once; a wrong one
    never rides on a right one."""
    api = f"{stack.settings.stack_tracking_uri}/api/2.0/mlflow"

    def basic(user: str, password: str) -> dict[str, str]:
        login = base64.b64encode(f"{user}:{password}".encode()).decode()
        return {"Authorization": f"Basic {login}", "Content-Type": "application/json"}

    def asks(password: str) -> int:
        return _status(f"{api}/experiments/search?max_results=1",
                       headers=basic("reader", password))

    admin = basic("admin", stack.secrets.mlflow_password)
    first, second = "first-Secret-123456", "second-Secret-654321"
    assert _status(f"{api}/users/create", "POST",
                   json.dumps({"username": "reader", "password": first}).encode(), admin) == 200
    assert asks(first) == 200
    assert asks(first + "x") == 401
    users = sa.create_engine(f"sqlite:///{stack.settings.stack_dir / 'data' / 'mlflow-auth.db'}")
    with users.begin() as db:
        hashed = db.execute(sa.text(
            "SELECT password_hash FROM users WHERE username = 'reader'")).scalar_one()
        db.execute(sa.text("UPDATE users SET password_hash = 'gone' WHERE username = 'reader'"))
    assert asks(first) == 200  # from the cache: the store's hash is not read again
    with users.begin() as db:
        db.execute(sa.text("UPDATE users SET password_hash = :h WHERE username = 'reader'"),
                   {"h": hashed})
    users.dispose()
    assert _status(f"{api}/users/update-password", "PATCH",
                   json.dumps({"username": "reader", "password": second}).encode(), admin) == 200
    assert asks(first) == 401 and asks(second) == 200
    assert _status(f"{api}/users/delete", "DELETE",
                   json.dumps({"username": "reader"}).encode(), admin) == 200
    assert asks(second) == 401


def _json(url: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_loop_services_work_on_the_stack_store_and_server(stack) -> None:
    from mlworkbench.data.jobs import JobStore
    from mlworkbench.data.store import Store
    from mlworkbench.data.tables import scheduler_jobs

    rows = _rows(stack)
    database_url = stack.postgres.database_url
    with Store(database_url) as store:  # the data fill writes production batches
        deadline = time.monotonic() + 60
        while not [b for b in store.batches("interactions") if b.stage == "production"]:
            assert time.monotonic() < deadline, "no production batch from the data fill"
            time.sleep(1)
    engine = JobStore(database_url).engine  # the scheduler keeps its jobs in the data store
    with engine.connect() as db:
        scheduled = set(db.execute(sa.select(scheduler_jobs.c.id)).scalars())
    assert scheduled == {"pipeline-recommender", "pipeline-classifier"}
    assert "paths" in _json(f"{rows['monitoring'].url}/openapi.json")
    assert isinstance(_json(f"{rows['evidently'].url}/api/projects"), list)
    jobs = rows["jobs"].url  # a training job through the jobs service, the server, the store
    job = _json(f"{jobs}/jobs", {"kind": "train", "family": "classifier"},
                stack.secrets.admin_token)
    deadline = time.monotonic() + 240
    while (job := _json(f"{jobs}/jobs/{job['id']}"))["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job not done in 240 s: {job}"
        time.sleep(0.5)
    assert job["state"] == "succeeded", job["error"]
    assert [j.id for j in JobStore(database_url).list()] == [job["id"]]
    engine = sa.create_engine(stack.backend_store_uri)
    with engine.connect() as db:
        status = db.execute(sa.text("SELECT status FROM runs WHERE run_uuid = :id"),
                            {"id": job["run_ids"][0]}).scalar_one()
    engine.dispose()
    assert status == "FINISHED"


def test_a_killed_supervisord_is_recovered_by_up_and_by_down(stack) -> None:
    def kill_supervisord() -> list[int]:
        children = [row.pid for row in stack.status() if row.pid]
        os.kill(stack.supervisor.pid(), signal.SIGKILL)
        time.sleep(0.5)
        assert alive(children), "the children should outlive a killed supervisord"
        assert stack.supervisor.socket.exists() and stack.supervisor.pidfile.exists()
        return children

    left = kill_supervisord()
    rows = {row.name: row for row in stack.up()}  # would fail on a port held by an orphan
    assert all(rows[name].healthy for name in ("postgres", "s3", "mlflow", "simulator",
                                               *LOOP_SERVICES))
    assert not alive(left) and not set(left) & {row.pid for row in rows.values()}

    left = kill_supervisord()
    stopped = stack.down()
    assert set(left) <= set(stopped) and not alive(stopped)
    assert not stack.supervisor.socket.exists() and not stack.supervisor.pidfile.exists()
    # and a new supervisord starts cleanly in its place (the stores and the server are enough
    # to show it: every service's start was shown above, and each is a process to import)
    rows = {row.name: row for row in only(("postgres", "s3", "mlflow"))(stack.settings).up()}
    assert rows["postgres"].healthy and rows["s3"].healthy and rows["mlflow"].healthy


def test_down_stops_everything_and_keeps_the_data(stack) -> None:
    pids = stack.down()
    assert pids and not alive(pids)
    assert not (stack.settings.home / STACK_FILE).exists()
    assert (stack.settings.stack_dir / "data" / "postgres" / "PG_VERSION").exists()
    assert all(row.state == "STOPPED" for row in stack.status() if row.state != "external")
