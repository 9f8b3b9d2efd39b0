"""What a checkpoint says about its data: ``metadata.json``, read and validated once, as a dataclass.

Every job needs the same few facts of a checkpoint (is it a DNA or an audio model, does it keep
soft-masking, at what rate were its audio bytes sampled); reading them from a dict in each job
spelled every rule several times. `CheckpointMetadata.from_json` is the one reader: it checks
each known key's type and says in one line what is wrong, and `to_json` is the one writer.
Keys it does not know (a shipped model's card facts, a future version's additions) are kept
in ``extra`` and written back unchanged.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from hnet_bio.errors import CheckpointError

MODALITIES = ("dna", "audio")
# How bytes map to data (DESIGN.md, "Byte conventions").
ASCII_UPPER = "ascii-upper"  # DNA letters upper-cased, IUPAC kept
ASCII_SOFTMASK = "ascii-softmask"  # DNA letters, lower case = soft-masked
MULAW_8BIT = "mulaw-8bit"  # audio, 8-bit mu-law


@dataclass(frozen=True)
class CheckpointMetadata:
    """The facts of metadata.json (all optional on disk except what `save_pretrained` writes).

    modality: "dna" or "audio"; when the file does not say, inferred from the byte convention
    (mu-law is audio), else DNA (the oldest checkpoints recorded nothing).
    byte_convention: ``ascii-upper``, ``ascii-softmask`` or ``mulaw-8bit`` (None if unrecorded).
    sample_rate: audio bytes per second; None for DNA and for audio checkpoints that never said.
    corpus: the training corpus as its ``describe()`` put it (name, files, split, sizes).
    """

    # In the order pretraining writes them, so metadata.json reads as it always did.
    model_class: str | None = None
    modality: str = "dna"
    byte_convention: str | None = None
    corpus: dict[str, Any] = field(default_factory=dict)
    seq_len: int | None = None
    trained_by: str | None = None
    sample_rate: int | None = None
    train_bytes: int | None = None
    step: int | None = None
    eval_bpb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def soft_mask(self) -> bool:
        """Lower-case DNA letters are data (soft-masked repeats), not upper-cased on read."""
        return self.byte_convention is not None and "softmask" in self.byte_convention

    @property
    def is_audio(self) -> bool:
        return self.modality == "audio"

    def sample_rate_or(self, default: int) -> int:
        """The recorded audio rate, else ``default`` (checkpoints from before rates were recorded)."""
        return self.sample_rate or default

    def replace(self, **changes: Any) -> CheckpointMetadata:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_json(cls, data: Any, source: str = "metadata.json") -> CheckpointMetadata:
        """Validate ``data`` (parsed JSON) once; one-line CheckpointError naming ``source`` otherwise."""
        if not isinstance(data, dict):
            raise CheckpointError(f"{source}: expected a JSON object, found {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra", "modality"}
        values: dict[str, Any] = {}
        for key in known:
            if data.get(key) is not None:
                values[key] = _checked(key, data[key], source)
        values["modality"] = _modality(data, source)
        extra = {k: v for k, v in data.items() if k not in known and k != "modality"}
        return cls(**values, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """The metadata.json object: known keys that are set, then ``extra`` as it was read."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is not None and value != {}:
                out[f.name] = value
        return {**out, **self.extra}


_TYPES: dict[str, type | tuple[type, ...]] = {
    "model_class": str, "byte_convention": str, "sample_rate": int, "train_bytes": int, "step": int,
    "eval_bpb": (float, int), "seq_len": int, "corpus": dict, "trained_by": str,
}
_POSITIVE = ("sample_rate", "seq_len")
_NOT_NEGATIVE = ("step", "train_bytes")


def _checked(key: str, value: object, source: str) -> object:
    want = _TYPES[key]
    if isinstance(value, bool) or not isinstance(value, want):
        names = " or ".join(t.__name__ for t in (want if isinstance(want, tuple) else (want,)))
        raise CheckpointError(f"{source}: {key} must be {names}, found {value!r}")
    if key in _POSITIVE and isinstance(value, int) and value <= 0:  # (every _POSITIVE key is an int)
        raise CheckpointError(f"{source}: {key} must be positive, found {value}")
    if key in _NOT_NEGATIVE and isinstance(value, int) and value < 0:
        raise CheckpointError(f"{source}: {key} must not be negative, found {value}")
    if key == "eval_bpb" and isinstance(value, (int, float)) and not 0 <= value < math.inf:
        raise CheckpointError(f"{source}: eval_bpb must be a finite number >= 0, found {value!r}")
    if key == "eval_bpb" and isinstance(value, int):
        return float(value)
    return value


def _modality(data: dict[str, Any], source: str) -> str:
    if data.get("modality") is not None and not isinstance(data["modality"], str):
        raise CheckpointError(f"{source}: modality must be str, found {data['modality']!r}")
    modality = str(data.get("modality") or "").lower()
    if not modality:
        modality = "audio" if "mulaw" in str(data.get("byte_convention") or "").lower() else "dna"
    if modality not in MODALITIES:
        raise CheckpointError(f"{source}: modality {modality!r} is not supported (expected dna or audio)")
    return modality
