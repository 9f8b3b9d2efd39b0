"""A shipped model's card facts: what `hnet-bio package` measured and recorded, as dataclasses.

A shipped model's metadata.json holds the ordinary checkpoint facts (`CheckpointMetadata`: model
class, modality, byte convention, window length, training bytes, step) and, in its ``extra``, the
facts of its card: the name, the weights file, how it was trained, what it scores on which bytes,
the regression slice, how it was packaged and its known limitations. `CardFacts.from_metadata`
parses them once; the card (`pipelines.packaging.card`), the model list
(`pipelines.packaging.registry`) and the regression test read attributes. `CardFacts.metadata_json`
writes the whole metadata.json back in the order `hnet-bio package` has always written it, so a
shipped file reads and re-renders byte for byte.

Each class spells its JSON keys once, as its field names, in file order; a field listed in
``_OMIT_NONE`` is left out of the file when it is None (present only for some models), any other
None is written as null.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, TypeVar

from hnet_bio.errors import CheckpointError
from hnet_bio.metadata import CheckpointMetadata

F = TypeVar("F", bound="_Facts")


class _Facts:
    """JSON in field order, nested facts by their declared class; one-line errors on a bad file."""

    _OMIT_NONE: ClassVar[tuple[str, ...]] = ()
    _NESTED: ClassVar[dict[str, type[_Facts]]] = {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.name in self._OMIT_NONE:
                continue
            out[f.name] = value.to_json() if isinstance(value, _Facts) else value
        return out

    @classmethod
    def from_json(cls: type[F], data: Any, where: str) -> F:
        if not isinstance(data, dict):
            raise CheckpointError(f"{where}: expected a JSON object, found {type(data).__name__}")
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        unknown = sorted(set(data) - set(names))
        missing = [n for n in names if n not in data and n not in cls._OMIT_NONE]
        if unknown or missing:
            what = "; ".join(x for x in (f"unknown {', '.join(unknown)}" if unknown else "",
                                         f"missing {', '.join(missing)}" if missing else "") if x)
            raise CheckpointError(f"{where}: not the card facts hnet-bio package writes ({what})")
        values = {}
        for name in names:
            value = data.get(name)
            nested = cls._NESTED.get(name)
            if nested is not None and value is not None:
                value = nested.from_json(value, f"{where}.{name}")
            values[name] = value
        return cls(**values)


@dataclass(frozen=True)
class Measurement(_Facts):
    """bits/byte and bytes per chunk of one model on one set of windows."""

    bits_per_byte: float
    predicted_bytes: int
    windows: int
    bytes_per_chunk: list[float]  # one per stage, outermost first


@dataclass(frozen=True, kw_only=True)
class Coverage(_Facts):
    """Which bytes a set of windows covers: a corpus split (``split``, ``units``) or one file of a
    corpus (``file``, ``genus``, ``records``); ``split_bytes`` is the size of what was cut."""

    _OMIT_NONE = ("split", "units", "file", "genus", "records")

    corpus: str
    split: str | None = None
    units: list[str] | None = None
    file: str | None = None
    genus: str | None = None
    records: int | None = None
    split_bytes: int


@dataclass(frozen=True)
class AnchorFacts(_Facts):
    """The classical anchors on a card: best order-k Markov, every order, xz and zstd (bits/byte)."""

    markov_best_order: int
    markov: float
    markov_by_order: list[float]
    xz: float
    zstd: float


@dataclass(frozen=True)
class MeasuredSet(_Facts):
    """One evaluation of the card: what the bytes are, the model's numbers, the anchors on them."""

    _OMIT_NONE = ("split", "units", "file", "genus", "records", "anchors")
    _NESTED: ClassVar[dict[str, type[_Facts]]] = {"anchors": AnchorFacts}

    what: str
    corpus: str
    split: str | None
    units: list[str] | None
    file: str | None
    genus: str | None
    records: int | None
    split_bytes: int
    bits_per_byte: float
    predicted_bytes: int
    windows: int
    bytes_per_chunk: list[float]
    window_bytes: int
    anchors: AnchorFacts | None = None

    @classmethod
    def of(cls, what: str, coverage: Coverage, m: Measurement, window_bytes: int,
           anchors: AnchorFacts | None) -> MeasuredSet:
        return cls(what=what, **coverage.__dict__, **m.__dict__, window_bytes=window_bytes, anchors=anchors)


