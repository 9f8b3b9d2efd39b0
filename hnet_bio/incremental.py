"""Incremental inference: prefill a prompt in one forward, then advance one byte at a time.

`prefill(model, ids, mask)` runs the same computation as `model(ids, mask)` while keeping, per
layer, what the next byte needs (see `cache.py`). `step(model, byte, state)` then costs O(1) per
byte at level 0: Mamba layers update a fixed-size state, the router compares against one stored
vector, and the inner level runs only for the rows whose router fires at this byte (recursively,
so a 2-stage model's innermost level runs only where both routers fire). Rows of a batch are
independent: each fires at its own bytes, and inner attention caches hold per-row lengths.

These functions mirror `Block.forward`, `Isotropic.forward` and `HNet.forward` using the layers'
own parameters and sub-modules; tests hold prefill + steps equal to the parallel forward.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hnet_bio.cache import (
    DeChunkState,
    HNetState,
    IsotropicState,
    KVCache,
    MambaCache,
    RoutingState,
    put_rows,
    select_rows,
)
from hnet_bio.dc import P_CLAMP
from hnet_bio.dtypes import wide
from hnet_bio.hnet import HNet
from hnet_bio.layers.attention import CausalMHA
from hnet_bio.layers.block import Isotropic
from hnet_bio.layers.mamba2 import Mamba2
from hnet_bio.layers.ssd import ssd_step
from hnet_bio.lm import HNetLM, IsotropicLM, check_mask

State = HNetState | IsotropicState
GLOBAL_KV_MIN = 64  # initial slots of a global KV cache beyond the prompt (grows by doubling)


# ---- prefill ---------------------------------------------------------------------------------
def prefill_kv(mixer: CausalMHA, x: torch.Tensor, mask: torch.Tensor) -> KVCache:
    """KV cache after the (right-padded) sequence x (B, L, D); only valid positions are kept."""
    b, l, _ = x.shape
    positions = torch.arange(l, device=x.device)
    _, k, v = mixer.qkv(x, positions)  # (B, L, H, d)
    lengths = mask.sum(-1)  # (B,)
    if mixer.window_size < 0:
        cap = l + GLOBAL_KV_MIN
        pad = (0, 0, 0, 0, 0, cap - l)
        pos = torch.where(mask, positions[None], -1)
        return KVCache(F.pad(k, pad), F.pad(v, pad), F.pad(pos, (0, cap - l), value=-1), -1)
    s = mixer.window_size + 1
    idx = lengths[:, None] - s + torch.arange(s, device=x.device)[None]  # (B, S) last S positions
    take = idx.clamp(min=0)[..., None, None].expand(-1, -1, *k.shape[2:])
    slot = (idx % s)[..., None, None].expand_as(take)  # a permutation of the S slots per row
    kc = torch.zeros(b, s, *k.shape[2:], dtype=k.dtype, device=k.device).scatter(1, slot, k.gather(1, take))
    vc = torch.zeros_like(kc).scatter(1, slot, v.gather(1, take))
    pos = torch.full((b, s), -1, dtype=torch.long, device=x.device).scatter(1, idx % s, idx.clamp(min=-1))
    return KVCache(kc, vc, pos, mixer.window_size)


def prefill_isotropic(
    iso: Isotropic, h: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, IsotropicState]:
    """Isotropic.forward on h (B, L, D) that also returns the per-layer caches."""
    residual = None
    caches: list[MambaCache | KVCache] = []
    for layer in iso.layers:
        residual = wide(h) if residual is None else residual + wide(h)
        x = layer.norm1(residual, out_dtype=h.dtype)
        if isinstance(layer.mixer, Mamba2):
            out, conv, ssm = layer.mixer(x, mask=mask, return_state=True)
            caches.append(MambaCache(conv, ssm))
        else:
            out = layer.mixer(x)
            caches.append(prefill_kv(layer.mixer, x, mask))
        if layer.mlp is not None:
            residual = residual + wide(out)
            out = layer.mlp(layer.norm2(residual, out_dtype=h.dtype))
        h = out
    final = wide(h) if residual is None else residual + wide(h)
    return iso.rmsnorm(final, out_dtype=h.dtype), IsotropicState(caches, mask.sum(-1))


def _last_valid(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x (B, L, D) -> (B, D) at each row's last valid position."""
    idx = (mask.sum(-1) - 1).clamp(min=0)
    return x[torch.arange(x.shape[0], device=x.device), idx]


