"""The champion/challenger gate: the one place that moves ``champion``.

Both versions are scored on the same holdout of the latest data (not on the numbers
stored at their training time), with the same code that scores every run of their
family. ``champion`` moves only when the challenger wins by at least ``min_gain``; either
way the decision, both scores and the reason are written as tags on the challenger
version. The first version a model ever gets becomes champion here too.

Given a reference window (what the champion was trained on), both versions are also scored
there, and a challenger more than ``tolerance`` worse on it is refused even when it wins on
the current holdout: a new version must not forget what the old one knew. :func:`rollback`
moves ``champion`` back (by hand, or when a served version fails its checks), so this module
stays the one place that moves it.

Online evidence (what a challenger's shadow lists did with live users) is judged outside this
layer and handed in as an :class:`OnlineEvidence`: when given, a challenger it does not support
is refused before any offline scoring, and one it supports still has to win offline; either
way the reason says so, and a refused challenger loses its ``challenger`` alias (the service
stops shadowing it).
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
    reference_challenger_score: float | None = None  # on the reference window, when given
    reference_champion_score: float | None = None
    online_evidence: str | None = None  # the shadow evidence's verdict, when one was required

    @property
    def gain(self) -> float | None:
        if self.challenger_score is None or self.champion_score is None:
            return None
        return self.challenger_score - self.champion_score


@dataclass(frozen=True)
class OnlineEvidence:
    """The verdict on a challenger's online (shadow) evidence, for the gate to weigh."""

    passed: bool
    reason: str


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
    reference: Dataset | None = None,
    tolerance: float = 0.0,
    challenger: int | None = None,
    online: OnlineEvidence | None = None,
) -> Decision:
    """Compare ``challenger`` with ``champion`` on the current holdout; move ``champion`` if won.

    ``reference``: the champion's training data; the challenger may be at most ``tolerance``
    worse there. ``challenger``: this version instead of the one the alias names.
    ``online``: the verdict on its shadow evidence, required to pass when given.
    """
    settings = settings or get_settings()
    name = name or trainer.model_name(settings)
    metric = metric or trainer.default_metric
    check_split(split, 0.2)
    names = trainer.metric_names(k)
    if metric not in names:
        raise InvalidParameterError("metric", "promote", f"one of {names}", metric)
    if not min_gain >= 0.0:
        raise InvalidParameterError("min_gain", "promote", "a number >= 0", min_gain)
    if not tolerance >= 0.0:
        raise InvalidParameterError("tolerance", "promote", "a number >= 0", tolerance)
    client = tracking.configure(settings)
    champion = registry.alias_version(client, name, CHAMPION_ALIAS)
    if challenger is None:
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

    if online is not None and not online.passed:
        decision = Decision(name, metric, challenger, champion, None, None, False,
                            f"{online.reason}: refused before offline scoring", dry_run,
                            online_evidence=online.reason)
        return _record(client, decision, drop_challenger=True)
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
    on_reference: dict[int, float] = {}
    if reference is not None:
        on_reference = {version: metrics[metric] for version, metrics in
                        trainer.gate_scores(models, reference, settings, split, k).items()}
        loss = on_reference[champion] - on_reference[challenger]
        kept = loss <= tolerance
        reason += (f"; on the reference window (the champion's data {reference.digest}) "
                   f"{on_reference[challenger]:.4f} vs {on_reference[champion]:.4f}: "
                   + (f"within the tolerance {tolerance:g}" if kept else
                      f"worse by {loss:.4f} > tolerance {tolerance:g}: refused (it forgets)"))
        promoted = promoted and kept
    if online is not None:
        reason = f"{online.reason}; {reason}"
    decision = Decision(name, metric, challenger, champion, scores[challenger],
                        scores[champion], promoted, reason, dry_run,
                        on_reference.get(challenger), on_reference.get(champion),
                        None if online is None else online.reason)
    return _record(client, decision, drop_challenger=online is not None)


def _score_tag(score: float | None) -> str:
    return "" if score is None else f"{score:.6f}"


def _record(client: MlflowClient, decision: Decision, drop_challenger: bool = False
            ) -> Decision:
    """Tag the decision on the challenger; move ``champion`` when promoted. The
    ``challenger`` alias goes when promoted, or when ``drop_challenger`` and it still names
    this version (a refused challenger the service shadowed)."""
    if decision.dry_run:
        return decision
    tags = {
        "decision": "promoted" if decision.promoted else "rejected",
        "reason": decision.reason,
        "metric": decision.metric,
        "compared_against": "" if decision.champion is None else str(decision.champion),
        "challenger_score": _score_tag(decision.challenger_score),
        "champion_score": _score_tag(decision.champion_score),
        "reference_challenger_score": _score_tag(decision.reference_challenger_score),
        "reference_champion_score": _score_tag(decision.reference_champion_score),
        "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    if decision.online_evidence is not None:
        tags["online_evidence"] = decision.online_evidence
    version = str(decision.challenger)
    with tracking.translated(f"record the promotion decision on version {version}"):
        for key, value in tags.items():
            client.set_model_version_tag(decision.name, version, TAG + key, value)
        if decision.promoted:
            client.set_registered_model_alias(decision.name, CHAMPION_ALIAS, version)
        named = registry.alias_version(client, decision.name, CHALLENGER_ALIAS)
        if named is not None and (decision.promoted or (
                drop_challenger and named == decision.challenger)):
            client.delete_registered_model_alias(decision.name, CHALLENGER_ALIAS)
    return decision


@dataclass(frozen=True)
class Rollback:
    name: str
    from_version: int
    to_version: int
    reason: str


def rollback(name: str, to: int | None = None, reason: str = "rolled back by hand",
             settings: Settings | None = None) -> Rollback:
    """Move ``champion`` of ``name`` back to ``to`` (default: the version the current
    champion replaced, from its ``promotion.compared_against`` tag); the demoted version
    is tagged ``rollback.*`` with the reason, and services polling the alias follow."""
    settings = settings or get_settings()
    client = tracking.configure(settings)
    current = registry.alias_version(client, name, CHAMPION_ALIAS)
    if current is None:
        raise ModelNotFoundError(f"model {name!r} has no {CHAMPION_ALIAS!r}: nothing to roll back")
    if to is None:
        with tracking.translated(f"read version {current} of {name!r}"):
            previous = client.get_model_version(name, str(current)).tags.get(
                TAG + "compared_against", "")
        if not previous:
            raise ModelNotFoundError(
                f"version {current} of {name!r} replaced no champion: name one with --to")
        to = int(previous)
    known = {v.version for v in registry.list_versions(client, name)}
    if to not in known:
        raise InvalidParameterError("to", "rollback", f"a version of {name!r} "
                                    f"({', '.join(map(str, sorted(known)))})", to)
    if to == current:
        raise InvalidParameterError("to", "rollback", f"a version other than the champion "
                                    f"({current})", to)
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with tracking.translated(f"roll {name!r} back to version {to}"):
        client.set_registered_model_alias(name, CHAMPION_ALIAS, str(to))
        client.set_model_version_tag(name, str(current), "rollback.reason", reason)
        client.set_model_version_tag(name, str(current), "rollback.to", str(to))
        client.set_model_version_tag(name, str(current), "rollback.at", at)
        client.set_model_version_tag(name, str(to), "rollback.restored_at", at)
    return Rollback(name, current, to, reason)
