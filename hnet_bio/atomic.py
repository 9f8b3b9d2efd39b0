"""Atomic file writes, the one implementation the whole project uses.

A reader (or a crashed writer) never sees half a file: everything is written to a hidden temporary
file in the target's directory, flushed and fsync'ed, then moved into place with ``os.replace``
(atomic on POSIX file systems), and the directory entry is fsync'ed too. Files get the permissions
any normally written file would get (``0666 & ~umask``), not ``mkstemp``'s 0600. The model core,
the modalities (FASTA, WAV, caches) and the pipelines (checkpoints, metrics, reports) all write
through here.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "atomic_path", "atomic_write", "atomic_write_bytes", "atomic_write_json", "atomic_write_text",
    "default_file_mode", "fsync_dir", "os_error_of", "os_errors_of_writers",
]

_OS_ERROR_TEXT = re.compile(r"\(os error (\d+)\)")


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Persist a directory entry (a rename or a new file); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` for libraries that write by file name
    (safetensors, ``torch.save``); on clean exit it is fsync'ed and renamed onto ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, default_file_mode())
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, default_file_mode())  # some writers recreate the file with their own mode
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a binary temporary file beside ``path``; on clean exit it replaces ``path`` in one step."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_write(path) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int = 2) -> None:
    atomic_write_text(path, json.dumps(obj, indent=indent, default=str) + "\n")


def os_error_of(exc: BaseException) -> OSError | None:
    """The operating-system error behind a writer library's own exception, if there is one.

    Why: safetensors raises ``SafetensorError("... I/O error: No space left on device (os error
    28)")`` and ``torch.save`` a ``RuntimeError("[enforce fail ...] unexpected pos")`` whose
    ``__context__`` is the ``OSError`` the file object raised; neither is an ``OSError``, so a
    caller that reports failed writes as one line (a full disk) would see a bug instead. This
    finds the ``OSError`` in the exception chain, or the ``(os error N)`` in the message.
    """
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        if isinstance(node, OSError):
            return node
        match = _OS_ERROR_TEXT.search(str(node))
        if match:
            code = int(match.group(1))
            return OSError(code, os.strerror(code) if code in errno_codes.errorcode else str(node))
        node = node.__cause__ or node.__context__
    return None


@contextlib.contextmanager
def os_errors_of_writers(path: str | os.PathLike[str]) -> Iterator[None]:
    """Around a write made by a library (safetensors, ``torch.save``): re-raise the ``OSError``
    behind its own exception type (see `os_error_of`), naming ``path``; anything else unchanged."""
    try:
        yield
    except OSError:
        raise
    except Exception as exc:
        found = os_error_of(exc)
        if found is None:
            raise
        raise OSError(found.errno, found.strerror or str(found), os.fspath(path)) from exc
