"""The one analysis path: a checkpoint over sequences of any length -> per-byte, per-stage boundaries.

Every consumer (``hnet-bio boundaries``, ``hnet-bio embed``, `HNetEmbedder`, the boundary browser)
calls `analyze` / `analyze_many` (or the streaming `iter_pieces`) and reads an `Analysis`.

    from hnet_bio.checkpoint import load_pretrained
    from pipelines.analysis import analyze
    model, meta = load_pretrained("runs/x/checkpoints/best")
    a = analyze(model, b"ACGT...", window=4096, stride=3072, hidden=["stage0"])
    a.boundary_prob[0], a.boundary[0], a.chunk_index[0]       # (L,) each, stage 0
    starts, ends = a.chunk_bounds(0)                            # 0-based half-open chunks

Beside it: `boundary_export` (what ``hnet-bio boundaries`` writes), `boundary_files` (BED,
bedGraph, CSV texts the job and the browser's export share), `chunk_summary` (bytes per chunk per
stage), `boundary_stats` (boundaries against CDS annotations, with fixed-grid and random controls).
"""

from pipelines.analysis.progress import ProgressBar
from pipelines.analysis.result import DECODER, INNER, Analysis, hidden_levels
from pipelines.analysis.run import Piece, analyze, analyze_many, as_bytes, iter_pieces, num_stages
from pipelines.analysis.windows import DEFAULT_STRIDE, DEFAULT_WINDOW, Window, plan_windows

__all__ = [
    "DECODER", "DEFAULT_STRIDE", "DEFAULT_WINDOW", "INNER", "Analysis", "Piece", "ProgressBar", "Window",
    "analyze", "analyze_many", "as_bytes", "hidden_levels", "iter_pieces", "num_stages", "plan_windows",
]