@dataclass(frozen=True)
class EvaluationFacts(_Facts):
    """The card's held-out numbers: the rule, the held-out split, for DNA a genus absent from training.

    held_out_strains: for a corpus that holds out a whole genus (``dna-bacteria-genus``), the other
    held-out files as well, the sister strains of the trained species (the split neither trains on).
    """

    _OMIT_NONE = ("absent_genus", "anchor_note", "held_out_strains")
    _NESTED: ClassVar[dict[str, type[_Facts]]] = {"held_out": MeasuredSet, "absent_genus": MeasuredSet,
                                                   "held_out_strains": MeasuredSet}

    rule: str
    held_out: MeasuredSet
    absent_genus: MeasuredSet | None = None
    anchor_note: str | None = None  # why there are no anchors, when they were not measured
    held_out_strains: MeasuredSet | None = None


@dataclass(frozen=True)
class VersionRecord(_Facts):
    """One earlier version of a shipped model, as its card said: kept in the newer card's history."""

    version: int
    packaged: str
    sha256: str
    corpus: str
    steps: int
    train_bytes: int
    epochs: float
    parameters: int
    held_out: str  # what the held-out number is on, in a few words
    held_out_bpb: float
    held_out_strains_bpb: float | None
    absent_genus_bpb: float | None

    @classmethod
    def of(cls, meta: CheckpointMetadata, facts: CardFacts) -> VersionRecord:
        ev, t = facts.evaluation, facts.training
        strains = ev.held_out_strains
        return cls(version=facts.version or 1, packaged=facts.packaged.date, sha256=facts.weights.sha256,
                   corpus=t.corpus, steps=t.steps, train_bytes=meta.train_bytes or 0, epochs=t.epochs,
                   parameters=facts.parameters, held_out=held_out_label(ev.held_out),
                   held_out_bpb=ev.held_out.bits_per_byte,
                   held_out_strains_bpb=strains.bits_per_byte if strains else None,
                   absent_genus_bpb=ev.absent_genus.bits_per_byte if ev.absent_genus else None)


def held_out_label(ev: MeasuredSet) -> str:
    """A few words for a held-out set: its corpus, its split and what it holds."""
    units = ev.units or []
    return f"`{ev.corpus}` {ev.split or 'all'}: {', '.join(units[:6])}" + (", ..." if len(units) > 6 else "")


@dataclass(frozen=True)
class SliceCoverage(_Facts):
    """The regression slice: the first ``windows_per_file`` windows of each of ``files`` (tests/data)."""

    files: list[str]
    windows_per_file: int
    window_bytes: int


@dataclass(frozen=True)
class RegressionSlice(_Facts):
    """The slice's numbers with the shipped weights, and with the float32 training checkpoint."""

    files: list[str]
    windows_per_file: int
    window_bytes: int
    bits_per_byte: float
    predicted_bytes: int
    windows: int
    bytes_per_chunk: list[float]
    fp32_bits_per_byte: float

    @classmethod
    def of(cls, coverage: SliceCoverage, shipped: Measurement, fp32: Measurement) -> RegressionSlice:
        return cls(**coverage.__dict__, **shipped.__dict__, fp32_bits_per_byte=fp32.bits_per_byte)


@dataclass(frozen=True)
class WeightsFacts(_Facts):
    """The weights file as shipped: its name, size, digest and storage precision."""

    file: str
    bytes: int
    sha256: str
    dtype: str


