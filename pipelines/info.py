"""`hnet-bio info`: versions, device, fused-kernel availability, and optionally a model summary.

``environment_info`` and ``model_summary`` are small and used by this job only, so they live here.
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path
from typing import Any

import torch

import hnet_bio
from hnet_bio import kernels


def environment_info() -> dict[str, Any]:
    """What a bug report needs: versions, threads, device and which fused kernels would run."""
    return {
        "hnet_bio": hnet_bio.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu",
        "fused_kernels": kernels.available(),
        "pure_forced": kernels.pure_forced(),
    }


def model_summary(config_path: Path, seq_len: int = 1024) -> dict[str, Any]:
    """Parameters, levels and FLOPs/byte of a config, built on the meta device (no memory)."""
    config = hnet_bio.HNetConfig.from_json(config_path)
    with torch.device("meta"):
        model = hnet_bio.build_model(config)
    return {
        "config": str(config_path),
        "class": type(model).__name__,
        "levels": config.num_levels,
        "arch_layout": config.arch_layout,
        "d_model": config.d_model,
        "parameters": model.num_parameters(),
        "target_ratio": config.target_ratios(),
        f"train_flops_per_byte@{seq_len}": round(model.flops_per_byte(seq_len)),
    }


def _run(args: argparse.Namespace) -> int:
    info = environment_info()
    if args.config:
        info = {**info, "model": model_summary(Path(args.config), args.seq_len)}
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="versions, device, fused kernels; --config for a model summary")
    p.add_argument("--config", help="a model config JSON (ours or a reference one) to summarise")
    p.add_argument("--seq-len", type=int, default=1024, help="sequence length for the FLOPs estimate")
    p.set_defaults(func=_run)
