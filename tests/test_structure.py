"""The import graph, read with `ast` (nothing is imported): jobs are leaves, dependencies point one
way, no circles.

DESIGN.md's rules of the house, checked on every run:
- nothing imports a subcommand module (those ``COMMANDS`` in pipelines/cli.py lists), not the app,
  not another job, not a library, benchmark or script; cli.py itself loads them by name;
- dependencies point one way, ``app -> pipelines -> modalities -> hnet_bio``: the core imports none
  of the others; modalities uses only the core's base utilities (``hnet_bio.errors``,
  ``hnet_bio.atomic``), no model internals; pipelines never imports app; no package imports
  benchmarks/, scripts/ or tests/ (they are not shipped);
- no circle among the modules. Every import counts, function-local ones included: an import moved
  into a function to dodge a circle hides the circle until run time, it does not remove it;
- the top of pipelines/ holds at most 20 modules, and every job module COMMANDS names exists.

An import edge goes to the most specific module of the tree: ``from pkg import mod`` to
``pkg.mod`` when that is a module, else to ``pkg``; relative imports are resolved against the
importing module's package. Importing ``a.b.c`` does not add edges to ``a`` and ``a.b`` (their
``__init__`` runs, but every package re-exporting its own modules would otherwise be a circle).
The checker runs on a synthetic tree first (`test_the_checker_finds_each_kind_of_violation`), so
the real checks cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT

PACKAGES = ("hnet_bio", "modalities", "pipelines", "app")
IMPORTERS = ("benchmarks", "scripts")  # may import any package, but no job module
CLI = "pipelines.cli"
MAX_PIPELINES_TOP = 20
# What each package may import from this repository (a module, or anything under it).
ALLOWED: dict[str, tuple[str, ...]] = {
    "hnet_bio": ("hnet_bio",),
    "modalities": ("modalities", "hnet_bio.errors", "hnet_bio.atomic"),
    "pipelines": ("pipelines", "modalities", "hnet_bio"),
    "app": ("app", "pipelines", "modalities", "hnet_bio"),
}


@dataclass(frozen=True)
class Edge:
    """``source`` imports ``target`` (both modules of the tree) at ``file``:``line``."""

    source: str
    target: str
    file: str
    line: int
    local: bool  # inside a function body

    def __str__(self) -> str:
        where = "function-local import" if self.local else "import"
        return f"{self.source} -> {self.target} ({self.file}:{self.line}, {where})"


def module_files(root: Path, tops: tuple[str, ...]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``*.py`` under the ``tops`` folders of ``root``
    (``pkg/__init__.py`` is ``pkg``)."""
    out: dict[str, Path] = {}
    for top in tops:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _known(name: str, known: set[str]) -> str | None:
    """The longest prefix of ``name`` that is a module of the tree (None: not ours)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        candidate = ".".join(parts[:n])
        if candidate in known:
            return candidate
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules of the tree an import statement in ``module`` loads."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [t for t in (_known(n, known) for n in names) if t]
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    out = []
    for alias in node.names:
        target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else _known(base, known)
        if target:
            out.append(target)
    return out


def _literal_import_module(node: ast.AST) -> str | None:
    """``importlib.import_module("x")`` / ``import_module("x")`` / ``__import__("x")`` with a literal."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    value = node.args[0].value
    return value if name in ("import_module", "__import__") and isinstance(value, str) else None


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, file: str, known: set[str]) -> None:
        self.module, self.is_package, self.file, self.known = module, is_package, file, known
        self.depth = 0
        self.edges: list[Edge] = []

    def _add(self, targets: list[str], line: int) -> None:
        for target in dict.fromkeys(targets):  # `from a import b, c` with b, c names of a: one edge
            if target != self.module:
                self.edges.append(Edge(self.module, target, self.file, line, self.depth > 0))

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def visit_Import(self, node: ast.Import) -> None:
        self._add(_targets(node, self.module, self.is_package, self.known), node.lineno)

    visit_ImportFrom = visit_Import  # type: ignore[assignment]

    def visit_Call(self, node: ast.Call) -> None:
        name = _literal_import_module(node)
        if name and _known(name, self.known):
            self._add([_known(name, self.known) or name], node.lineno)
        self.generic_visit(node)


def import_edges(root: Path, tops: tuple[str, ...]) -> list[Edge]:
    """Every import, among the modules under ``tops``, of one module of the tree by another."""
    files = module_files(root, tops)
    known = set(files)
    edges: list[Edge] = []
    for module, path in files.items():
        visitor = _Imports(module, path.name == "__init__.py", str(path.relative_to(root)), known)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        edges += visitor.edges
    return edges


