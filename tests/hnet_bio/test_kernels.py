"""The kernel switch: pure PyTorch on CPU; on a CUDA machine with mamba-ssm / flash-attn, the fused
kernels must agree with the pure path (the CUDA half runs only where a GPU and the `gpu` extra are)."""

from __future__ import annotations

import pytest
import torch

from hnet_bio import kernels
from hnet_bio.layers.attention import CausalMHA
from hnet_bio.layers.mamba2 import Mamba2

CUDA = torch.cuda.is_available()


def test_cpu_tensors_never_take_the_fused_path(monkeypatch: pytest.MonkeyPatch) -> None:
    x = torch.zeros(2, 3)
    for name in ("mamba_ssm", "flash_attn"):
        assert kernels.use_fused(name, x) is False
    monkeypatch.setenv("HNET_BIO_PURE", "1")
    assert kernels.pure_forced()
    monkeypatch.setenv("HNET_BIO_PURE", "0")
    assert not kernels.pure_forced()


def test_availability_requires_cuda() -> None:
    status = kernels.available()
    assert set(status) == {"mamba_ssm", "flash_attn"}
    if not CUDA:
        assert not any(status.values())


@pytest.mark.skipif(not (CUDA and kernels.available()["mamba_ssm"]), reason="needs a CUDA GPU and mamba-ssm")
def test_fused_mamba_matches_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = Mamba2(256, d_state=64, headdim=64, chunk_size=64).cuda()
    u = torch.randn(2, 300, 256, device="cuda")
    fused = layer(u)
    monkeypatch.setenv("HNET_BIO_PURE", "1")
    torch.testing.assert_close(fused, layer(u), rtol=2e-3, atol=2e-3)


NO_FLASH = not (CUDA and kernels.available()["flash_attn"])


@pytest.mark.skipif(NO_FLASH, reason="needs a CUDA GPU and flash-attn")
@pytest.mark.parametrize("window", [-1, 31])
def test_fused_attention_matches_pure(monkeypatch: pytest.MonkeyPatch, window: int) -> None:
    attn = CausalMHA(256, num_heads=4, rotary_emb_dim=32, window_size=window).cuda().bfloat16()
    x = torch.randn(2, 200, 256, device="cuda", dtype=torch.bfloat16)
    fused = attn(x)
    monkeypatch.setenv("HNET_BIO_PURE", "1")
    torch.testing.assert_close(fused.float(), attn(x).float(), rtol=2e-2, atol=2e-2)
