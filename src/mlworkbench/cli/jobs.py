"""``mlwb jobs``: the jobs service (train, tune, promote, pipeline runs over HTTP) and its rows."""

from __future__ import annotations

import typer

from mlworkbench.cli.output import console, table

app = typer.Typer(help="Jobs over HTTP: train, tune, promote and pipeline runs in the background.",
                  no_args_is_help=True)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address (default MLWB_STACK_HOST)."),
    port: int | None = typer.Option(None, min=1, max=65535,
                                    help="Port (default MLWB_JOBS_PORT, 5002)."),
) -> None:
    """Serve POST /jobs (admin token), GET /jobs, GET /jobs/{id}, /metrics and /docs."""
    import uvicorn

    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.jobs.app import build_app

    settings = get_settings()
    host, port = host or settings.stack_host, port or settings.jobs_port
    console.print(f"jobs on http://{host}:{port} (docs: /docs)")
    if not settings.admin_token:
        console.print("POST /jobs is refused until MLWB_ADMIN_TOKEN is set (its bearer token)")
    uvicorn.run(build_app(settings), host=host, port=port, log_level="info")


@app.command("list")
def list_jobs(model: str | None = typer.Option(None, help="Only this registered model's jobs."),
              limit: int = typer.Option(20, min=1, help="Newest first, at most this many.")
              ) -> None:
    """Jobs the jobs service ran or runs, from the data store, newest first."""
    from mlworkbench.config import get_settings
    from mlworkbench.data.jobs import JobStore

    jobs = JobStore(get_settings().resolved_database_url).list(model, None, limit)
    rows = [[job.id, job.created_at.strftime("%Y-%m-%d %H:%M:%S"), job.kind, job.model_name,
             job.state, job.progress and f"{job.progress['stage']} "
             f"{job.progress['done']}/{job.progress['total']}", " ".join(job.run_ids),
             job.error] for job in jobs]
    console.print(table("jobs", ["id", "created (UTC)", "kind", "model", "state", "progress",
                                 "MLflow runs", "error"], rows))
