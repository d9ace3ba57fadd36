"""``mlwb tune ...``: grid search with nested MLflow runs; the best becomes ``challenger``."""

from __future__ import annotations

from pathlib import Path

import typer

from mlworkbench.cli.output import console, fmt, stage_progress, table

app = typer.Typer(help="Grid-search hyperparameters; register the best as challenger.",
                  no_args_is_help=True)


@app.command("recommender")
def recommender(
    grid: list[str] = typer.Option([], "--grid", help="name=v1,v2,... ; repeat per parameter."),
    grid_file: Path | None = typer.Option(None, help="YAML mapping of name: [values]."),
    model: str = typer.Option("als", help="Engine: als, bpr or popularity."),
    metric: str = typer.Option("ndcg_at_10", help="Metric that picks the best trial."),
    parallel: int = typer.Option(1, help="Trials at once (processes; threads share the cores)."),
    split: str = typer.Option("random", help="Holdout: random (seeded) or temporal."),
    k: int = typer.Option(10, help="Cut-off of the ranking metrics."),
    register: bool = typer.Option(True, help="Register the best model as challenger."),
    snapshot: str | None = typer.Option(None, help="Tune on this named data snapshot."),
) -> None:
    """Train every grid combination on the same split; print the results sorted by METRIC."""
    from mlworkbench.config import get_settings
    from mlworkbench.data.ingest import training_snapshot
    from mlworkbench.training.grid import build_grid
    from mlworkbench.training.tune import TuneRequest, tune_recommender

    request = TuneRequest(
        grid=build_grid(model, grid, grid_file), model=model, metric=metric, split=split,
        k=k, parallel=parallel, register=register,
    ).validated()
    with stage_progress() as progress:
        data = training_snapshot(get_settings(), snapshot) if snapshot else None
        result = tune_recommender(request, progress=progress, data=data)
    names = list(request.grid)
    shown = [metric] + [m for m in (f"precision_at_{k}", f"ndcg_at_{k}") if m != metric]
    rows = [[rank, *(t.params[n] for n in names), *(fmt(t.metrics[m]) for m in shown),
             f"{t.fit_seconds:.2f}"] for rank, t in enumerate(result.trials, start=1)]
    console.print(table(f"{len(rows)} trials ranked on validation, best first "
                        f"(parent run {result.parent_run_id})",
                        ["#", *names, *(f"val {m}" for m in shown), "fit s"], rows))
    console.print("best refitted on the train part, scored once on the test holdout: "
                  + "  ".join(f"{m}={fmt(result.test_metrics[m])}" for m in shown)
                  + f"  (popularity {metric}={fmt(result.baseline[metric])})")
    if result.version is not None:
        console.print(f"best: {result.best.params} -> registered as version {result.version} "
                      "(alias challenger); `mlwb models promote` decides if it becomes champion")
