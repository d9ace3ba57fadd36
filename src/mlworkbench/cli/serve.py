"""``mlwb serve`` (any family's API) and ``mlwb recommend-all`` (batch recommendations)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import typer

from mlworkbench.cli.output import console, stage_progress
from mlworkbench.cli.recommend import DEFAULT_MODEL

MODEL_HELP = ("MLflow model reference: models:/NAME@alias, models:/NAME/3, runs:/<id>/model, "
              "or a local path.")


def serve(
    model: str = typer.Argument(DEFAULT_MODEL, help=MODEL_HELP),
    host: str | None = typer.Option(None, help="Address to bind (default MLWB_SERVE_HOST, "
                                                "127.0.0.1)."),
    port: int | None = typer.Option(None, min=1, max=65535,
                                    help="Port (default: recommender MLWB_SERVE_PORT 5001, "
                                         "classifier MLWB_CLASSIFIER_PORT 1234)."),
    workers: int | None = typer.Option(None, min=1, max=64,
                                       help="Worker processes (default MLWB_SERVE_WORKERS, 1)."),
    access_log: bool = typer.Option(False, help="Log every request (costs throughput)."),
    pin_workers: bool | None = typer.Option(
        None, "--pin-workers/--no-pin-workers",
        help="With as many workers as CPUs: worker i on CPU i, a connection served by the "
             "worker on the CPU it arrived on, connections kept even between workers "
             "(default MLWB_SERVE_PIN_WORKERS, on)."),
) -> None:
    """Serve a registered model over HTTP (docs at /docs): the recommender's or the classifier's
    routes, chosen by what MODEL holds; follows the alias of models:/NAME@alias."""
    import uvicorn

    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.serving.app import build_app
    from mlworkbench.serving.coalescing import CoalescingProtocol
    from mlworkbench.serving.reference import resolve
    from mlworkbench.tracking import client as tracking

    settings = get_settings()
    client = tracking.configure(settings)
    family = families.of_reference(settings, model)
    host = host or settings.serve_host
    port = port or family.port(settings)
    workers = workers or settings.serve_workers
    options = {"host": host, "port": port, "access_log": access_log, "log_level": "info",
               "timeout_graceful_shutdown": 10, "http": CoalescingProtocol}
    if workers == 1:
        app = build_app(model, family.served, settings)  # a bad reference fails here
        console.print(f"serving {model} on http://{host}:{port} (docs: /docs)")
        uvicorn.run(app, **options)
        return
    resolve(client, model)  # fail fast, once, before starting workers
    os.environ["MLWB_SERVE_MODEL"] = model  # what each worker's factory loads
    os.environ["MLWB_SERVE_FAMILY"] = family.name
    metrics_dir = Path(tempfile.mkdtemp(prefix="prometheus-", dir=settings.home))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    try:
        pin = settings.serve_pin_workers if pin_workers is None else pin_workers
        _serve_workers(model, workers, pin, options)
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)  # the workers' metric files


def _serve_workers(model: str, workers: int, pin: bool, options: dict) -> None:
    """Worker i on CPU i, each with its own socket, when there are as many workers as CPUs
    (serving/pinned_workers.py); otherwise uvicorn's workers on one shared socket."""
    import uvicorn

    from mlworkbench.serving.pinned_workers import (
        PinnedWorkers,
        cpu_sockets,
        pinnable_cpus,
        usable_cpus,
    )
    from mlworkbench.serving.worker_balance import BalancedProtocol

    app = "mlworkbench.families.serving:app_from_settings"
    host, port = options["host"], options["port"]
    cpus = pinnable_cpus(workers) if pin else None
    if pin and cpus is None:
        console.print(f"{workers} workers on one shared socket (pinning needs one worker per "
                      f"CPU; this process may use CPUs {usable_cpus()})")
    sockets = None
    if cpus is not None:
        config = uvicorn.Config(app, factory=True, workers=workers,
                                **{**options, "http": BalancedProtocol})
        try:
            sockets = cpu_sockets(host, port, workers, config.backlog)
        except OSError as error:
            console.print(f"[red]error:[/red] cannot listen on {host}:{port} ({error.strerror}); "
                          "choose another --host or --port")
            raise typer.Exit(1) from None
    if sockets is None:
        console.print(f"serving {model} on http://{host}:{port} with {workers} workers")
        uvicorn.run(app, factory=True, workers=workers, **options)
        return
    console.print(f"serving {model} on http://{host}:{port} with {workers} workers, worker i on "
                  "CPU i taking the connections that arrive there")
    supervisor = PinnedWorkers(config, sockets, cpus)
    try:
        supervisor.run()
    finally:
        supervisor.close()
        for sock in sockets:
            sock.close()


def recommend_all(
    model: str = typer.Argument(DEFAULT_MODEL, help=MODEL_HELP),
    k: int = typer.Option(10, help="Items per user (1..1000)."),
    out: Path | None = typer.Option(None, help="Parquet file to write (default: none)."),
    store: bool = typer.Option(True, help="Also write the data store's precomputed table."),
) -> None:
    """Score every known user and write (user, rank, item, score, model version) rows."""
    from mlworkbench.config import get_settings
    from mlworkbench.models.recommender import check_k
    from mlworkbench.serving.model_holder import load_model
    from mlworkbench.serving.recommender import SERVED
    from mlworkbench.serving.recommender.batch import recommend_all as run_batch
    from mlworkbench.tracking import client as tracking

    check_k(k)
    settings = get_settings()
    loaded = load_model(tracking.configure(settings), model, SERVED)
    database_url = settings.resolved_database_url if store else None
    with stage_progress() as progress:
        result = run_batch(loaded, k, out, database_url,
                           progress=lambda done, total: progress("score", done, total))
    console.print(f"{loaded.name} version {loaded.version}: {result.users} users, "
                  f"{result.rows} rows in {result.total_seconds:.2f}s "
                  f"(scoring {result.users_per_second:,.0f} users/s)")
    if out is not None:
        console.print(f"parquet  {out}")
    if store:
        console.print(f"store    {database_url} (table precomputed_recommendations)")
