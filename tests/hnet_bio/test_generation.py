"""Step decoding equals the parallel forward; the inner levels run only on boundary bytes."""

from __future__ import annotations

import json

import pytest
import torch

from hnet_bio import HNetConfig, HNetLM, IsotropicLM, build_model
from hnet_bio.cache import HNetState
from hnet_bio.incremental import prefill, step
from tests.paths import CONFIGS


def tiny_model(name: str, dtype: torch.dtype, windows: list[int] | None = None, seed: int = 1):
    """A tiny config with small sliding windows, and every parameter that starts at a constant
    (norm weights, residual_proj, pad_dimension) perturbed so each path really contributes."""
    data = json.loads((CONFIGS / f"{name}.json").read_text())
    if windows is not None:
        data["attn_cfg"]["window_size"] = windows
    torch.manual_seed(seed)
    model = build_model(HNetConfig.from_dict(data))
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if any(s in pname for s in ("residual_proj", "pad_dimension", "norm")):
                p.add_(0.3 * torch.randn_like(p))
    return model.to(dtype).eval()


def assert_close(step_logits: torch.Tensor, full: torch.Tensor, dtype: torch.dtype) -> None:
    scale = full.abs().max().item()
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    err = (step_logits - full).abs().max().item()
    assert err <= tol * scale, f"max |step - forward| = {err:.3g} (scale {scale:.3g})"


CASES = [("tiny-1stage", [-1, 4]), ("tiny-2stage", [-1, 4, -1])]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize(("name", "windows"), CASES)
def test_prefill_then_steps_equal_forward(
    name: str, windows: list[int], batch: int, dtype: torch.dtype
) -> None:
    model = tiny_model(name, dtype, windows)
    length, prompt = 72, 16
    ids = torch.randint(0, 256, (batch, length), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        out = model(ids)
    logits, state = prefill(model, ids[:, :prompt])
    assert_close(logits, out.logits[:, :prompt], dtype)
    for t in range(prompt, length):
        assert_close(step(model, ids[:, t], state), out.logits[:, t], dtype)

    # the inner levels advanced exactly once per boundary of the level above, row by row
    level_state: HNetState = state  # type: ignore[assignment]
    for stage in out.stages:
        inner = level_state.main
        assert isinstance(inner, HNetState)
        seen = inner.encoder.length if inner.encoder is not None else inner.main.length  # type: ignore[union-attr]
        assert torch.equal(seen, stage.boundary_mask.sum(-1))
        level_state = inner
    if batch > 1:  # the test is only meaningful if rows fire at different bytes during decoding
        fired = out.stages[0].boundary_mask[:, prompt:]
        assert bool((fired.any(0) & ~fired.all(0)).any()), "rows never disagreed on a boundary"
        if len(out.stages) > 1:
            assert len(set(out.stages[1].chunk_count.tolist())) > 1
    if windows[1] >= 0:  # the sliding window at level 1 was exceeded, so it mattered
        assert int(out.stages[0].chunk_count.min()) > windows[1] + 1


@pytest.mark.parametrize(("name", "windows"), CASES)
def test_mixed_length_prompts(name: str, windows: list[int]) -> None:
    """Right-padded prompts of different lengths: each row continues from its own end."""
    model = tiny_model(name, torch.float64, windows)
    lengths = [5, 17, 1, 26]
    total = 48
    ids = torch.randint(0, 256, (4, total), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = model(ids).logits  # (B, L, V)
    mask = torch.arange(total)[None] < torch.tensor(lengths)[:, None]
    width = max(lengths)
    logits, state = prefill(model, ids[:, :width] * mask[:, :width], mask[:, :width])
    for b, n in enumerate(lengths):
        assert_close(logits[b, :n], full[b, :n], torch.float64)
    rows = torch.arange(4)
    for t in range(total - width):
        pos = torch.tensor(lengths) + t
        assert_close(step(model, ids[rows, pos], state), full[rows, pos], torch.float64)


def test_isotropic_baseline_steps_equal_forward() -> None:
    model = tiny_model("tiny-isotropic", torch.float64)
    assert isinstance(model, IsotropicLM)
    ids = torch.randint(0, 256, (3, 40))
    with torch.no_grad():
        full = model(ids).logits
    logits, state = prefill(model, ids[:, :10])
    assert_close(logits, full[:, :10], torch.float64)
    for t in range(10, 40):
        assert_close(step(model, ids[:, t], state), full[:, t], torch.float64)


def test_fresh_state_from_single_byte_prefill() -> None:
    """A one-byte prompt: everything after it is decoded step by step."""
    model = tiny_model("tiny-2stage", torch.float64, [-1, 4, -1])
    ids = torch.randint(0, 256, (2, 30))
    with torch.no_grad():
        full = model(ids).logits
    logits, state = prefill(model, ids[:, :1])
    assert_close(logits[:, 0], full[:, 0], torch.float64)
    for t in range(1, 30):
        assert_close(step(model, ids[:, t], state), full[:, t], torch.float64)


def test_bfloat16_step_tracks_forward() -> None:
    """bf16 (the released dtype) runs end to end; agreement is loose by nature of bf16."""
    from hnet_bio.dtypes import cast_model

    model = tiny_model("tiny-1stage", torch.float32, [-1, 4])
    cast_model(model, torch.bfloat16)
    assert isinstance(model, HNetLM)
    ids = torch.randint(0, 256, (2, 24))
    logits, state = prefill(model, ids[:, :8])
    nxt = step(model, ids[:, 8], state)
    assert nxt.shape == (2, 256) and torch.isfinite(nxt).all()
    assert torch.isfinite(logits).all()


def test_steps_never_run_the_parallel_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """After prefill, a step touches no sequence-length computation: the parallel forwards of
    HNet, Isotropic, Mamba2 and attention are never called, so the prefix is never recomputed."""
    from hnet_bio.hnet import HNet
    from hnet_bio.layers.attention import CausalMHA
    from hnet_bio.layers.block import Isotropic
    from hnet_bio.layers.mamba2 import Mamba2

    model = tiny_model("tiny-2stage", torch.float32, [-1, 4, -1])
    ids = torch.randint(0, 256, (2, 40))
    _, state = prefill(model, ids[:, :30])

    def forbidden(*args, **kwargs):
        raise AssertionError("a step called a parallel forward")

    for cls in (HNet, Isotropic, Mamba2, CausalMHA):
        monkeypatch.setattr(cls, "forward", forbidden)
    for t in range(30, 40):
        assert step(model, ids[:, t], state).shape == (2, 256)
