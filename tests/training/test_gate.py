"""The gate's reference window (no forgetting) and its rollback, on the classifier: a
challenger that wins on the current holdout but loses more than the tolerance on the
champion's own data is refused with the reason; rollback moves champion back and says why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from fixtures.workspaces import module_workspace
from mlworkbench.config import Settings
from mlworkbench.errors import InvalidParameterError, ModelNotFoundError
from mlworkbench.tracking import client as tracking
from mlworkbench.tracking.registry import set_alias
from mlworkbench.training.classifier import CLASSIFIER
from mlworkbench.training.gate import OnlineEvidence, promote, rollback
from mlworkbench.training.train import TrainRequest, train

NAME = "titanic-classifier"


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, object]]:
    """Version 1 (champion): a one-split stump; version 2: the default logistic regression."""
    with module_workspace(tmp_path_factory, "gate") as settings:
        stump = train(CLASSIFIER, TrainRequest(model="gbm", params={"max_iter": 1,
                                                                     "max_depth": 1}), settings)
        better = train(CLASSIFIER, settings=settings)
        assert (stump.champion_version, better.version) == (1, 2)
        yield settings, CLASSIFIER.load_data(settings)


def _flipped(data):
    """The same passengers with every label turned round: a window the better model forgets."""
    labels = data.passengers["survived"].map({"survived": "died", "died": "survived"})
    return replace(data, passengers=data.passengers.assign(survived=labels))


def test_a_challenger_worse_on_the_reference_window_is_refused_with_the_reason(
        two_versions) -> None:
    settings, data = two_versions
    decision = promote(CLASSIFIER, NAME, settings=settings, data=data, challenger=2,
                       reference=_flipped(data), tolerance=0.02)
    assert not decision.promoted
    assert decision.gain > 0  # it wins on the current holdout...
    assert decision.reference_champion_score - decision.reference_challenger_score > 0.02
    assert "refused (it forgets)" in decision.reason  # ...and forgets the reference
    client = tracking.configure(settings)
    tags = client.get_model_version(NAME, "2").tags
    assert tags["promotion.decision"] == "rejected" and tags["promotion.reason"] == decision.reason
    assert float(tags["promotion.reference_challenger_score"]) == pytest.approx(
        decision.reference_challenger_score, abs=1e-6)


def test_within_the_tolerance_it_is_promoted_and_rollback_moves_champion_back(
        two_versions) -> None:
    settings, data = two_versions
    decision = promote(CLASSIFIER, NAME, settings=settings, data=data, challenger=2,
                       reference=data, tolerance=0.0)
    assert decision.promoted and "within the tolerance 0" in decision.reason
    back = rollback(NAME, settings=settings, reason="a test says so")
    assert (back.from_version, back.to_version) == (2, 1)
    client = tracking.configure(settings)
    assert int(client.get_registered_model(NAME).aliases["champion"]) == 1
    assert client.get_model_version(NAME, "2").tags["rollback.reason"] == "a test says so"


def test_rollback_refuses_what_it_cannot_do(two_versions) -> None:
    settings, _ = two_versions
    with pytest.raises(ModelNotFoundError, match="replaced no champion: name one with --to"):
        rollback(NAME, settings=settings)  # version 1 replaced nobody
    with pytest.raises(InvalidParameterError, match="a version other than the champion"):
        rollback(NAME, to=1, settings=settings)
    with pytest.raises(InvalidParameterError, match=r"a version of 'titanic-classifier' \(1, 2\)"):
        rollback(NAME, to=7, settings=settings)
    with pytest.raises(InvalidParameterError, match="tolerance"):
        promote(CLASSIFIER, NAME, settings=settings, tolerance=-1)


def test_online_evidence_that_fails_refuses_before_scoring_and_drops_the_challenger(
        two_versions) -> None:
    settings, data = two_versions
    client = tracking.configure(settings)
    assert int(client.get_registered_model(NAME).aliases["champion"]) == 1
    set_alias(client, NAME, "challenger", 2)
    decision = promote(CLASSIFIER, NAME, settings=settings, data=data, challenger=2,
                       online=OnlineEvidence(False, "shadow evidence: it trails"))
    assert not decision.promoted and decision.challenger_score is None
    assert decision.reason == "shadow evidence: it trails: refused before offline scoring"
    aliases = client.get_registered_model(NAME).aliases
    assert int(aliases["champion"]) == 1 and "challenger" not in aliases
    tags = client.get_model_version(NAME, "2").tags
    assert tags["promotion.online_evidence"] == "shadow evidence: it trails"
    assert tags["promotion.decision"] == "rejected"

    set_alias(client, NAME, "challenger", 2)
    decision = promote(CLASSIFIER, NAME, settings=settings, data=data, challenger=2,
                       reference=data, online=OnlineEvidence(True, "shadow evidence: fine"))
    assert decision.promoted and decision.reason.startswith("shadow evidence: fine; challenger ")
    aliases = client.get_registered_model(NAME).aliases
    assert int(aliases["champion"]) == 2 and "challenger" not in aliases
