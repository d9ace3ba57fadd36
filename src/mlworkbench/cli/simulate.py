"""``mlwb simulate`` (files of simulated data) and ``mlwb simulator serve`` (the service)."""

from __future__ import annotations

from pathlib import Path

import typer

from mlworkbench.cli.drift import NewUsers, PopularityShift, RatingNoise, SchemaViolations
from mlworkbench.cli.output import console
from mlworkbench.errors import InvalidParameterError

simulator_app = typer.Typer(help="The simulator service (POST /batches).", no_args_is_help=True)
FORMATS = ("csv", "parquet")


def simulate(
    out: Path = typer.Option(Path("simulated"), help="Directory to write the files into."),
    dataset: str = typer.Option("movielens", help="movielens (interactions) or titanic."),
    batches: int = typer.Option(3, min=0, help="Production batches to write."),
    batch_size: int = typer.Option(1000, min=1, help="Rows per production batch."),
    popularity_shift: PopularityShift = 0.0,
    new_users: NewUsers = 0.0,
    rating_noise: RatingNoise = 0.0,
    schema_violations: SchemaViolations = 0.0,
    shift: float = typer.Option(0.0, help="titanic: how far passengers drift (0..1)."),
    seed: int = typer.Option(42, help="Same seed, same files."),
    file_format: str = typer.Option("csv", "--format", help="csv or parquet."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Generate synthetic interactions "
                                   "(power-law popularity, latent clusters) into the store."),
    users: int = typer.Option(10_000, min=1, help="--synthetic: users."),
    items: int = typer.Option(1_000, min=1, help="--synthetic: items."),
    interactions: int = typer.Option(100_000, min=1, help="--synthetic: interactions."),
) -> None:
    """Write training/testing windows and production batches (MovieLens replayed by time),
    or Titanic-like passengers; ingest them with `mlwb data ingest FILE --stage ...`.
    With --synthetic, stream synthetic interactions at any scale into the store instead."""
    if synthetic:
        from mlworkbench.cli.synthetic import fill_store

        return fill_store(users, items, interactions, seed)
    from mlworkbench.data.datasets import load_movielens
    from mlworkbench.data.ingest import load_titanic
    from mlworkbench.data.simulator import Drift, Simulator, synthetic_passengers

    if file_format not in FORMATS:
        raise InvalidParameterError("format", "simulate", f"one of {list(FORMATS)}", file_format)
    out.mkdir(parents=True, exist_ok=True)
    frames = {}
    if dataset == "movielens":
        simulator = Simulator(load_movielens(), seed=seed)
        drift = Drift(popularity_shift, new_users, rating_noise, schema_violations)
        frames = {name: simulator.window(name) for name in ("training", "testing")}
        for index in range(batches):
            frames[f"production-{index + 1:04d}"] = simulator.production_batch(
                index, batch_size, drift)
    elif dataset == "titanic":
        passengers = load_titanic()
        frames = {"passengers-training": passengers}
        for index in range(batches):
            frames[f"passengers-production-{index + 1:04d}"] = synthetic_passengers(
                passengers, batch_size, shift, seed + index)
    else:
        raise InvalidParameterError("dataset", "simulate", "one of ['movielens', 'titanic']",
                                    dataset)
    for name, frame in frames.items():
        path = out / f"{name}.{file_format}"
        if file_format == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        console.print(f"{path}  {len(frame):,} rows")


@simulator_app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address (default MLWB_STACK_HOST)."),
    port: int | None = typer.Option(None, min=1, max=65535,
                                    help="Port (default MLWB_SIMULATOR_PORT, 5004)."),
) -> None:
    """Serve POST /batches and GET /batches/{id}, writing into the data store."""
    import uvicorn

    from mlworkbench.config import get_settings
    from mlworkbench.data.simulator_service import build_app

    settings = get_settings()
    host, port = host or settings.stack_host, port or settings.simulator_port
    console.print(f"simulator on http://{host}:{port} (docs: /docs), store "
                  f"{settings.resolved_database_url.split('@')[-1]}")
    if not settings.admin_token:
        console.print("POST /batches is refused until MLWB_ADMIN_TOKEN is set (its bearer token)")
    uvicorn.run(build_app(settings), host=host, port=port, log_level="info")
