"""``mlwb tune recommender|classifier``: grid search with nested MLflow runs; the best becomes
``challenger``."""

from __future__ import annotations

from pathlib import Path

import typer

from mlworkbench.cli.output import console, fmt, stage_progress, table

app = typer.Typer(help="Grid-search hyperparameters; register the best as challenger.",
                  no_args_is_help=True)

GRID = typer.Option([], "--grid", help="name=v1,v2,... ; repeat per parameter.")
GRID_FILE = typer.Option(None, help="YAML mapping of name: [values].")
PARALLEL = typer.Option(1, help="Trials at once (processes; threads share the cores).")
REGISTER = typer.Option(True, help="Register the best model as challenger.")
SNAPSHOT = typer.Option(None, help="Tune on this named data snapshot.")


def run(family_name: str, model: str, grid: list[str], grid_file: Path | None,
        metric: str | None, parallel: int, split: str, k: int, register: bool,
        snapshot: str | None) -> None:
    """Train every grid combination on the same split; print the results sorted by METRIC."""
    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.training.grid import build_grid
    from mlworkbench.training.tune import TuneRequest, tune

    trainer = families.get(family_name).trainer
    request = TuneRequest(
        grid=build_grid(lambda params: trainer.validate_params(model, params), grid,
                        grid_file),
        model=model, metric=metric, split=split, k=k, parallel=parallel, register=register,
    ).validated(trainer)
    metric = request.metric or trainer.default_metric
    with stage_progress() as progress:
        data = trainer.load_data(get_settings(), snapshot) if snapshot else None
        result = tune(trainer, request, progress=progress, data=data)
    names = list(request.grid)
    shown = [metric] + [m for m in trainer.metric_names(k)[:2] if m != metric]
    rows = [[rank, *(t.params[n] for n in names), *(fmt(t.metrics[m]) for m in shown),
             f"{t.fit_seconds:.2f}"] for rank, t in enumerate(result.trials, start=1)]
    console.print(table(f"{len(rows)} trials ranked on validation, best first "
                        f"(parent run {result.parent_run_id})",
                        ["#", *names, *(f"val {m}" for m in shown), "fit s"], rows))
    console.print("best refitted on the train part, scored once on the test holdout: "
                  + "  ".join(f"{m}={fmt(result.test_metrics[m])}" for m in shown)
                  + f"  ({trainer.baseline} {metric}={fmt(result.baseline[metric])})")
    if result.version is not None:
        console.print(f"best: {result.best.params} -> registered as version {result.version} "
                      "(alias challenger); `mlwb models promote` decides if it becomes champion")


@app.command("recommender")
def recommender(
    grid: list[str] = GRID,
    grid_file: Path | None = GRID_FILE,
    model: str = typer.Option("als", help="Engine: als, bpr or popularity."),
    metric: str = typer.Option("ndcg_at_10", help="Metric that picks the best trial."),
    parallel: int = PARALLEL,
    split: str = typer.Option("random", help="Holdout: random (seeded) or temporal."),
    k: int = typer.Option(10, help="Cut-off of the ranking metrics."),
    register: bool = REGISTER,
    snapshot: str | None = SNAPSHOT,
    engine: str = typer.Option("implicit", help="Who fits the trials: implicit or spark."),
) -> None:
    """Grid-search a recommender engine, ranked on a validation split inside the train part."""
    _one_spark_fit_at_a_time(engine, grid, parallel)
    grid = grid if engine == "implicit" else [*grid, f"engine={engine}"]
    run("recommender", model, grid, grid_file, metric, parallel, split, k, register, snapshot)


def _one_spark_fit_at_a_time(engine: str, grid: list[str], parallel: int) -> None:
    """Spark spreads one fit over every core of its cluster: trials side by side only compete."""
    engines = {engine} | {value.strip() for entry in grid if entry.partition("=")[0].strip()
                          == "engine" for value in entry.partition("=")[2].split(",")}
    if parallel > 1 and "spark" in engines:
        from mlworkbench.errors import InvalidParameterError

        raise InvalidParameterError(
            "parallel", "tune --engine spark", "1 (Spark parallelises inside one fit; give it "
            "more cores with MLWB_SPARK_MASTER=local[N] or a cluster)", parallel)


@app.command("classifier")
def classifier(
    grid: list[str] = GRID,
    grid_file: Path | None = GRID_FILE,
    model: str = typer.Option("logreg", help="logreg or gbm."),
    metric: str = typer.Option("roc_auc", help="Metric that picks the best trial."),
    parallel: int = PARALLEL,
    register: bool = REGISTER,
    snapshot: str | None = SNAPSHOT,
) -> None:
    """Grid-search the classifier (seed 004), ranked on a stratified validation split inside
    the train part; the best is refitted and scored once on the test holdout."""
    run("classifier", model, grid, grid_file, metric, parallel, "random", 10, register,
        snapshot)
