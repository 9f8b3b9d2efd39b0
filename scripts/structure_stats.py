"""Count the shape of the code base: the numbers docs/structure.md and the structure issue quote.

    python scripts/structure_stats.py            # a table
    python scripts/structure_stats.py --json     # the same as JSON

Read with `ast`, nothing is imported or run:
- modules at the top of ``pipelines/`` (``*.py`` files directly in it);
- imports of subcommand modules (the modules `pipelines/cli.py` lists in ``COMMANDS``) from any
  file of the four packages, ``benchmarks/`` or ``scripts/``, other than ``cli.py`` itself;
- string-key lookups in ``pipelines/`` and ``app/``: ``x["key"]`` and ``x.get("key", ...)``;
- functions longer than 80 lines (decorators excluded), in the four packages;
- imports inside a function body, in the four packages, and how many of those import the
  project's own modules.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hnet_bio", "modalities", "pipelines", "app")
OWN = (*PACKAGES,)
LONG_FUNCTION = 80


def _files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def command_modules() -> set[str]:
    """The job modules named in ``COMMANDS`` of pipelines/cli.py."""
    tree = _tree(ROOT / "pipelines" / "cli.py")
    for node in ast.walk(tree):
        targets = [node.target] if isinstance(node, ast.AnnAssign) else getattr(node, "targets", [])
        if any(isinstance(t, ast.Name) and t.id == "COMMANDS" for t in targets):
            return {ast.literal_eval(e) for e in node.value.elts}  # type: ignore[union-attr]
    raise SystemExit("COMMANDS not found in pipelines/cli.py")


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute names a statement imports (``from a import b`` counts ``a`` and ``a.b``)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = node.module or ""
    return [base] + [f"{base}.{a.name}" for a in node.names]


def _function_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in ast.walk(fn):
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    out.append(stmt)
    return list({id(s): s for s in out}.values())  # nested functions are walked twice


def _is_string_lookup(node: ast.AST) -> bool:
    """``x["key"]`` or ``x.get("key", ...)``."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and bool(node.args) and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str))


def stats() -> dict[str, int]:
    commands = command_modules()
    job_imports = 0
    for path in _files(*PACKAGES, "benchmarks", "scripts"):
        if path == ROOT / "pipelines" / "cli.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                job_imports += any(name in commands for name in imported_modules(node))
    lookups = 0
    for path in _files("pipelines", "app"):
        for node in ast.walk(_tree(path)):
            lookups += _is_string_lookup(node)
    long_functions = local_imports = local_own = 0
    for path in _files(*PACKAGES):
        tree = _tree(path)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                long_functions += (node.end_lineno or node.lineno) - node.lineno + 1 > LONG_FUNCTION
        for stmt in _function_imports(tree):
            local_imports += 1
            local_own += any(n.split(".")[0] in OWN for n in imported_modules(stmt) if n)
    return {
        "pipelines_top_modules": len(list((ROOT / "pipelines").glob("*.py"))),
        "subcommand_module_imports": job_imports,
        "string_key_lookups": lookups,
        "functions_over_80_lines": long_functions,
        "function_local_imports": local_imports,
        "function_local_imports_of_own_modules": local_own,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    numbers = stats()
    if args.json:
        print(json.dumps(numbers, indent=1))
    else:
        for key, value in numbers.items():
            print(f"{key:40s} {value}")


if __name__ == "__main__":
    main()
