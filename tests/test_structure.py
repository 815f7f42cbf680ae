"""The architecture of ../shared/DESIGN.md, checked on the source: an AST scan of every import
(function-level ones included) against the floors, no private name across packages, no module
over 800 lines."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nnmle"

#: top-level module or package of nnmle -> its floor (a module imports only from floors below)
FLOORS = {
    "_config": 1,
    "families": 1,
    "networks": 1,
    "data": 2,
    "penalties": 2,
    "interop": 2,
    "problem": 3,
    "symmetry": 4,
    "solvers": 4,
    "starts": 5,
    "estimation": 6,
    "identifiability": 7,
    "landscape": 7,
    "inference": 8,
    "multistart": 9,
    "regularization": 9,
    "singular": 9,
    "modelfile": 10,
    "report": 10,
    "_results": 10,  # FitResult's statsmodels surface: a mixin api imports (inference below it)
    "api": 11,
    "estimators": 12,
    "cli": 12,
    "__init__": 13,  # the public surface: re-exports every floor
}


def _unit(path: Path) -> str:
    """The top-level unit (module or package) a source file belongs to."""
    rel = path.relative_to(SRC).with_suffix("")
    return rel.parts[0]


def _imports(path: Path):
    """``(line, target unit or None, names)`` for every import in the file, at any depth."""
    tree = ast.parse(path.read_text())
    pkg_parts = path.relative_to(SRC).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "nnmle":
                    yield node.lineno, parts[1] if len(parts) > 1 else "__init__", []
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = list(pkg_parts[: len(pkg_parts) - (node.level - 1)])
                mod = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "nnmle":
                mod = node.module.split(".")[1:]
            else:
                continue
            names = [a.name for a in node.names]
            if not mod:  # "from . import x" / "from nnmle import x"
                for name in names:
                    yield node.lineno, name if name in FLOORS else "__init__", []
            else:
                yield node.lineno, mod[0], names


FILES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_imports_go_down_the_floors(path):
    unit = _unit(path)
    assert unit in FLOORS, f"{unit} has no floor in DESIGN.md's layout"
    floor = FLOORS[unit]
    for line, target, names in _imports(path):
        if target == unit:
            continue  # inside the same module or package
        assert target in FLOORS, f"{path}:{line} imports unknown nnmle unit {target}"
        if target == "__init__" and floor == 12:
            continue  # the command line and estimators may use the public surface
        assert FLOORS[target] < floor, (
            f"{path.relative_to(SRC)}:{line}: {unit} (floor {floor}) imports {target} "
            f"(floor {FLOORS[target]})"
        )
        private = [n for n in names if n.startswith("_") and n != "_config"]
        assert not private, f"{path}:{line} imports private {private} from {target}"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(SRC)) for p in FILES])
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 800, f"{path} is over 800 lines"
