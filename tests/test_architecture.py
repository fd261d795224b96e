"""The layout's rules, checked: import-linter's contracts, no import circle (imports inside functions
count), modules of a readable size, a short top level, a file budget per package. README's "Development"
section describes them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "rnnshape"
MAX_LINES = 500  # a module may run to about 500 lines: never split one only to fit a cap (STYLE.md, rule 10)
MAX_TOP_LEVEL_MODULES = 8
# .py files per package, __init__.py included, and in all (issue 21's budget: 70 in all, render 12, model 15,
# cli 9, checkpoint 10, run 10, api 6, views 5; checkpoint holds 11 since the ONNX constant folder came, run 8).
# A new file must fit, or merge with its neighbour.
MAX_FILES = 70
MAX_PACKAGE_FILES = {"api": 6, "checkpoint": 11, "cli": 9, "model": 15, "render": 12, "run": 10, "views": 5}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every rnnshape module ``path`` imports, wherever the import statement stands (TYPE_CHECKING too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and not name.startswith(t + "."):  # a package's own __init__ is not a cycle
                found.add(t)
    return found


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(path, name, set(mods)) for name, path in mods.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_500_lines():
    long = {name: n for name, p in _modules().items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_short_top_level():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_file_budget():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) <= MAX_FILES, f"{len(files)} .py files under rnnshape/ (at most {MAX_FILES})"
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(MAX_PACKAGE_FILES), "a package without a budget, or a budget without a package"
    over = {name: n for name in packages if (n := len(list((PACKAGE / name).glob("*.py")))) > MAX_PACKAGE_FILES[name]}
    assert over == {}, f"packages over their file budget: {over} (budgets {MAX_PACKAGE_FILES})"


def test_every_package_says_its_role():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init} has no docstring naming its role"


def test_import_linter_contracts_hold():
    root = PACKAGE.parent
    script = Path(sys.executable).with_name("lint-imports")  # import-linter's own entry point, in this venv
    done = subprocess.run([str(script), str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 5 kept, 0 broken." in done.stdout
