"""Output paths: check that ``--out`` can be written before any work, and report a failed write
(full disk, read-only file system) as one line naming the user's path.

Why a probe rather than ``os.access``: ``access(2)`` reasons from permission bits (root passes
almost always), while ACLs, SELinux, NFS servers and exhausted inodes can still refuse a create;
creating (and at once removing) a hidden file is the question the job will actually ask. A probe
cannot see that the disk is nearly full, which is why failed writes later are reported as well.
Why the user's path in every message: the atomic writer works on hidden temporary names
(``.model.safetensors.x1y2.tmp``) that mean nothing to a user and are gone by the time it is read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipelines.errors import JobFailed, UsageError
from pipelines.units import human_bytes

__all__ = ["check_free_space", "check_output_dir", "check_output_file", "describe_os_error",
           "reporting_write_errors"]


def describe_os_error(exc: OSError) -> str:
    """``No space left on device`` for ENOSPC etc.: the strerror alone, never the (temporary) file name."""
    if exc.errno is not None:
        return os.strerror(exc.errno)
    return str(exc.strerror or exc)


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (the directory the job's ``mkdir -p`` writes into)."""
    node = path.absolute()
    while not node.exists() and node != node.parent:
        node = node.parent
    return node


def _probe(directory: Path) -> OSError | None:
    """Create and remove a hidden file in ``directory``; the error if that fails."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".hnet-bio-write-test-")
    except OSError as exc:
        return exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def _check_parent_chain(path: Path, option: str) -> None:
    """The directory that will hold ``path`` exists or can be made, and is writable."""
    base = _nearest_existing(path.parent if path.name else path)
    if not base.is_dir():
        raise UsageError(f"{option} {path}: {base} is a {_kind(base)}, not a directory")
    problem = _probe(base)
    if problem is not None:
        raise UsageError(f"{option} {path}: cannot write in {base} ({describe_os_error(problem)})")


def _kind(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "broken symlink"
    if path.is_file():
        return "regular file"
    if path.is_dir():
        return "directory"
    return "special file"


def check_output_dir(path: str | os.PathLike[str], option: str = "--out") -> None:
    """A run directory: absent (its parent writable) or a writable directory; else one UsageError."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise UsageError(f"{option} {path} is a {_kind(path)}, not a directory; "
                             "give a new or empty directory")
        problem = _probe(path)
        if problem is not None:
            raise UsageError(f"{option} {path}: directory is not writable ({describe_os_error(problem)})")
        return
    _check_parent_chain(path, option)


def check_output_file(path: str | os.PathLike[str], option: str = "--out") -> None:
    """An output file: not a directory, and its directory exists or can be made and is writable."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory; give a file name")
    _check_parent_chain(path, option)


def check_free_space(path: str | os.PathLike[str], needed: int, what: str, option: str = "--out") -> None:
    """Refuse (UsageError) when the file system that will hold ``path`` has less than ``needed`` bytes
    free: a run that cannot write its first checkpoint would only fail after training up to it."""
    free = shutil.disk_usage(_nearest_existing(Path(path))).free
    if free < needed:
        raise UsageError(f"{option} {path}: only {human_bytes(free)} free there, and {what} needs about "
                         f"{human_bytes(needed)}")


@contextlib.contextmanager
def reporting_write_errors(what: str, target: str | os.PathLike[str], hint: str = "") -> Iterator[None]:
    """Turn an OSError raised inside into JobFailed: "cannot write WHAT TARGET: REASON[; HINT]".

    Used around the writes a job makes after its work started (checkpoints, metrics, outputs), so
    a full or read-only disk is one line with the user's path and what to do, not a traceback.
    """
    try:
        yield
    except BrokenPipeError:  # a reader that left (`| head`): the CLI exits quietly, not an error
        raise
    except OSError as exc:
        reason = describe_os_error(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            reason += " (free some space)"
        raise JobFailed(f"cannot write {what} {target}: {reason}" + (f"; {hint}" if hint else "")) from None
