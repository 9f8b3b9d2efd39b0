"""The project's one error hierarchy: every error a user can fix derives from `HNetBioError`.

The model core raises `ConfigError` and `CheckpointError`; `modalities.errors.InputError` (a bad
input file) and `pipelines.errors.UsageError` (arguments that do not fit together) derive from the
same root. The CLI prints ``str(err)`` of any `HNetBioError` as one line and exits with its
`exit_code` (2, the Unix convention for bad usage or input, unless a subclass says otherwise);
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class HNetBioError(Exception):
    """Base class for errors a user can fix (bad config, bad checkpoint, bad input, bad arguments)."""

    exit_code: int = 2


class ConfigError(HNetBioError, ValueError):
    """A model config or training recipe that cannot work (unknown key, bad value, inconsistent lists)."""


class CheckpointError(HNetBioError):
    """A checkpoint that cannot be loaded into the model it describes (missing/unexpected keys, shapes)."""
