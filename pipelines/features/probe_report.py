"""The report of ``hnet-bio classify``: one row per feature set, and paired gaps between the rows a
reviewer compares first, written as JSON and as Markdown.

`ClassifyReport.to_json` is the results file's object (keys in the order the file has always had,
``paired_gaps`` last), `markdown` its tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.features.probe import ProbeMetrics, ProbeScore


@dataclass(frozen=True)
class ProbeRow:
    """One feature set and how the probe did on it.

    model: "trained", "random-init" or "baseline" for rows from a network (None for GC content and
    k-mers). step: the checkpoint step a network row was trained to, written only when
    ``shows_step`` (the chunk-pooling control rows leave it out; it may be null). kmer_cv: the
    cross-validated accuracy of each k the k-mer row chose among.
    """

    features: str
    dims: int
    score: ProbeScore
    probe_seconds: float
    model: str | None = None
    step: int | None = None
    shows_step: bool = False
    kmer_cv: dict[int, float] | None = None

    def to_json(self) -> dict[str, Any]:
        optional = (("model", self.model, self.model is not None), ("step", self.step, self.shows_step),
                    ("kmer_cv", self.kmer_cv, self.kmer_cv is not None))
        score = self.score
        return {"features": self.features, "dims": self.dims, **{k: v for k, v, shown in optional if shown},
                "metrics": score.metrics.to_json(), "C": score.c, "cv_accuracy": score.cv_accuracy,
                "evaluation": score.evaluation, "probe_seconds": self.probe_seconds}


@dataclass(frozen=True)
class ProbeGap:
    """Row ``first`` minus row ``second`` (their ``features`` names), scored on the same examples:
    each metric's difference with its paired bootstrap 95% interval (`probe.paired_gap`)."""

    first: str
    second: str
    gap: ProbeMetrics

    @property
    def clear(self) -> bool:
        """Whether the accuracy gap's interval lies wholly on one side of zero."""
        return self.gap.accuracy.low > 0 or self.gap.accuracy.high < 0

    def to_json(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second, "metrics": self.gap.to_json()}


@dataclass(frozen=True)
class ClassifyReport:
    """What a classify run measured, on which task and checkpoints (as the user named them)."""

    task: str
    description: str
    modality: str
    n_train: int
    n_test: int
    classes: list[str]
    checkpoint: str
    checkpoint_step: int | None
    baseline_checkpoint: str | None
    seed: int
    info: dict[str, Any]  # how the task's examples were drawn (free-form, as the task gives it)
    rows: list[ProbeRow] = field(default_factory=list)
    gaps: list[ProbeGap] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task, "description": self.description, "modality": self.modality,
                "n_train": self.n_train, "n_test": self.n_test, "classes": self.classes,
                "checkpoint": self.checkpoint, "checkpoint_step": self.checkpoint_step,
                "baseline_checkpoint": self.baseline_checkpoint, "seed": self.seed, "info": self.info,
                "rows": [r.to_json() for r in self.rows], "paired_gaps": [g.to_json() for g in self.gaps]}


def markdown(report: ClassifyReport) -> str:
    """A heading line and one table row per feature set (metrics with their 95% intervals, and C);
    then, when there are any, the paired gaps."""
    head = (f"**{report.task}**: {report.description} ({report.n_train} train / {report.n_test} "
            f"test; checkpoint step {report.checkpoint_step})\n\n")
    lines = ["| features | dims | accuracy | macro-F1 | AUROC | C |", "|---|---|---|---|---|---|"]
    for r in report.rows:
        cells = [f"{m.value:.3f} [{m.low:.3f}, {m.high:.3f}]" for m in r.score.metrics.each()]
        lines.append(f"| {r.features} | {r.dims} | {' | '.join(cells)} | {r.score.c:g} |")
    if report.gaps:
        n = report.n_test or report.n_train
        lines += ["", f"Paired gaps, first minus second, on the same {n} examples (both resampled together; "
                      "accuracy's interval clear of 0: yes/no):", "",
                  "| first | second | accuracy | macro-F1 | AUROC | clear |", "|---|---|---|---|---|---|"]
        for g in report.gaps:
            cells = [f"{m.value:+.3f} [{m.low:+.3f}, {m.high:+.3f}]" for m in g.gap.each()]
            lines.append(f"| {g.first} | {g.second} | {' | '.join(cells)} | {'yes' if g.clear else 'no'} |")
    return head + "\n".join(lines)
