"""``mlwb train ...``: one tracked training run."""

from __future__ import annotations

import typer

from mlworkbench.cli.output import console, fmt, stage_progress, table

app = typer.Typer(help="Train a model, log it to MLflow and register it.", no_args_is_help=True)


@app.command("recommender")
def recommender(
    model: str = typer.Option("als", help="Engine: als, bpr or popularity."),
    factors: int | None = typer.Option(None, help="Latent factors (default 64)."),
    iterations: int | None = typer.Option(None, help="Iterations (ALS 15, BPR 100)."),
    regularization: float | None = typer.Option(None, help="L2 regularisation."),
    alpha: float | None = typer.Option(None, help="ALS confidence per rating unit."),
    learning_rate: float | None = typer.Option(None, help="BPR learning rate."),
    split: str = typer.Option("random", help="Holdout: random (seeded) or temporal."),
    test_fraction: float = typer.Option(0.2, help="Share of each user's ratings held out."),
    k: int = typer.Option(10, help="Cut-off of the ranking metrics."),
    register: bool = typer.Option(True, help="Register the model in the registry."),
    snapshot: str | None = typer.Option(
        None, help="Train on this named data snapshot (`mlwb data snapshot NAME`), "
        "not the latest data."),
) -> None:
    """Train a recommender on the store's latest data (MovieLens on first use) or a named
    snapshot; evaluate it against popularity, log and register it."""
    from mlworkbench.config import get_settings
    from mlworkbench.data.ingest import training_snapshot
    from mlworkbench.training.train import BASELINE, TrainRequest, train_recommender

    given = {"factors": factors, "iterations": iterations, "regularization": regularization,
             "alpha": alpha, "learning_rate": learning_rate}
    request = TrainRequest(
        model=model, params={name: v for name, v in given.items() if v is not None},
        split=split, test_fraction=test_fraction, k=k, register=register,
    ).validated()
    with stage_progress() as progress:
        data = training_snapshot(get_settings(), snapshot) if snapshot else None
        result = train_recommender(request, progress=progress, data=data)
    rows = [
        [name, fmt(value), fmt(result.baseline.metrics[name])]
        for name, value in result.metrics.items()
    ]
    console.print(table(f"{model} vs {BASELINE} ({split} holdout, "
                        f"{result.evaluation.users} users)", ["metric", model, BASELINE], rows))
    console.print(f"run      {result.run_id}  (data digest {result.dataset_digest})")
    if result.version is not None:
        note = "champion" if result.champion_version == result.version else (
            f"champion stays at version {result.champion_version}")
        console.print(f"model    {result.registered_name} version {result.version} ({note})")
    seconds = "  ".join(f"{key.removesuffix('_seconds')} {value:.2f}s"
                        for key, value in result.seconds.items())
    console.print(f"timings  {seconds}")