def prefill_hnet(hnet: HNet, h: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, HNetState]:
    """HNet.forward on h (B, L, D_in) that also returns the nested state."""
    d_in = h.shape[-1]
    if hnet.pad_dimension is not None:
        h = torch.cat([h, hnet.pad_dimension.to(h.dtype).expand(*h.shape[:-1], -1)], dim=-1)
    if hnet.is_innermost:
        out, iso_state = prefill_isotropic(hnet.main_network, h, mask)
        return out[..., :d_in], HNetState(main=iso_state)
    x, enc_state = prefill_isotropic(hnet.encoder, h, mask)  # (B, L, D)
    residual = hnet.residual_proj(wide(x).to(hnet.residual_proj.weight.dtype))
    route = hnet.routing_module(x, mask)
    chunks, chunk_mask, order = hnet.chunk_layer(x, route.boundary_mask)
    inner, inner_state = prefill_hnet(hnet.main_network, chunks, chunk_mask)
    y = hnet.dechunk_layer(inner, route.boundary_prob, route.boundary_mask, order)  # (B, L, D)
    zbar_last = wide(_last_valid(y, mask)).to(residual.dtype)
    y = (wide(y) + residual).to(x.dtype)  # the straight-through factor is exactly 1 forward
    y, dec_state = prefill_isotropic(hnet.decoder, y, mask)
    routing = RoutingState(_last_valid(x, mask), mask.any(-1))
    state = HNetState(inner_state, enc_state, routing, DeChunkState(zbar_last), dec_state)
    return y[..., :d_in], state


@torch.no_grad()
def prefill(
    model: HNetLM | IsotropicLM, input_ids: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, State]:
    """input_ids (B, L) right-padded bytes, mask (B, L) -> logits (B, L, V), state after each row."""
    mask = check_mask(input_ids, mask)
    h = model.embeddings(input_ids.long())  # (B, L, D0)
    if isinstance(model, HNetLM):
        last, state = prefill_hnet(model.backbone, h, mask)
    else:
        last, state = prefill_isotropic(model.backbone, h, mask)
    return _logits(model, last), state


# ---- one step --------------------------------------------------------------------------------
def step_mamba(mixer: Mamba2, u: torch.Tensor, cache: MambaCache) -> torch.Tensor:
    """u (B, D) -> (B, D); the recurrence Mamba2.forward computes in parallel, for one token."""
    b = u.shape[0]
    z, xbc, dt = mixer.split_projection(mixer.in_proj(u))
    window = torch.cat([cache.conv.to(xbc.dtype), xbc.unsqueeze(-1)], dim=-1)  # (B, conv_dim, d_conv)
    cache.conv = window[..., 1:]
    conv = (window * mixer.conv1d.weight.squeeze(1)).sum(-1) + mixer.conv1d.bias
    x, B, C = mixer.split_xbc(F.silu(conv))
    dt = F.softplus(wide(dt) + wide(mixer.dt_bias))  # (B, H)
    A = -torch.exp(wide(mixer.A_log))  # (H,)
    rep = mixer.nheads // mixer.ngroups
    xh = x.view(b, mixer.nheads, mixer.headdim)
    Bh = B.view(b, mixer.ngroups, mixer.d_state).repeat_interleave(rep, 1).to(dt.dtype)  # (B, H, N)
    Ch = C.view(b, mixer.ngroups, mixer.d_state).repeat_interleave(rep, 1).to(dt.dtype)
    cache.ssm = ssd_step(cache.ssm.to(dt.dtype), wide(xh) * dt[..., None], dt * A, Bh)
    y = torch.einsum("bhpn,bhn->bhp", cache.ssm, Ch).to(x.dtype) + xh * mixer.D.to(x.dtype)[:, None]
    return mixer.out_proj(mixer.norm(y.reshape(b, mixer.d_inner), z))