def job_modules(root: Path) -> tuple[str, ...]:
    """The module names of ``COMMANDS`` in pipelines/cli.py, read without importing it."""
    tree = ast.parse((root / "pipelines" / "cli.py").read_text())
    for node in ast.walk(tree):
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == "COMMANDS" for t in targets) and node.value is not None:
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("COMMANDS not found in pipelines/cli.py")


def missing_jobs(root: Path) -> list[str]:
    """Job modules COMMANDS names that have no file."""
    files = module_files(root, ("pipelines",))
    return [job for job in job_modules(root) if job not in files]


def top_modules(root: Path) -> list[str]:
    """The modules directly in pipelines/ (its subpackages not counted)."""
    return sorted(p.name for p in (root / "pipelines").glob("*.py"))


def job_imports(edges: list[Edge], jobs: tuple[str, ...]) -> list[Edge]:
    """Imports of a job module by anything but cli.py."""
    return [e for e in edges if e.target in jobs and e.source != CLI]


def upward_imports(edges: list[Edge]) -> list[Edge]:
    """Imports a package's `ALLOWED` list does not permit (benchmarks and scripts import freely)."""
    bad = []
    for e in edges:
        allowed = ALLOWED.get(e.source.split(".")[0])
        if allowed is not None and not any(_within(e.target, a) for a in allowed):
            bad.append(e)
    return bad


