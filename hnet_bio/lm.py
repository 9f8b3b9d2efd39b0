"""Language models over bytes: HNetLM (hierarchical) and IsotropicLM (the flat baseline).

Both take bytes (B, L) and return an `LMOutput` with logits, next-byte loss in nats and bits per
byte, the ratio loss, and (for HNetLM) one `StageOutput` per routing stage. Rows may be
right-padded; `mask` marks the valid prefix of each row. `forward(..., return_state=True)` also
returns the decoding state after each row's prompt (`LMOutput.state`), and `step(byte, state)`
continues from it one byte at a time (see docs/generation.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hnet_bio.cache import HNetState
from hnet_bio.config import HNetConfig
from hnet_bio.dc import ratio_loss
from hnet_bio.dtypes import wide
from hnet_bio.flops import flops_per_byte
from hnet_bio.hnet import HNet, HNetOutput, InnerOutput, StageOutput
from hnet_bio.init import init_hnet, init_isotropic
from hnet_bio.layers.block import Isotropic, IsotropicState

LN2 = math.log(2.0)


@dataclass
class LMOutput:
    logits: torch.Tensor  # (B, L, V) float32
    last_hidden: torch.Tensor  # (B, L, D0) decoder output before lm_head
    mask: torch.Tensor  # (B, L) bool
    loss: torch.Tensor | None = None  # ce_loss + weight * sum(ratio_losses)
    ce_loss: torch.Tensor | None = None  # mean next-byte cross-entropy, nats
    ratio_loss: torch.Tensor | None = None  # weighted sum over stages
    ratio_losses: list[torch.Tensor] = field(default_factory=list)
    stages: list[StageOutput] = field(default_factory=list)
    inner: InnerOutput | None = None
    state: HNetState | IsotropicState | None = None  # with return_state: where each row stopped

    @property
    def bits_per_byte(self) -> torch.Tensor | None:
        return None if self.ce_loss is None else self.ce_loss / LN2

    @property
    def compression(self) -> list[float]:
        """Positions per chunk at each stage (stage 0: bytes per chunk)."""
        return [s.compression for s in self.stages]


def check_mask(input_ids: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Validate a right-padding mask (B, L): each row a non-empty valid prefix."""
    if mask is None:
        return torch.ones(input_ids.shape, dtype=torch.bool, device=input_ids.device)
    mask = mask.to(torch.bool)
    if mask.shape != input_ids.shape:
        raise ValueError(f"mask shape {tuple(mask.shape)} != input shape {tuple(input_ids.shape)}")
    if input_ids.shape[1] and not bool(mask[:, 0].all()):
        raise ValueError("every row needs at least one valid byte, at position 0 (right padding only)")
    if bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise ValueError("mask must be a valid prefix per row (right padding only)")
    return mask


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    targets = targets.long().masked_fill(~mask, -100)
    return F.cross_entropy(wide(logits).reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


class _ByteLM(nn.Module):
    """Shared embedding / lm_head / loss plumbing; subclasses define `backbone` and `_run`."""

    config: HNetConfig
    backbone: HNet | Isotropic

    def __init__(self, config: HNetConfig) -> None:
        super().__init__()
        self.config = config
        d0 = config.d_model[0]
        self.embeddings = nn.Embedding(config.vocab_size, d0)

    def _finish_init(self) -> None:
        d0 = self.config.d_model[0]
        self.lm_head = nn.Linear(d0, self.config.vocab_size, bias=False)
        if self.config.tie_embeddings:
            self.lm_head.weight = self.embeddings.weight
        self.init_weights()

    def init_weights(self, std: float = 0.02) -> None:
        nn.init.normal_(self.embeddings.weight, std=1.0)
        if not self.config.tie_embeddings:
            nn.init.normal_(self.lm_head.weight, std=std)

    def forward(
        self,
        input_ids: torch.Tensor,
        mask: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
        return_state: bool = False,
    ) -> LMOutput:
        """input_ids (B, L) bytes; mask (B, L) valid prefix; targets (B, L) next bytes, -100 = ignore.
        return_state: also keep what decoding the next byte of each row needs (`out.state`)."""
        mask = check_mask(input_ids, mask)
        h = self.embeddings(input_ids.long())  # (B, L, D0)
        out = self._run(h, mask, return_state)
        out.logits = wide(self.lm_head(out.last_hidden))  # (B, L, V)
        if targets is not None:
            out.ce_loss = cross_entropy(out.logits, targets, mask)
            weight = self.config.hnet_bio.ratio_loss_weight
            ratios = self.config.target_ratios()
            out.ratio_losses = [
                ratio_loss(s.boundary_prob, s.boundary_mask, n, s.mask)
                for s, n in zip(out.stages, ratios, strict=True)
            ]
            out.ratio_loss = (
                weight * torch.stack(out.ratio_losses).sum()
                if out.ratio_losses
                else (out.ce_loss.new_zeros(()))
            )
            out.loss = out.ce_loss + out.ratio_loss
        return out

    def step(self, byte: torch.Tensor, state: HNetState | IsotropicState) -> torch.Tensor:
        """byte (B,) the next byte of every row -> logits (B, V) for the byte after it; advances state."""
        h = self.embeddings(byte.long())  # (B, D0)
        backbone = self.backbone
        if isinstance(backbone, HNet) and isinstance(state, HNetState):
            return wide(self.lm_head(backbone.step(h, state)))
        if isinstance(backbone, Isotropic) and isinstance(state, IsotropicState):
            return wide(self.lm_head(backbone.step(h, state)))
        raise TypeError(f"a {type(state).__name__} is not the decoding state of a {type(self).__name__}")

    def _run(self, h: torch.Tensor, mask: torch.Tensor, return_state: bool) -> LMOutput:
        raise NotImplementedError

    # ---- bookkeeping --------------------------------------------------------------------
    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())
        return n - self.embeddings.weight.numel() if exclude_embeddings else n

    def flops_per_byte(self, seq_len: int, training: bool = True) -> float:
        """Approximate matmul FLOPs per byte (x3 for forward+backward when training).

        Level s sees 1/prod(N_<s) of the bytes (target ratios); each of its weights costs 2 FLOPs per
        position, attention adds 4 * D * (keys attended) per position. Elementwise work and the SSD
        scan are not counted (nanoGPT-style MFU accounting), so Mamba-heavy models look less
        efficient than they are.
        """
        return flops_per_byte(self, seq_len, training)


