"""Fuzzing the recipe reader with hypothesis: a recipe file of any content (arbitrary bytes, YAML of
any shape, a real recipe with one value replaced by anything) gives a `PretrainConfig` whose model
builds as a config, or one `HNetBioError` line (ConfigError/UsageError); nothing else escapes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hnet_bio.config import HNetConfig
from hnet_bio.errors import HNetBioError
from pipelines.training.train_config import read_config
from tests.paths import CONFIGS

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECIPE = yaml.safe_load((CONFIGS / "pretrain-dna-tiny.yaml").read_text())
MODEL = json.loads((CONFIGS / "tiny-1stage.json").read_text())
RECIPE["model"] = MODEL  # inline, so the fuzzed file does not depend on where it is

_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=12))
_value = st.recursive(
    _scalar, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=3)),
    max_leaves=8)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a nested recipe (dict keys and list indices)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(RECIPE)


@st.composite
def recipe_with_one_value_replaced(draw: st.DrawFn) -> bytes:
    recipe = json.loads(json.dumps(RECIPE))
    path = draw(st.sampled_from(PATHS))
    node = recipe
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = draw(_value)
    if draw(st.booleans()):
        return json.dumps(recipe).encode()  # JSON is YAML too; NaN/Infinity spelled as Python does
    return yaml.safe_dump(recipe, allow_unicode=True).encode()


def _read(data: bytes, suffix: str) -> None:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(data)
    path = Path(name)
    try:
        cfg = read_config(path)
        HNetConfig.from_dict(cfg.model_config_dict())  # what pretrain builds next
    except HNetBioError as exc:
        message = str(exc)
        assert message and "\n" not in message.strip(), message
    finally:
        path.unlink()


@SETTINGS
@given(recipe_with_one_value_replaced())
@example(json.dumps({**RECIPE, "model": {**MODEL, "d_model": [32, "48"]}}).encode())  # main: a TypeError
def test_a_recipe_with_any_value_anywhere(data: bytes) -> None:
    _read(data, ".yaml")


@SETTINGS
@given(st.one_of(st.binary(max_size=200), _value.map(lambda v: yaml.safe_dump(v).encode())))
@example(b"model: tiny\n\xff\xfe")  # main: UnicodeDecodeError
@example(b"&a [*a]")  # a YAML alias that refers to itself
@example(b"? '\n\n'")  # found by this test in CI: a section named by a newline made a 2-line message
@example(b"1: 2\nx: 3\n")  # unknown keys of two types: sorting them raised TypeError
@example(b"train:\n  1: 2\n  x: 3\n")
def test_any_bytes_as_a_recipe(data: bytes) -> None:
    _read(data, ".yaml")
