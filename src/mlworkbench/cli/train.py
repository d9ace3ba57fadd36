"""``mlwb train recommender|classifier``: one tracked training run of a model family."""

from __future__ import annotations

import typer

from mlworkbench.cli.output import console, fmt, stage_progress, table

app = typer.Typer(help="Train a model, log it to MLflow and register it.", no_args_is_help=True)

SPLIT_HELP = "Holdout: random (seeded) or temporal."
SNAPSHOT_HELP = ("Train on this named data snapshot (`mlwb data snapshot NAME`), not the "
                 "latest data.")


def run(family_name: str, model: str, params: dict, split: str, test_fraction: float, k: int,
        register: bool, snapshot: str | None) -> None:
    """Train ``family_name``'s model on the store's latest data (or a snapshot) and print the
    comparison with its baseline, the run and the registered version."""
    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.training.train import TrainRequest, train

    trainer = families.get(family_name).trainer
    request = TrainRequest(model=model, params={n: v for n, v in params.items() if v is not None},
                           split=split, test_fraction=test_fraction, k=k,
                           register=register).validated(trainer)
    with stage_progress() as progress:
        data = trainer.load_data(get_settings(), snapshot) if snapshot else None
        result = train(trainer, request, progress=progress, data=data)
    baseline = trainer.baseline
    rows = [[name, fmt(value), fmt(result.baseline.get(name))]
            for name, value in result.metrics.items()]
    console.print(table(f"{model} vs {baseline} ({split} holdout, {result.fitted.evaluated} "
                        f"{trainer.unit})", ["metric", model, baseline], rows))
    console.print(f"run      {result.run_id}  (data digest {result.dataset_digest})")
    if result.version is not None:
        note = "champion" if result.champion_version == result.version else (
            f"champion stays at version {result.champion_version}")
        console.print(f"model    {result.registered_name} version {result.version} ({note})")
    seconds = "  ".join(f"{key.removesuffix('_seconds')} {value:.2f}s"
                        for key, value in result.seconds.items())
    console.print(f"timings  {seconds}")


@app.command("recommender")
def recommender(
    model: str = typer.Option("als", help="Engine: als, bpr or popularity."),
    factors: int | None = typer.Option(None, help="Latent factors (default 64)."),
    iterations: int | None = typer.Option(None, help="Iterations (ALS 15, BPR 100)."),
    regularization: float | None = typer.Option(None, help="L2 regularisation."),
    alpha: float | None = typer.Option(None, help="ALS confidence per rating unit."),
    learning_rate: float | None = typer.Option(None, help="BPR learning rate."),
    split: str = typer.Option("random", help=SPLIT_HELP),
    test_fraction: float = typer.Option(0.2, help="Share of each user's ratings held out."),
    k: int = typer.Option(10, help="Cut-off of the ranking metrics."),
    register: bool = typer.Option(True, help="Register the model in the registry."),
    snapshot: str | None = typer.Option(None, help=SNAPSHOT_HELP),
    engine: str = typer.Option("implicit", help="Who fits it: implicit (this machine) or spark "
                               "(ALS on MLWB_SPARK_MASTER, default local[*])."),
    eval_users: int | None = typer.Option(
        None, help="Score a seeded sample of this many test users (large data)."),
) -> None:
    """Train a recommender on the store's latest data (MovieLens on first use) or a named
    snapshot; evaluate it against popularity, log and register it."""
    run("recommender", model, {"factors": factors, "iterations": iterations,
                               "regularization": regularization, "alpha": alpha,
                               "learning_rate": learning_rate, "eval_users": eval_users,
                               "engine": None if engine == "implicit" else engine},
        split, test_fraction, k, register, snapshot)


@app.command("classifier")
def classifier(
    model: str = typer.Option("logreg", help="logreg (logistic regression) or gbm (histogram "
                                             "gradient boosting)."),
    c: float | None = typer.Option(None, "--C", help="logreg: inverse regularisation."),
    max_iter: int | None = typer.Option(None, help="Iterations (logreg) or trees (gbm)."),
    learning_rate: float | None = typer.Option(None, help="gbm: shrinkage."),
    max_depth: int | None = typer.Option(None, help="gbm: tree depth."),
    min_samples_leaf: int | None = typer.Option(None, help="gbm: passengers per leaf."),
    l2_regularization: float | None = typer.Option(None, help="gbm: L2 penalty."),
    test_fraction: float = typer.Option(0.2, help="Share of passengers held out (stratified)."),
    register: bool = typer.Option(True, help="Register the model in the registry."),
    snapshot: str | None = typer.Option(None, help=SNAPSHOT_HELP),
) -> None:
    """Train a Titanic survival classifier on the store's labelled passengers (Titanic on first
    use); score it against the sex-only rule on a stratified holdout and by 5-fold CV."""
    run("classifier", model, {"C": c, "max_iter": max_iter, "learning_rate": learning_rate,
                              "max_depth": max_depth, "min_samples_leaf": min_samples_leaf,
                              "l2_regularization": l2_regularization},
        "random", test_fraction, 10, register, snapshot)
