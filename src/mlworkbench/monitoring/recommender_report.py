"""The recommender's monitoring report: input drift, output drift, quality, and a verdict.

- **input** (interactions of each window, one row per interaction): rating; the item's
  popularity (log of its reference count, 0 for items the reference never saw); the
  user's activity (interactions per user within chunks of equal size in both windows, so
  a 1,000-row batch is compared with 1,000-row slices of the reference); and whether user
  and item are known to the reference, tested as shares.
- **output** (the top-k lists of each window): the recommended items' popularity, and
  Evidently's personalization, novelty, popularity bias (ARP, coverage), and diversity
  over genres, each tested against the reference lists within a relative tolerance.
- **quality** (only where later interactions exist): precision, recall, NDCG and hit rate
  @k of what was served; tested against the reference's quality when it has one.

Drift is measured with distances (normed Wasserstein), whichever the size of the window:
Evidently's default switches to p-value tests on small samples, whose scores point the
other way (drift when *below* the threshold). Thresholds are in :class:`Thresholds`,
calibrated as the README says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlworkbench.errors import DataError, InvalidParameterError
from mlworkbench.monitoring import evidence
from mlworkbench.monitoring.recsys_frames import (
    genre_features,
    input_frame,
    quality_frame,
    ranking_frame,
    sample_users,
)
from mlworkbench.monitoring.verdict import MonitoringResult, TestOutcome

MAX_OUTPUT_USERS = 2_000  # personalization is pairwise: lists of at most this many users
# diversity is pairwise over the items served: a mean over this many users' lists (sampled
# with a fixed seed) keeps its distance matrix small when the lists spread over the catalogue
MAX_DIVERSITY_USERS = 300


@dataclass(frozen=True)
class Thresholds:
    """Calibrated on MovieLens replayed by time (README, "Monitoring"): the next window
    after the training window passes, the simulator's strong drift fails."""

    rating: float = 0.5  # normed Wasserstein distances above which a column has drifted
    item_popularity: float = 1.2
    user_activity: float = 0.8
    unknown_users: float = 0.99  # share of current interactions by users the reference lacks
    unknown_items: float = 0.35  # ... on items the reference lacks
    output_relative: float = 0.5  # output statistics may move this much from the reference
    quality_relative: float = 0.3  # quality may fall this much below the reference's


@dataclass(frozen=True)
class RecommenderWindow:
    """What one window holds; ``served`` and ``later`` are optional."""

    interactions: pd.DataFrame  # user_id, item_id, rating, timestamp
    served: pd.DataFrame | None = None  # user_id, rank (1-based), item_id: the top-k lists
    later: pd.DataFrame | None = None  # user_id, item_id: what users did after being served


def _check(window: RecommenderWindow, name: str) -> None:
    if window.interactions.empty:
        raise DataError(f"the {name} window holds no interactions: choose batches or a time "
                        "range that has some")


