"""``mlwb pipeline ...``: run the continuous-training loop and read its records."""

from __future__ import annotations

import datetime as dt
import json

import typer

from mlworkbench.cli.output import console, fmt, table

app = typer.Typer(help="The continuous-training loop: check, retrain, gate, promote, verify.",
                  no_args_is_help=True)

EXIT_KEPT, EXIT_SKIPPED, EXIT_FAILED = 3, 0, 1


def _family(model: str | None) -> str:
    """A family name from --model: a family (recommender, classifier) or a registered name."""
    from mlworkbench import families
    from mlworkbench.config import get_settings

    if model is None:
        return "recommender"
    if model in families.FAMILIES:
        return model
    return families.for_model(get_settings(), model).name


@app.command("run")
def run(
    model: str | None = typer.Option(None, "--model", "-m",
                                     help="Family (recommender, classifier) or registered "
                                          "model name (default: the recommender)."),
    force: bool = typer.Option(False, help="Retrain even when nothing changed; ignore the "
                                           "cooldown and the retry budget (not the lock)."),
    trigger: str = typer.Option("manual", help="Who asks, as recorded (manual, schedule...)."),
    grid: str | None = typer.Option(None, help='Tune over a JSON grid instead of retraining '
                                               'with the champion\'s parameters, e.g. '
                                               '\'{"factors": [32, 64]}\'.'),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """One run: check -> snapshot -> retrain -> gate -> promote -> verify -> record.

    With MLWB_GATE_SHADOW_MIN_LISTS > 0 a retrain ends "shadowing" (the service shadows the
    new challenger) and a later run judges its online evidence: "waiting" until enough
    lists are judged, then the gate. Exit code: 0 promoted, shadowing, waiting or skipped
    (nothing to do, cooldown, lock), 3 champion kept, 1 failed (the step is named).
    """
    from mlworkbench.config import get_settings
    from mlworkbench.errors import InvalidParameterError
    from mlworkbench.pipelines.continuous import run_pipeline

    family = _family(model)
    parsed = None
    if grid is not None:
        try:
            parsed = json.loads(grid)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not all(isinstance(v, list) for v in parsed.values()):
            raise InvalidParameterError("grid", "pipeline run", "a JSON object of lists",
                                        grid)

    def report(step: str, output: dict) -> None:
        if not as_json:
            console.print(f"{step}: {output.get('reason') or output.get('note') or 'done'}",
                          soft_wrap=True)

    result = run_pipeline(get_settings(), family, trigger=trigger, force=force,
                          progress=report, grid=parsed)
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
    else:
        console.print(f"{result.model_name}: {result.outcome} (version {result.version_before} "
                      f"-> {result.version_after}) in {result.seconds:.1f} s; "
                      f"{result.reason}", soft_wrap=True)
        if result.run_id:
            console.print(f"recorded as run {result.run_id} in experiment continuous-training")
    if result.outcome == "kept":
        raise typer.Exit(EXIT_KEPT)
    if result.outcome == "failed":
        raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_runs(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this family or model."),
    limit: int = typer.Option(20, min=1, max=1000, help="Newest runs shown, at most."),
) -> None:
    """The newest pipeline runs: trigger, outcome, versions, each step's outcome and seconds."""
    from mlworkbench import families
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.records import list_runs as read_runs
    from mlworkbench.pipelines.steps import STEPS

    settings = get_settings()
    name = families.get(_family(model)).model_name(settings) if model else None
    runs = read_runs(settings, name, limit)
    if not runs:
        console.print("no pipeline runs yet: `mlwb pipeline run`")
        return
    rows = [[dt.datetime.fromtimestamp(run["started_ms"] / 1000).strftime("%Y-%m-%d %H:%M:%S"),
             run.get("model_name"), run.get("trigger"), run.get("outcome"),
             f"{run.get('version_before') or '-'} -> {run.get('version_after') or '-'}",
             _steps(run["steps"], STEPS),
             fmt(run.get("seconds"), 1), run.get("failed_step") or "", run["run_id"]]
            for run in runs]
    console.print(table("pipeline runs (experiment continuous-training)",
                        ["started", "model", "trigger", "outcome", "versions", "steps",
                         "seconds", "failed at", "run id"], rows))
    for run in runs:
        console.print(f"{run['run_id']}: {run.get('reason', '')}", soft_wrap=True)


def _steps(steps: dict, order: tuple[str, ...]) -> str:
    return " ".join(f"{step}:{steps[step]['outcome']}({fmt(steps[step]['seconds'], 1)}s)"
                    for step in order if step in steps)


@app.command("canary")
def canary(
    model: str | None = typer.Option(None, "--model", "-m", help="Family or model name."),
) -> None:
    """Judge the newest champion on the users served since its promotion; roll it back when
    its online hit rate is below the previous champion's by more than MLWB_CANARY_MARGIN."""
    from mlworkbench.config import get_settings
    from mlworkbench.pipelines.canary import canary as judge

    outcome = judge(get_settings(), _family(model))
    console.print(f"canary: {outcome['decision']}: {outcome['reason']}", soft_wrap=True)