def cycles(edges: list[Edge]) -> list[list[Edge]]:
    """One shortest circle through each strongly connected group of modules (Tarjan, then BFS)."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        graph.setdefault(e.source, {}).setdefault(e.target, e)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(v: str) -> None:  # recursion depth is bounded by the module count (a few hundred)
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [_shortest_circle(graph, group) for group in sorted(groups, key=min)]


def _shortest_circle(graph: dict[str, dict[str, Edge]], group: set[str]) -> list[Edge]:
    start = min(group)
    came: dict[str, Edge] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w, edge in sorted(graph.get(v, {}).items()):
                if w not in group or w in came:
                    continue
                came[w] = edge
                if w == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    return path
                nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no circle found in the group {sorted(group)}")


def _fail_if_any(title: str, found: list[object]) -> None:
    """Fail listing every finding, one a line (pytest's repr of the list would hide the places)."""
    if found:
        pytest.fail(f"{title} ({len(found)}):\n  " + "\n  ".join(map(str, found)), pytrace=False)


def _pairs(edges: list[Edge]) -> set[tuple[str, str]]:
    return {(e.source, e.target) for e in edges}


# --------------------------------------------------------------------------- the real tree

@functools.cache
def real_edges() -> list[Edge]:
    return import_edges(ROOT, (*PACKAGES, *IMPORTERS))


def test_nothing_imports_a_job_module() -> None:
    found = job_imports(real_edges(), job_modules(ROOT))
    _fail_if_any("job modules imported (move what they share into a library subpackage)", found)


def test_dependencies_point_one_way() -> None:
    _fail_if_any("imports against app -> pipelines -> modalities -> hnet_bio", upward_imports(real_edges()))


def test_no_import_circles() -> None:
    circles = [" => ".join(map(str, circle)) for circle in cycles(real_edges())]
    _fail_if_any("import circles (one shortest circle per group of modules)", circles)


def test_pipelines_top_is_small_and_every_job_exists() -> None:
    top = top_modules(ROOT)
    assert len(top) <= MAX_PIPELINES_TOP, f"{len(top)} modules at the top of pipelines/: {top}"
    jobs = job_modules(ROOT)
    assert len(jobs) == len(set(jobs)) and all(j.startswith("pipelines.") for j in jobs), jobs
    assert not missing_jobs(ROOT), f"COMMANDS names job modules with no file: {missing_jobs(ROOT)}"
    # The graph is the real one: cli's entry point and the core's own imports are in it.
    edges = real_edges()
    assert any(e.source == "pipelines.__main__" and e.target == CLI for e in edges)
    assert len({e.source for e in edges if e.source.startswith("hnet_bio")}) > 10


# --------------------------------------------------------------------------- the checker itself

SYNTHETIC = {
    "hnet_bio/__init__.py": "from hnet_bio.lm import LM\n",
    "hnet_bio/lm.py": "import torch\nfrom . import errors\n",
    "hnet_bio/errors.py": "",
    "hnet_bio/atomic.py": "from hnet_bio.errors import E\n",
    "hnet_bio/leak.py": "def f():\n    from pipelines.training import loop\n",  # core -> pipelines
    "modalities/__init__.py": "",
    "modalities/dna.py": "from hnet_bio.atomic import atomic_write\nfrom hnet_bio.errors import E\n",
    "modalities/deep.py": "from hnet_bio import lm\n",  # a model internal
    "modalities/core.py": "import hnet_bio\n",  # the core's __init__ pulls the model in
    "pipelines/__init__.py": "",
    "pipelines/errors.py": "",
    "pipelines/cli.py": 'COMMANDS: tuple[str, ...] = ("pipelines.train", "pipelines.show")\n'
                        "import importlib\nfrom pipelines import train\n",
    "pipelines/train.py": "from .training.loop import run\n",
    "pipelines/show.py": "from . import train\n",  # a job importing a job, relative form
    "pipelines/training/__init__.py": "from .loop import run\n",
    "pipelines/training/loop.py": "from pipelines.training import state\n",
    "pipelines/training/state.py": "def load():\n    from .loop import run\n",  # circle via a local import
    "pipelines/training/ui.py": "import app.view\n",  # pipelines -> app
    "pipelines/training/config.py": "from ..errors import E\nfrom pipelines.training.loop import run, Loop\n",
    "app/__init__.py": "",
    "app/view.py": "from pipelines.training import loop\nfrom pipelines import show as s\n",
    "scripts/tool.py": "import importlib\nimportlib.import_module('pipelines.train')\n"
                       "from pipelines import cli\n",
}


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    for name, text in SYNTHETIC.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    edges = import_edges(tmp_path, (*PACKAGES, *IMPORTERS))
    pairs = _pairs(edges)
    # Resolution: relative (one and two dots), `from pkg import module`, `from pkg import name`,
    # a literal import_module; nothing outside the tree (torch, importlib).
    assert len(edges) == len(pairs) == 21 and pairs == {
        ("hnet_bio", "hnet_bio.lm"), ("hnet_bio.lm", "hnet_bio.errors"),
        ("hnet_bio.atomic", "hnet_bio.errors"), ("hnet_bio.leak", "pipelines.training.loop"),
        ("modalities.dna", "hnet_bio.atomic"), ("modalities.dna", "hnet_bio.errors"),
        ("modalities.deep", "hnet_bio.lm"), ("modalities.core", "hnet_bio"),
        ("pipelines.cli", "pipelines.train"), ("pipelines.train", "pipelines.training.loop"),
        ("pipelines.show", "pipelines.train"), ("pipelines.training", "pipelines.training.loop"),
        ("pipelines.training.loop", "pipelines.training.state"),
        ("pipelines.training.state", "pipelines.training.loop"), ("pipelines.training.ui", "app.view"),
        ("pipelines.training.config", "pipelines.errors"),
        ("pipelines.training.config", "pipelines.training.loop"),
        ("app.view", "pipelines.training.loop"), ("app.view", "pipelines.show"),
        ("scripts.tool", "pipelines.train"), ("scripts.tool", "pipelines.cli"),
    }

    assert job_modules(tmp_path) == ("pipelines.train", "pipelines.show") and not missing_jobs(tmp_path)
    assert top_modules(tmp_path) == ["__init__.py", "cli.py", "errors.py", "show.py", "train.py"]
    assert _pairs(job_imports(edges, job_modules(tmp_path))) == {  # cli.py itself may
        ("pipelines.show", "pipelines.train"), ("app.view", "pipelines.show"),
        ("scripts.tool", "pipelines.train")}
    assert _pairs(upward_imports(edges)) == {
        ("hnet_bio.leak", "pipelines.training.loop"), ("modalities.deep", "hnet_bio.lm"),
        ("modalities.core", "hnet_bio"), ("pipelines.training.ui", "app.view")}
    (circle,) = cycles(edges)
    assert _pairs(circle) == {("pipelines.training.loop", "pipelines.training.state"),
                              ("pipelines.training.state", "pipelines.training.loop")}
    assert [e.source for e in circle] == ["pipelines.training.loop", "pipelines.training.state"]
    assert circle[1].local and "function-local" in str(circle[1]) and "state.py:2" in str(circle[1])

    # Without the offending files the same checks find nothing.
    for name in ("hnet_bio/leak.py", "modalities/deep.py", "modalities/core.py", "pipelines/show.py",
                 "pipelines/training/state.py", "pipelines/training/ui.py", "scripts/tool.py"):
        (tmp_path / name).unlink()
    assert missing_jobs(tmp_path) == ["pipelines.show"]
    (tmp_path / "app/view.py").write_text("from pipelines.training import loop\n")
    (tmp_path / "pipelines/training/loop.py").write_text("")
    (tmp_path / "pipelines/cli.py").write_text('COMMANDS = ("pipelines.train",)\n')
    clean = import_edges(tmp_path, (*PACKAGES, *IMPORTERS))
    assert not job_imports(clean, job_modules(tmp_path)) and not upward_imports(clean) and not cycles(clean)
