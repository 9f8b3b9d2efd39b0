"""Errors the jobs raise; `pipelines.cli` turns any of them into one line and an exit status.

Jobs never import the CLI: they raise these (or the core's `ConfigError`/`CheckpointError`, or the
modalities' `InputError`), all of which derive from `hnet_bio.errors.HNetBioError`. Re-exported
here so a job needs one import for every error it may raise.
"""

from __future__ import annotations

from hnet_bio.errors import CheckpointError, ConfigError, HNetBioError
from modalities.errors import InputError

__all__ = ["CheckpointError", "ConfigError", "HNetBioError", "InputError", "JobFailed", "UsageError"]


class UsageError(HNetBioError):
    """Arguments that are missing, out of range or do not fit together (exit status 2)."""


class JobFailed(HNetBioError):
    """The job ran and could not finish (e.g. training diverged); earlier outputs are intact (exit 1)."""

    exit_code = 1