class HNetLM(_ByteLM):
    """Bytes -> embedding -> HNet (level 0) -> lm_head. Keys match the reference checkpoints."""

    backbone: HNet

    def __init__(self, config: HNetConfig) -> None:
        if not config.is_hierarchical:
            raise ValueError("HNetLM needs a hierarchical arch_layout; use IsotropicLM for a flat one")
        super().__init__(config)
        self.backbone = HNet(config, 0)
        self._finish_init()

    def init_weights(self, std: float = 0.02) -> None:
        super().init_weights(std)
        init_hnet(self.backbone, 0, std)

    def _run(self, h: torch.Tensor, mask: torch.Tensor, return_state: bool) -> LMOutput:
        res: HNetOutput = self.backbone(h, mask, return_state)
        last = res.hidden_states
        return LMOutput(logits=last, last_hidden=last, mask=mask, stages=res.stages, inner=res.inner,
                        state=res.state)


class IsotropicLM(_ByteLM):
    """The flat byte-level baseline: one Isotropic stack at byte resolution, same interface."""

    backbone: Isotropic

    def __init__(self, config: HNetConfig) -> None:
        if config.is_hierarchical:
            raise ValueError("IsotropicLM needs a single-level arch_layout like ['m8'] or ['m2T4m2']")
        super().__init__(config)
        self.backbone = Isotropic(config.arch_layout[0], config, 0)
        self._finish_init()

    def init_weights(self, std: float = 0.02) -> None:
        super().init_weights(std)
        init_isotropic(self.backbone, max(1, self.backbone.height), std)

    def _run(self, h: torch.Tensor, mask: torch.Tensor, return_state: bool) -> LMOutput:
        if return_state:
            last, state = self.backbone(h, mask, return_state=True)
        else:
            last, state = self.backbone(h, mask), None
        return LMOutput(logits=last, last_hidden=last, mask=mask, inner=InnerOutput(last, mask), state=state)


def build_model(config: HNetConfig) -> HNetLM | IsotropicLM:
    """HNetLM for a hierarchical layout, IsotropicLM for a flat one."""
    return HNetLM(config) if config.is_hierarchical else IsotropicLM(config)

