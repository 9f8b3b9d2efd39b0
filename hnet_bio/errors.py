"""Typed errors of the model core. The CLI prints these as one line and exits non-zero."""

from __future__ import annotations


class HNetBioError(Exception):
    """Base class for errors a user can fix (bad config, bad checkpoint)."""


class ConfigError(HNetBioError, ValueError):
    """A model config that cannot describe a valid H-Net (unknown key, inconsistent stage lists)."""


class CheckpointError(HNetBioError):
    """A checkpoint that cannot be loaded into the model it describes (missing/unexpected keys, shapes)."""
