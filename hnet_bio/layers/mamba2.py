"""Mamba-2 mixer in pure PyTorch with the reference's parameter names and shapes.

in_proj packs [z (d_inner) | x (d_inner) | B (g*n) | C (g*n) | dt (heads)]; x, B, C go through a
causal depthwise conv + SiLU; dt = softplus(dt + dt_bias); A = -exp(A_log); the scan is
`ssd_chunked` (or mamba_ssm's kernel on GPU); then y + D*x, gated RMSNorm with z, out_proj.

Incremental decoding: `forward(u, mask, return_state=True)` also returns the `MambaState` a prompt
leaves behind, and `step(u, state)` runs the same recurrence for one token per row (`ssd_step`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from hnet_bio import kernels
from hnet_bio.dtypes import wide
from hnet_bio.layers.conv import causal_depthwise_conv
from hnet_bio.layers.norm import RMSNormGated
from hnet_bio.layers.ssd import ssd_chunked, ssd_step

# The chunk length is a blocking choice, not part of the model: every chunk size computes the same
# recurrence. On the pure path the intra-chunk work per byte grows with the chunk, and chunks of 256
# (the reference's default) ran fwd + bwd 1.23-1.27x slower than 128 on a CPU core (D=128, L=4k and
# D=256, L=8k, d_state 128, headdim 64); below 128 the configured value is kept (64 and 128 were
# within noise for the small configs). The fused kernel keeps the configured value.
PURE_CHUNK_MAX = 128


@dataclass
class MambaState:
    """What the next token needs: the causal conv's input window and the SSM state."""

    conv: torch.Tensor  # (B, conv_dim, d_conv-1) raw pre-conv inputs, newest last
    ssm: torch.Tensor  # (B, H, P, N) in float32 (float64 for float64 models)


