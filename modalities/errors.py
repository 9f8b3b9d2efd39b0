"""Typed input errors: every message names the file and the problem, so the CLI can print one line.

Library code raises these instead of letting a parser's internal exception escape, because a user
who feeds a bad FASTA needs to know *which* file and *what* is wrong with it, not a traceback.
`InputError` derives from the project's one root, `hnet_bio.errors.HNetBioError`, which the CLI
prints as one line with exit status 2.
"""

from __future__ import annotations

import os

from hnet_bio.errors import HNetBioError


class InputError(HNetBioError):
    """A problem with a user's input file; ``str(err)`` is ``"<file>: <problem>"``."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = os.fspath(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MissingInputError(InputError):
    """The named file does not exist (or is not a regular file)."""


class FastaFormatError(InputError):
    """A sequence file (FASTA, GenBank, EMBL, GFF3) is empty, malformed, truncated or inconsistent."""


class RegionError(InputError):
    """A region names an unknown record, lies past its end, or cannot be parsed (also bad BED lines)."""


class AnnotationError(InputError):
    """A GenBank/GFF3 annotation could not be read."""


class AudioFormatError(InputError):
    """An audio file is empty, unreadable, or has no samples."""


class CorpusError(InputError):
    """A named corpus is unknown or not fetched, or a list of paths cannot form one corpus."""
