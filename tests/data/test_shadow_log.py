"""The shadow-scored requests read back with the champion's rows for the same requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mlworkbench.data import predictions
from mlworkbench.data.shadow_log import shadowed_rows
from mlworkbench.data.store import Store


def _row(request_id: str, role: str, version: int, user: int, at: int = 0) -> dict:
    return {"request_id": request_id, "served_at": datetime.fromtimestamp(10**9 + at, UTC),
            "model_name": "rec", "model_version": version, "role": role, "source": "live",
            "user_id": user, "fallback": None, "items": json.dumps([1, 2]), "scores": "[]"}


def test_both_roles_of_the_shadowed_requests_and_nothing_else(store: Store) -> None:
    engine = predictions.store_engine(store.url)
    try:
        predictions.append_predictions(engine, [
            _row("a", "champion", 1, 7), _row("a", "shadow", 3, 7, at=1),
            _row("b", "champion", 1, 8), _row("b", "champion", 1, 9),
            _row("b", "shadow", 3, 8), _row("b", "shadow", 3, 9),
            _row("c", "champion", 1, 7),  # not shadowed
            _row("d", "champion", 1, 7), _row("d", "shadow", 2, 7),  # another challenger
        ])
        rows = shadowed_rows(engine, "rec", 3)
        none = shadowed_rows(engine, "rec", 4)
    finally:
        predictions.dispose_engines()
    assert list(rows["request_id"]) == ["a", "a", "b", "b", "b", "b"]
    assert list(rows["role"]) == ["champion", "shadow", "champion", "champion", "shadow",
                                  "shadow"]
    assert set(rows.loc[rows["role"] == "shadow", "model_version"]) == {3}
    assert rows["served_at"].tolist()[:2] == [10**9, 10**9 + 1]  # unix seconds
    assert none.empty