class Mamba2(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_state: int = 128,
        d_conv: int = 4,
        expand: int = 2,
        headdim: int = 64,
        ngroups: int = 1,
        chunk_size: int = 256,
        norm_eps: float = 1e-5,
        A_init_range: tuple[float, float] = (1.0, 16.0),
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init_floor: float = 1e-4,
    ) -> None:
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        self.headdim, self.ngroups, self.chunk_size = headdim, ngroups, chunk_size
        self.nheads = self.d_inner // headdim
        self.conv_dim = self.d_inner + 2 * ngroups * d_state
        d_in_proj = 2 * self.d_inner + 2 * ngroups * d_state + self.nheads

        # Parameter order mirrors the reference so state_dict listings read the same.
        dt = torch.exp(torch.rand(self.nheads) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))  # inverse softplus
        self.A_log = nn.Parameter(torch.log(torch.empty(self.nheads).uniform_(*A_init_range)))
        self.D = nn.Parameter(torch.ones(self.nheads))
        self.in_proj = nn.Linear(d_model, d_in_proj, bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, d_conv, groups=self.conv_dim, bias=True)
        self.norm = RMSNormGated(self.d_inner, group_size=self.d_inner // ngroups, eps=norm_eps)
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def split_projection(self, zxbcdt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., d_in_proj) -> z (..., d_inner), xBC (..., conv_dim), dt (..., nheads)."""
        z, xbc, dt = torch.split(zxbcdt, [self.d_inner, self.conv_dim, self.nheads], dim=-1)
        return z, xbc, dt

    def split_xbc(self, xbc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(..., conv_dim) -> x (..., d_inner), B and C (..., ngroups * d_state)."""
        gn = self.ngroups * self.d_state
        x, B, C = torch.split(xbc, [self.d_inner, gn, gn], dim=-1)
        return x, B, C

    @property
    def conv_bias(self) -> torch.Tensor:
        """conv1d.bias (conv_dim,): always present, conv1d is built with bias=True as the reference's."""
        bias = self.conv1d.bias
        assert bias is not None
        return bias

    # Recompute the mixer's activations in backward instead of saving them (see `recompute.py`).
    # A plain attribute, not a buffer: it never reaches the state_dict.
    recompute: bool = False

    def forward(
        self,
        u: torch.Tensor,
        mask: torch.Tensor | None = None,
        conv_state: torch.Tensor | None = None,
        ssm_state: torch.Tensor | None = None,
        return_state: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, MambaState]:
        """u (B, L, D) -> (B, L, D).

        mask (B, L) marks valid positions of right-padded rows: dt is zeroed after them, so the final
        SSM state equals the state at each row's last valid byte (outputs at valid positions do not
        depend on the padding anyway, the layer being causal). conv_state (B, conv_dim, d_conv-1) and
        ssm_state (B, H, P, N) continue from a cache; return_state also returns the new `MambaState`.
        With `recompute` set, a training forward saves only u (and mask) for backward and runs `mix`
        again there.
        """
        plain = not return_state and conv_state is None and ssm_state is None
        if self.recompute and plain and torch.is_grad_enabled():
            return checkpoint(self.mix, u, mask, None, None, False, use_reentrant=False)
        return self.mix(u, mask, conv_state, ssm_state, return_state)

    def mix(
        self, u: torch.Tensor, mask: torch.Tensor | None, conv_state: torch.Tensor | None,
        ssm_state: torch.Tensor | None, return_state: bool,
    ) -> torch.Tensor | tuple[torch.Tensor, MambaState]:
        """The mixer itself, arguments as in `forward` (which adds the recompute path)."""
        bsz, seqlen, _ = u.shape
        z, xbc, dt = self.split_projection(self.in_proj(u))  # xbc (B, L, conv_dim)
        if conv_state is None:
            history = xbc.new_zeros(bsz, self.d_conv - 1, self.conv_dim)
        else:
            history = conv_state.to(xbc.dtype).transpose(1, 2)
        padded = torch.cat([history, xbc], dim=1)  # (B, d_conv-1+L, conv_dim)
        xbc = causal_depthwise_conv(padded, self.conv1d.weight.squeeze(1), self.conv_bias, silu=True)
        x, B, C = self.split_xbc(xbc)  # (B, L, ...)

        dt = F.softplus(wide(dt) + wide(self.dt_bias))  # (B, L, H)
        if mask is not None:
            dt = dt * mask.unsqueeze(-1).to(dt.dtype)
        A = -torch.exp(wide(self.A_log))  # (H,)
        xh = x.reshape(bsz, seqlen, self.nheads, self.headdim)
        Bg = B.reshape(bsz, seqlen, self.ngroups, self.d_state)
        Cg = C.reshape(bsz, seqlen, self.ngroups, self.d_state)
        if kernels.use_fused("mamba_ssm", u):
            y, final = kernels.fused_ssd(xh, dt.to(xh.dtype), A, Bg, Cg, self.chunk_size, ssm_state)
        else:
            y, final = ssd_chunked(
                wide(xh) * dt.unsqueeze(-1),
                dt * A,
                Bg,
                Cg,
                min(self.chunk_size, PURE_CHUNK_MAX),
                None if ssm_state is None else wide(ssm_state),
            )
        y = y.to(x.dtype) + xh * self.D.to(x.dtype).unsqueeze(-1)  # (B, L, H, P)
        # z.contiguous(): the norm saves z for backward, and a view would keep all of in_proj's output
        out = self.out_proj(self.norm(y.reshape(bsz, seqlen, self.d_inner), z.contiguous()))
        if not return_state:
            return out
        return out, MambaState(self._conv_tail(padded, mask), final)

    def step(self, u: torch.Tensor, state: MambaState) -> torch.Tensor:
        """u (B, D) -> (B, D): one token of the recurrence `forward` computes in parallel."""
        b = u.shape[0]
        z, xbc, dt = self.split_projection(self.in_proj(u))
        window = torch.cat([state.conv.to(xbc.dtype), xbc.unsqueeze(-1)], dim=-1)  # (B, conv_dim, d_conv)
        state.conv = window[..., 1:]
        conv = (window * self.conv1d.weight.squeeze(1)).sum(-1) + self.conv_bias
        x, B, C = self.split_xbc(F.silu(conv))
        dt = F.softplus(wide(dt) + wide(self.dt_bias))  # (B, H)
        A = -torch.exp(wide(self.A_log))  # (H,)
        rep = self.nheads // self.ngroups
        xh = x.view(b, self.nheads, self.headdim)
        Bh = B.view(b, self.ngroups, self.d_state).repeat_interleave(rep, 1).to(dt.dtype)  # (B, H, N)
        Ch = C.view(b, self.ngroups, self.d_state).repeat_interleave(rep, 1).to(dt.dtype)
        state.ssm = ssd_step(state.ssm.to(dt.dtype), wide(xh) * dt[..., None], dt * A, Bh)
        y = torch.einsum("bhpn,bhn->bhp", state.ssm, Ch).to(x.dtype) + xh * self.D.to(x.dtype)[:, None]
        return self.out_proj(self.norm(y.reshape(b, self.d_inner), z))

    def _conv_tail(self, padded: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """The last d_conv-1 raw conv inputs before each row's end (its last valid position).

        padded (B, d_conv-1+L, conv_dim) -> (B, conv_dim, d_conv-1), the cache's layout."""
        k = self.d_conv - 1
        if mask is None:
            return padded[:, -k:].transpose(1, 2).contiguous()
        lengths = mask.sum(-1)  # (B,)
        # position of the last valid input in `padded` is (k - 1) + length; take k inputs ending there
        idx = lengths[:, None] + torch.arange(k, device=padded.device)[None]  # (B, k)
        return padded.gather(1, idx[:, :, None].expand(-1, -1, padded.shape[2])).transpose(1, 2).contiguous()
