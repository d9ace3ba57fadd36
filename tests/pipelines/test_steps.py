"""What a step's own process decides from the states earlier steps left: which one is newest,
whether its step is due, and that an idle step exits IDLE without loading the loop.

The states are real turns' JSON (:class:`PipelineResult`), as Airflow passes them on; an idle
step (skipped) leaves None.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlworkbench.pipelines.steps import IDLE, STEPS, due, latest

DAG = Path(__file__).resolve().parents[2] / "deploy/airflow/dags/mlwb_continuous_training.py"


def _turn(next_step: str | None, holder: str | None = "holder-1", **values: Any
          ) -> dict[str, Any]:
    from mlworkbench.pipelines.turn import PipelineResult

    return PipelineResult("classifier", "titanic-classifier", "airflow", holder=holder,
                          next_step=next_step, **values).to_dict()


BEGUN = _turn("check")
CHECKED = _turn("snapshot", steps={"check": {"outcome": "ok"}})
NOTHING_NEW = _turn(None, outcome="skipped", reason="no new data")
REFUSED = _turn(None, holder=None, outcome="skipped", reason="cooldown")


@pytest.mark.parametrize("turns", [[], [None], [None, None, None]])
def test_no_state_left_is_an_empty_turn(turns: list[dict[str, Any] | None]) -> None:
    assert latest(turns) == {}


@pytest.mark.parametrize(("turns", "newest"), [
    ([BEGUN], BEGUN),
    ([BEGUN, CHECKED], CHECKED),  # oldest first: the last task's state wins
    ([BEGUN, CHECKED, None, None], CHECKED),  # idle steps after it pass nothing on
    ([BEGUN, None, CHECKED, None], CHECKED),
    ([None, BEGUN, None], BEGUN),
])
def test_the_newest_state_left_is_the_turn(turns: list[dict[str, Any] | None],
                                           newest: dict[str, Any]) -> None:
    assert latest(turns) is newest


@pytest.mark.parametrize(("turns", "due_steps", "record"), [
    ([BEGUN], ["check"], True),
    ([BEGUN, CHECKED, None], ["snapshot"], True),
    ([BEGUN, NOTHING_NEW, None, None], [], True),  # the check ended it: only record works
    ([REFUSED, None, None], [], False),  # refused at begin: no lock to free, nothing recorded
])
def test_only_the_turns_next_step_and_then_its_record_are_due(
        turns: list[dict[str, Any] | None], due_steps: list[str], record: bool) -> None:
    turn = latest(turns)
    assert [step for step in STEPS if due(turn, step)] == due_steps
    assert due(turn) is record


def test_idle_is_an_exit_status_no_crash_or_success_gives() -> None:
    # 0 success, 1 an uncaught exception, 2 a usage error; above 127 a shell reports signals
    assert IDLE not in (0, 1, 2) and 0 < IDLE < 128


IDLE_STEP = """
import json, sys
from mlworkbench.pipelines.steps import IDLE, due, latest
turn = dict(latest(json.loads(sys.argv[1])))
print(json.dumps(sorted(m for m in ("mlflow", "mlworkbench.families", "pandas", "sqlalchemy")
                        if m in sys.modules)))
if not due(turn, sys.argv[2]):
    sys.exit(IDLE)
"""


@pytest.mark.parametrize(("step", "status"), [("snapshot", IDLE), ("check", 0)])
def test_a_step_process_with_nothing_to_do_exits_idle_having_loaded_nothing_heavy(
        step: str, status: int) -> None:
    done = subprocess.run([sys.executable, "-c", IDLE_STEP, json.dumps([BEGUN, None]), step],
                          capture_output=True, text=True)
    assert done.returncode == status, done.stderr
    assert json.loads(done.stdout) == []


def test_the_dag_keeps_the_steps_and_idle_it_copies() -> None:
    """The DAG file is read where mlworkbench is not installed, so it holds copies."""
    tree = ast.parse(DAG.read_text(), filename=str(DAG))
    copied = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in {"STEPS", "IDLE"}}
    assert copied == {"STEPS": STEPS, "IDLE": IDLE}
