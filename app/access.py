"""What the page may open when it is a server: files and checkpoints under the data root, uploads
up to a size.

`hnet-bio browse --data-root DIR` (required with a non-loopback ``--host``) sets the root; without
one the page is the user's own on 127.0.0.1 and opens any path they type, as every command does.
A typed path is resolved (``~``, symlinks, ``..``) before it is compared with the resolved root,
and before anything about it is said: a path outside the root gets the same refusal whether or
not it exists, so the page is no oracle for the server's files.
"""

from __future__ import annotations

import lzma
import os
from pathlib import Path

from modalities.seqio import compression, open_binary
from pipelines.errors import UsageError
from pipelines.runs.resolve import DEFAULT_DNA_CHECKPOINT, shipped_models

ENV_ROOT = "HNET_BIO_BROWSE_DATA_ROOT"
ENV_MAX_UPLOAD_MB = "HNET_BIO_BROWSE_MAX_UPLOAD_MB"
ENV_CHECKPOINT = "HNET_BIO_BROWSE_CHECKPOINT"
DEFAULT_MAX_UPLOAD_MB = 64
# A compressed upload may hold at most this many times its size once decompressed (a gzip "bomb"
# of a few MB would otherwise be read into memory as gigabytes); FASTA compresses 3-4x, xz ~4.5x.
EXPANSION_LIMIT = 16


def data_root() -> Path | None:
    """The resolved data root the server was started with, or None (no restriction)."""
    root = os.environ.get(ENV_ROOT, "")
    return Path(root).resolve() if root else None


def max_upload_bytes() -> int:
    return int(os.environ.get(ENV_MAX_UPLOAD_MB, "") or DEFAULT_MAX_UPLOAD_MB) * 1_000_000


def allowed_path(text: str) -> str:
    """The file path the user typed, if the page may open it (else a one-line refusal)."""
    path = os.path.expanduser(text)
    root = data_root()
    if root is not None and not Path(path).resolve().is_relative_to(root):
        raise UsageError(f"{text}: outside the data root of this server; only files under {root} "
                         "can be opened (hnet-bio browse --data-root)")
    return path


def allowed_checkpoint(spec: str) -> str:
    """The checkpoint the user named, if the page may load it: with a data root, a shipped model,
    the one the server started with, or a directory under the root."""
    root = data_root()
    if root is None or spec in shipped_models():
        return spec
    if spec == os.environ.get(ENV_CHECKPOINT, DEFAULT_DNA_CHECKPOINT):
        return spec
    path = spec.rsplit("@", 1)[0] if "@" in spec else spec
    if not Path(os.path.expanduser(path)).resolve().is_relative_to(root):
        raise UsageError(f"{spec}: outside the data root of this server; give a shipped model or a "
                         f"checkpoint under {root}")
    return spec


def check_upload(name: str, data: bytes) -> None:
    """Refuse an upload over the size limit (the server refuses larger ones first: this holds the
    same limit where no server enforces it) or a compressed one that expands past its share."""
    limit = max_upload_bytes()
    if len(data) > limit:
        raise UsageError(f"{name}: upload of {len(data) / 1e6:.1f} MB is over this server's limit of "
                         f"{limit / 1e6:.0f} MB (hnet-bio browse --max-upload-mb)")


def check_expansion(path: Path, name: str) -> None:
    """A compressed upload must decompress to at most `EXPANSION_LIMIT` times the upload limit;
    read in 1 MB blocks and stop at the limit, so a bomb costs no memory."""
    if compression(path) == "none":
        return
    cap, seen = EXPANSION_LIMIT * max_upload_bytes(), 0
    try:
        with open_binary(path) as fh:
            while block := fh.read(1 << 20):
                seen += len(block)
                if seen > cap:
                    break
    except (OSError, EOFError, lzma.LZMAError):
        return  # a damaged stream: the sequence reader names the problem in its own words
    if seen > cap:
        raise UsageError(f"{name}: decompresses to more than {cap / 1e6:.0f} MB "
                         f"({EXPANSION_LIMIT} x this server's upload limit)")
