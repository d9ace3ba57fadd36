"""A family's facts cost no import of its parts; each part, asked for, loads alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mlworkbench.config import Settings
from mlworkbench.families import FAMILIES, get

# what a family's parts bring in: MLflow, scikit-learn, Evidently, and the layers below them
HEAVY = ("mlflow", "sklearn", "evidently", "matplotlib", "fastapi", "mlworkbench.models",
         "mlworkbench.training", "mlworkbench.serving", "mlworkbench.monitoring")


def _loaded_after(code: str) -> list[str]:
    """The modules of HEAVY a fresh interpreter holds after running ``code``."""
    script = (f"import sys, json\n{code}\n"
              f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_every_fact_of_every_family_is_asked_without_importing_its_parts() -> None:
    assert _loaded_after(
        "from mlworkbench import families\n"
        "from mlworkbench.config import Settings\n"
        "settings = Settings()\n"
        "for family in families.FAMILIES.values():\n"
        "    name = family.model_name(settings)\n"
        "    print(family.name, family.flavor, family.port(settings), family.port_setting,\n"
        "          family.data_kind, name, families.for_model(settings, name).name,\n"
        "          families.of_reference(settings, f'models:/{name}@champion').name)\n"
    ) == []


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_its_served_part_loads_without_training_or_monitoring(name: str) -> None:
    loaded = _loaded_after(f"from mlworkbench.families import get\nget({name!r}).served")
    assert "mlworkbench.serving" in loaded
    assert not {"mlworkbench.training", "mlworkbench.monitoring"} & set(loaded)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_its_parts_are_its_own(name: str) -> None:
    family = get(name)
    assert family.trainer.name == family.served.name == name
    assert family.monitor.__module__ == f"mlworkbench.monitoring.run_{name}"
    assert family.trainer is family.trainer  # one object, however often asked


def test_only_the_recommender_has_shadow_evidence() -> None:
    from mlworkbench.monitoring.shadow_evidence import read_shadow_evidence

    assert get("recommender").shadow_evidence is read_shadow_evidence
    assert get("classifier").shadow_evidence is None


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_the_family_and_its_trainer_register_the_same_model(name: str) -> None:
    settings = Settings(recommender_model_name="recs", classifier_model_name="survival")
    family = get(name)
    expected = {"recommender": "recs", "classifier": "survival"}[name]
    assert family.model_name(settings) == family.trainer.model_name(settings) == expected
