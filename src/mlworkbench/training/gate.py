"""The champion/challenger gate: the one place that moves ``champion``.

Both versions are scored on the same holdout of the latest data (not on the numbers
stored at their training time), with the same code that scores every run of their
family. ``champion`` moves only when the challenger wins by at least ``min_gain``; either
way the decision, both scores and the reason are written as tags on the challenger
version. The first version a model ever gets becomes champion here too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mlflow.tracking import MlflowClient

from mlworkbench.config import CHALLENGER_ALIAS, CHAMPION_ALIAS, Settings, get_settings
from mlworkbench.data.datasets import Dataset
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking import registry
from mlworkbench.training.family import Trainer
from mlworkbench.training.splits import check_split

TAG = "promotion."


@dataclass(frozen=True)
class Decision:
    name: str
    metric: str
    challenger: int
    champion: int | None
    challenger_score: float | None
    champion_score: float | None
    promoted: bool
    reason: str
    dry_run: bool

    @property
    def gain(self) -> float | None:
        if self.challenger_score is None or self.champion_score is None:
            return None
        return self.challenger_score - self.champion_score


def first_champion(client: MlflowClient, name: str, version: int) -> int:
    """The champion after ``version`` was registered: ``version`` itself if there was none."""
    champion = registry.alias_version(client, name, CHAMPION_ALIAS)
    if champion is not None:
        return champion
    _record(client, Decision(name, "", version, None, None, None, True,
                             "no champion yet: the first version becomes champion", False))
    return version


def promote(
    trainer: Trainer,
    name: str | None = None,
    metric: str | None = None,
    min_gain: float = 0.0,
    dry_run: bool = False,
    settings: Settings | None = None,
    data: Dataset | None = None,
    split: str = "random",
    k: int = 10,
) -> Decision:
    """Compare ``challenger`` with ``champion`` on the current holdout; move ``champion`` if won."""
    settings = settings or get_settings()
    name = name or trainer.model_name(settings)
    metric = metric or trainer.default_metric
    check_split(split, 0.2)
    names = trainer.metric_names(k)
    if metric not in names:
        raise InvalidParameterError("metric", "promote", f"one of {names}", metric)
    if not min_gain >= 0.0:
        raise InvalidParameterError("min_gain", "promote", "a number >= 0", min_gain)
    client = tracking.configure(settings)
    champion = registry.alias_version(client, name, CHAMPION_ALIAS)
    challenger = registry.alias_version(client, name, CHALLENGER_ALIAS)
    if challenger is None and champion is None:  # the first version ever becomes champion
        versions = registry.list_versions(client, name)
        if not versions:
            raise ModelNotFoundError(f"model {name!r} has no versions: train one first")
        challenger = versions[-1].version
    if challenger is None:
        raise ModelNotFoundError(
            f"model {name!r} has no {CHALLENGER_ALIAS!r} alias: run `mlwb tune {trainer.name}` "
            "or set one with the registry")
    if champion is None or champion == challenger:
        reason = ("no champion yet: the first candidate becomes champion" if champion is None
                  else "the challenger already is the champion")
        decision = Decision(name, metric, challenger, champion, None, None,
                            champion is None, reason, dry_run)
        return _record(client, decision) if champion is None else decision

    data = data or trainer.load_data(settings)
    models = {version: trainer.load_model(f"models:/{name}/{version}")
              for version in (challenger, champion)}
    scores = {version: metrics[metric] for version, metrics in
              trainer.gate_scores(models, data, settings, split, k).items()}
    gain = scores[challenger] - scores[champion]
    promoted = gain > 0 and gain >= min_gain
    verdict = "beats" if promoted else "does not beat"
    reason = (f"challenger {metric}={scores[challenger]:.4f} {verdict} champion "
              f"{scores[champion]:.4f} by at least {min_gain:g} (gain {gain:+.4f}) on the "
              f"{split} holdout of data {data.digest}")
    decision = Decision(name, metric, challenger, champion, scores[challenger],
                        scores[champion], promoted, reason, dry_run)
    return _record(client, decision)


def _score_tag(score: float | None) -> str:
    return "" if score is None else f"{score:.6f}"


def _record(client: MlflowClient, decision: Decision) -> Decision:
    if decision.dry_run:
        return decision
    tags = {
        "decision": "promoted" if decision.promoted else "rejected",
        "reason": decision.reason,
        "metric": decision.metric,
        "compared_against": "" if decision.champion is None else str(decision.champion),
        "challenger_score": _score_tag(decision.challenger_score),
        "champion_score": _score_tag(decision.champion_score),
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    version = str(decision.challenger)
    with tracking.translated(f"record the promotion decision on version {version}"):
        for key, value in tags.items():
            client.set_model_version_tag(decision.name, version, TAG + key, value)
        if decision.promoted:
            client.set_registered_model_alias(decision.name, CHAMPION_ALIAS, version)
            if registry.alias_version(client, decision.name, CHALLENGER_ALIAS) is not None:
                client.delete_registered_model_alias(decision.name, CHALLENGER_ALIAS)
    return decision
