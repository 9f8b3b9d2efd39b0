"""The core's imports point one way: layers/ below dc.py, cache.py and the models; hnet_bio below
everything else in the repository. Read with `ast`; nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.paths import ROOT

CORE = ROOT / "hnet_bio"
# What a layer may build on: configuration, precision rules, the kernel switch and other layers.
LAYER_DEPENDENCIES = ("hnet_bio.config", "hnet_bio.dtypes", "hnet_bio.kernels", "hnet_bio.layers")


def imported(path: Path) -> set[str]:
    """Absolute module names a file imports (``from a import b`` gives ``a.b``, or ``a`` if b is a name)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                submodule = (ROOT / full.replace(".", "/")).with_suffix(".py").exists()
                names.add(full if submodule else node.module)
    return names


def own(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in ("hnet_bio", "modalities", "pipelines", "app")}


def test_layers_import_nothing_above_them() -> None:
    layers = sorted((CORE / "layers").glob("*.py"))
    assert layers
    upward = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in layers
        for name in own(imported(path))
        if not name.startswith(LAYER_DEPENDENCIES)
    }
    assert not upward, sorted(upward)


def test_the_core_imports_no_other_package() -> None:
    upward = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted(CORE.rglob("*.py"))
        for name in own(imported(path))
        if not name.startswith("hnet_bio")
    }
    assert not upward, sorted(upward)


def test_the_reader_sees_the_imports() -> None:
    """The checks above are only as good as `imported`: it must see a layer's real imports."""
    assert "hnet_bio.layers.mamba2" in imported(CORE / "layers" / "block.py")
    assert "hnet_bio.kernels" in imported(CORE / "layers" / "attention.py")  # `from hnet_bio import kernels`
    assert "hnet_bio.layers.block" in imported(CORE / "cache.py")
