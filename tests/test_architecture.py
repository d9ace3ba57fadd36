"""The import arrows of ARCHITECTURE.md, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mlworkbench"

# Lower layers first; a module may import its own layer and any layer before it.
LAYERS = [
    {"errors"},
    {"config"},
    {"web"},
    {"tracking"},
    {"data"},
    {"models"},
    {"training"},
    {"serving", "monitoring"},
    {"families"},
    {"pipelines"},
    {"platform", "cli"},
]
RANK = {name: index for index, layer in enumerate(LAYERS) for name in layer}


def _layer(module_path: Path) -> str:
    parts = module_path.relative_to(SRC).with_suffix("").parts
    return parts[0]


def _imports(module_path: Path) -> list[str]:
    tree = ast.parse(module_path.read_text(), filename=str(module_path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlworkbench"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("mlworkbench")]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "part" and node.args
              and isinstance(node.args[0], ast.Constant)):  # families' lazily loaded parts
            found.append(node.args[0].value)
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if p.name != "__init__.py" or p.parent != SRC)


@pytest.mark.parametrize("module_path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_flow_one_way(module_path: Path) -> None:
    own = _layer(module_path)
    for imported in _imports(module_path):
        parts = imported.split(".")
        if len(parts) < 2:
            continue
        target = parts[1]
        assert target in RANK, f"{imported} is in no layer of ARCHITECTURE.md"
        assert RANK[target] <= RANK[own], f"{module_path.name} ({own}) imports upward: {imported}"
        if own == "serving":
            assert target not in {"training", "monitoring"}, f"serving imports {imported}"


@pytest.mark.parametrize(
    "module_path",
    [p for p in (SRC / "models").rglob("*.py") if not p.name.startswith("pyfunc")],
    ids=lambda p: p.name,
)
def test_models_do_not_know_mlflow(module_path: Path) -> None:
    tree = ast.parse(module_path.read_text())
    nodes = list(ast.walk(tree))
    names = [alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names]
    names += [node.module or "" for node in nodes if isinstance(node, ast.ImportFrom)]
    assert not [name for name in names if name.split(".")[0] == "mlflow"]


def test_every_layer_module_is_known() -> None:
    top_level = {p.stem if p.is_file() else p.name for p in SRC.iterdir()
                 if not p.name.startswith("__")}
    assert top_level <= set(RANK), top_level - set(RANK)