class RecommenderReport:
    """Computes the three parts for a reference and a current window."""

    def __init__(self, items: pd.DataFrame, k: int = 10,
                 thresholds: Thresholds | None = None) -> None:
        if k < 1:
            raise InvalidParameterError("k", "the recommender report", "an integer >= 1", k)
        self.k = k
        self.thresholds = thresholds or Thresholds()
        self.genres = genre_features(items)

    def run(self, reference: RecommenderWindow, current: RecommenderWindow) -> MonitoringResult:
        _check(reference, "reference")
        _check(current, "current")
        result = MonitoringResult(family="recommender")
        self._input(result, reference.interactions, current.interactions)
        if reference.served is not None and current.served is not None:
            self._output(result, reference, current)
        if current.served is not None and current.later is not None:
            self._quality(result, reference, current)
        return result

    def _input(self, result: MonitoringResult, reference: pd.DataFrame,
               current: pd.DataFrame) -> None:
        from evidently import DataDefinition
        from evidently.metrics import CategoryCount, ValueDrift
        from evidently.tests import lte

        chunk = min(len(current), 1_000)
        ref, cur = input_frame(reference, reference, chunk), input_frame(current, reference, chunk)
        t = self.thresholds
        columns = {"rating": t.rating, "item_popularity": t.item_popularity,
                   "user_activity": t.user_activity}
        metrics = [ValueDrift(column=c, method="wasserstein", threshold=threshold)
                   for c, threshold in columns.items()]
        metrics += [CategoryCount(column="user_status", category="unknown",
                                  share_tests=[lte(t.unknown_users)]),
                    CategoryCount(column="item_status", category="unknown",
                                  share_tests=[lte(t.unknown_items)])]
        definition = DataDefinition(numerical_columns=["rating", "item_popularity",
                                                       "user_activity"],
                                    categorical_columns=["user_status", "item_status"])
        snapshot, tests = evidence.run_report(metrics, cur, ref, definition, "drift",
                                              name="recommender input")
        found = evidence.values(snapshot)
        numbers = {f"input_drift_{c}": float(found[f"ValueDrift(column={c},method=wasserstein,"
                                                   f"threshold={threshold})"])
                   for c, threshold in columns.items()}
        numbers["unknown_user_share"] = float((cur["user_status"] == "unknown").mean())
        numbers["unknown_item_share"] = float((cur["item_status"] == "unknown").mean())
        numbers["input_drift_share"] = float(np.mean([not x.passed for x in tests]))
        numbers["current_interactions"] = float(len(cur))
        result.merge("input", snapshot, tests, numbers)

    def _output(self, result: MonitoringResult, reference: RecommenderWindow,
                current: RecommenderWindow) -> None:
        from evidently import DataDefinition, Recsys
        from evidently.metrics import (
            Novelty,
            Personalization,
            PopularityBiasMetric,
            ValueDrift,
        )
        from evidently.tests import Reference, eq

        k, t = self.k, self.thresholds
        popularity = reference.interactions["item_id"].value_counts()
        cur_served = sample_users(current.served[current.served["rank"] <= k],
                                   MAX_OUTPUT_USERS)
        n_users = cur_served["user_id"].nunique()
        ref_served = sample_users(reference.served[reference.served["rank"] <= k], n_users)
        cur = ranking_frame(cur_served, popularity, self.genres)
        ref = ranking_frame(ref_served, popularity, self.genres)
        train = reference.interactions[["user_id", "item_id"]].reset_index(drop=True)

        def near() -> list:
            return [eq(Reference(relative=t.output_relative))]

        metrics = [
            ValueDrift(column="item_popularity", method="wasserstein",
                       threshold=t.item_popularity),
            Personalization(k=k, tests=near()), Novelty(k=k, tests=near()),
            PopularityBiasMetric(k=k, metric="arp", tests=near()),
            PopularityBiasMetric(k=k, metric="coverage", tests=near())]
        definition = DataDefinition(ranking=[Recsys(recommendations_type="rank")],
                                    numerical_columns=["prediction", "target",
                                                       "item_popularity"])
        columns = ["user_id", "item_id", "prediction", "target", "item_popularity"]
        snapshot, tests = evidence.run_report(
            metrics, cur[columns], ref[columns], definition, "drift", name="recommender output",
            additional={"current_train_data": train, "reference_train_data": train},
            additional_definition=DataDefinition(numerical_columns=["user_id", "item_id"]))
        found = {name.split("(")[0] + ("_" + name.split("metric=")[1].rstrip(")")
                                       if "metric=" in name else ""): value
                 for name, value in evidence.values(snapshot).items()}
        numbers = {
            "output_drift_item_popularity": float(found["ValueDrift"]),
            "personalization": float(found["Personalization"]),
            "novelty": float(found["Novelty"]),
            "popularity_bias_arp": float(found["PopularityBiasMetric_arp"]),
            "coverage": float(found["PopularityBiasMetric_coverage"]),
            "served_users": float(n_users)}
        result.merge("output", snapshot, tests, numbers)
        self._diversity(result, sample_users(ref, MAX_DIVERSITY_USERS),
                        sample_users(cur, MAX_DIVERSITY_USERS))

    def _diversity(self, result: MonitoringResult, ref: pd.DataFrame,
                   cur: pd.DataFrame) -> None:
        """Diversity over genres, in a report of its own: Evidently builds a distance matrix
        over every item it is given (train data included), so it gets the items served to
        the sampled users only (9,000 MovieLens items would make a 9,000 x 9,000 matrix,
        650 MB, and take seconds)."""
        from evidently import DataDefinition, Recsys
        from evidently.metrics import Diversity
        from evidently.tests import Reference, eq

        features = list(self.genres.columns)
        served_items = pd.concat([ref, cur])[["item_id", *features]].drop_duplicates("item_id")
        served_items = served_items.assign(user_id=0)[["user_id", "item_id", *features]]
        definition = DataDefinition(ranking=[Recsys(recommendations_type="rank")],
                                    numerical_columns=["prediction", "target", *features])
        columns = ["user_id", "item_id", "prediction", "target", *features]
        snapshot, tests = evidence.run_report(
            [Diversity(k=self.k, item_features=features,
                       tests=[eq(Reference(relative=self.thresholds.output_relative))])],
            cur[columns], ref[columns], definition, "drift", name="recommender diversity",
            additional={"current_train_data": served_items,
                        "reference_train_data": served_items},
            additional_definition=DataDefinition(numerical_columns=["user_id", "item_id",
                                                                    *features]))
        (value,) = evidence.values(snapshot).values()
        result.merge("diversity", snapshot, tests, {"diversity": float(value)})

    def quality(self, window: RecommenderWindow) -> tuple[object, dict[str, float]]:
        """Evidently's precision, recall, NDCG and hit rate @k of a window's served lists."""
        from evidently import DataDefinition, Recsys
        from evidently.metrics import NDCG, HitRate, PrecisionTopK, RecallTopK

        frame = quality_frame(window.served, window.later, self.k)
        if frame is None:
            raise DataError("no served user did anything afterwards: there is nothing to judge "
                            "quality on in this window")
        definition = DataDefinition(ranking=[Recsys(recommendations_type="rank")],
                                    numerical_columns=["prediction", "target"])
        metrics = [PrecisionTopK(k=self.k), RecallTopK(k=self.k), NDCG(k=self.k),
                   HitRate(k=self.k)]
        snapshot, _ = evidence.run_report(metrics, frame, None, definition, "quality",
                                          name="recommender quality")
        values = list(evidence.values(snapshot).values())
        names = ("precision", "recall", "ndcg", "hit_rate")
        return snapshot, {f"{name}_at_{self.k}": evidence.table_at(value, self.k)
                          for name, value in zip(names, values, strict=True)}

    def _quality(self, result: MonitoringResult, reference: RecommenderWindow,
                 current: RecommenderWindow) -> None:
        snapshot, numbers = self.quality(current)
        tests: list[TestOutcome] = []
        if reference.served is not None and reference.later is not None:
            _, baseline = self.quality(reference)
            for name, value in list(numbers.items()):
                floor = baseline[name] * (1 - self.thresholds.quality_relative)
                tests.append(TestOutcome(
                    name=f"{name} >= {floor:.3f} (reference {baseline[name]:.3f} "
                         f"- {self.thresholds.quality_relative:.0%})",
                    kind="quality", passed=value >= floor,
                    description=f"current {value:.3f}"))
                numbers[f"reference_{name}"] = baseline[name]
        result.merge("quality", snapshot, tests, numbers)