@dataclass(frozen=True)
class TrainingFacts(_Facts):
    """How the model was trained, read from its run directory (docs/models.md, "How a card is made").

    checkpoint_choice: "last", "best", a step, or "path" (a checkpoint directory given directly).
    wall_time_s: the logged training time of every session, summed (None if nothing was logged).
    recipe_differences: dotted key -> [value in the recipe file, value in the run].
    """

    corpus: str
    corpus_description: str
    corpus_package: str | None
    unit_kind: str
    split_units: int
    split_names: list[str]
    split_bytes: int
    epochs: float
    stages: int
    steps: int
    max_steps: int
    step_bytes: int
    recipe: str
    recipe_differences: dict[str, list[Any]]
    command: str
    sessions: int
    wall_time_s: float | None
    wall_time_note: str
    hardware: str
    checkpoint_choice: str
    source_checkpoint: str
    target_ratio: list[float]


@dataclass(frozen=True)
class PackagedFacts(_Facts):
    """When and with what the card was made, and the exact command."""

    date: str
    torch: str
    hnet_bio: str
    command: str


@dataclass(frozen=True)
class CardFacts(_Facts):
    """Everything a shipped model's card states beyond `CheckpointMetadata`."""

    _OMIT_NONE = ("regression_slice", "version", "history")
    _NESTED: ClassVar[dict[str, type[_Facts]]] = {
        "weights": WeightsFacts, "training": TrainingFacts, "evaluation": EvaluationFacts,
        "regression_slice": RegressionSlice, "packaged": PackagedFacts}

    name: str
    parameters: int
    weights: WeightsFacts
    training: TrainingFacts
    evaluation: EvaluationFacts
    regression_slice: RegressionSlice | None
    packaged: PackagedFacts
    limitations: list[str]
    version: int | None = None  # None: a card from before versions were counted, version 1
    history: list[dict[str, Any]] | None = None  # earlier versions (`VersionRecord` JSON), oldest first

    def previous_versions(self) -> list[VersionRecord]:
        return [VersionRecord.from_json(h, f"history[{i}]") for i, h in enumerate(self.history or [])]

    @classmethod
    def from_metadata(cls, meta: CheckpointMetadata, where: str = "metadata.json") -> CardFacts | None:
        """The card facts in ``meta.extra``; None for a checkpoint that was never packaged."""
        if "evaluation" not in meta.extra:
            return None
        names = {f.name for f in fields(cls)}
        return cls.from_json({k: v for k, v in meta.extra.items() if k in names}, where)

    def metadata_json(self, meta: CheckpointMetadata) -> dict[str, Any]:
        """The shipped model's whole metadata.json, in the order `hnet-bio package` writes it."""
        facts = self.to_json()
        return {"model_class": meta.model_class, "name": facts.pop("name"), "modality": meta.modality,
                "byte_convention": meta.byte_convention, "seq_len": meta.seq_len,
                **({"sample_rate": meta.sample_rate} if meta.sample_rate else {}),
                "train_bytes": meta.train_bytes, "step": meta.step, "trained_by": meta.trained_by, **facts}


@dataclass(frozen=True)
class SliceRecord(_Facts):
    """tests/data/shipped/NAME.json: what the regression test must measure again, and on what.

    The fields repeat `RegressionSlice`'s flat, in the file's key order, because the file is flat:
    nesting them would change a committed file format for the sake of the dataclass.
    """

    name: str
    modality: str
    seq_len: int
    sample_rate: int | None
    files: list[str]
    windows_per_file: int
    window_bytes: int
    bits_per_byte: float
    predicted_bytes: int
    windows: int
    bytes_per_chunk: list[float]
    fp32_bits_per_byte: float
    target_ratio: list[float]
    weights_sha256: str
    step: int
    torch: str

    @property
    def regression_slice(self) -> RegressionSlice:
        return RegressionSlice(**{f.name: getattr(self, f.name) for f in fields(RegressionSlice)})

    @classmethod
    def of(cls, meta: CheckpointMetadata, facts: CardFacts) -> SliceRecord:
        if facts.regression_slice is None or meta.seq_len is None or meta.step is None:
            raise CheckpointError(f"{facts.name}: no regression slice, window length or step to record")
        return cls(name=facts.name, modality=meta.modality, seq_len=meta.seq_len,
                   sample_rate=meta.sample_rate, **facts.regression_slice.__dict__,
                   target_ratio=facts.training.target_ratio, weights_sha256=facts.weights.sha256,
                   step=meta.step, torch=facts.packaged.torch)