def step_attention(
    mixer: CausalMHA, x: torch.Tensor, cache: KVCache, positions: torch.Tensor
) -> torch.Tensor:
    """x (B, D) at positions (B,) -> (B, D), attending the cached keys plus its own."""
    b = x.shape[0]
    q, k, v = mixer.qkv(x.unsqueeze(1), positions.unsqueeze(1))  # (B, 1, H, d)
    cache.write(k[:, 0], v[:, 0], positions)
    allowed = cache.visible(positions)[:, None, None, :]  # (B, 1, 1, S)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2), cache.k.transpose(1, 2), cache.v.transpose(1, 2), attn_mask=allowed
    )  # (B, H, 1, d)
    return mixer.out_proj(out.reshape(b, mixer.d_model))


def step_isotropic(iso: Isotropic, h: torch.Tensor, state: IsotropicState) -> torch.Tensor:
    """h (B, D) -> (B, D) for one more token per row."""
    residual = None
    for layer, cache in zip(iso.layers, state.layers):
        residual = wide(h) if residual is None else residual + wide(h)
        x = layer.norm1(residual, out_dtype=h.dtype)
        if isinstance(layer.mixer, Mamba2):
            out = step_mamba(layer.mixer, x, cache)
        else:
            out = step_attention(layer.mixer, x, cache, state.length)
        if layer.mlp is not None:
            residual = residual + wide(out)
            out = layer.mlp(layer.norm2(residual, out_dtype=h.dtype))
        h = out
    state.length = state.length + 1
    final = wide(h) if residual is None else residual + wide(h)
    return iso.rmsnorm(final, out_dtype=h.dtype)


def step_hnet(hnet: HNet, h: torch.Tensor, state: HNetState) -> torch.Tensor:
    """h (B, D_in) -> (B, D_in). The inner level advances only for rows whose router fires."""
    d_in = h.shape[-1]
    if hnet.pad_dimension is not None:
        h = torch.cat([h, hnet.pad_dimension.to(h.dtype).expand(h.shape[0], -1)], dim=-1)
    if hnet.is_innermost:
        assert isinstance(state.main, IsotropicState)
        return step_isotropic(hnet.main_network, h, state.main)[..., :d_in]
    assert state.encoder is not None and state.routing is not None and state.dechunk is not None
    assert state.decoder is not None
    x = step_isotropic(hnet.encoder, h, state.encoder)  # (B, D)
    residual = hnet.residual_proj(wide(x).to(hnet.residual_proj.weight.dtype))
    routing = state.routing
    p = hnet.routing_module.boundary_prob(routing.last_hidden.to(x.dtype), x)  # (B,)
    p = torch.where(routing.has_seen, p, torch.ones_like(p))
    routing.last_hidden = x
    routing.has_seen = torch.ones_like(routing.has_seen)
    fired = p > 0.5
    rows = fired.nonzero().squeeze(-1)
    zbar = state.dechunk.last_value
    if rows.numel():
        inner_state = state.main
        assert isinstance(inner_state, HNetState)
        everyone = rows.numel() == h.shape[0]
        sub = inner_state if everyone else select_rows(inner_state, rows)
        z = step_hnet(hnet.main_network, x.index_select(0, rows), sub)  # (R, D)
        if not everyone:
            put_rows(inner_state, rows, sub)
        pc = wide(p).clamp(P_CLAMP, 1 - P_CLAMP).index_select(0, rows)[:, None].to(zbar.dtype)
        zbar = zbar.clone()
        zbar[rows] = pc * wide(z).to(zbar.dtype) + (1 - pc) * zbar[rows]
        state.dechunk.last_value = zbar
    y = (wide(zbar.to(x.dtype)).to(residual.dtype) + residual).to(x.dtype)
    return step_isotropic(hnet.decoder, y, state.decoder)[..., :d_in]


@torch.no_grad()
def step(model: HNetLM | IsotropicLM, byte: torch.Tensor, state: State) -> torch.Tensor:
    """byte (B,) the next byte of every row -> logits (B, V) for the byte after it."""
    h = model.embeddings(byte.long())  # (B, D0)
    if isinstance(model, HNetLM):
        assert isinstance(state, HNetState)
        last = step_hnet(model.backbone, h, state)
    else:
        assert isinstance(state, IsotropicState)
        last = step_isotropic(model.backbone, h, state)
    return _logits(model, last)


def _logits(model: HNetLM | IsotropicLM, last: torch.Tensor) -> torch.Tensor:
    return wide(model.lm_head(last))
