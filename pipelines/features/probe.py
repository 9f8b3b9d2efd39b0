"""The linear probe and its report: standardised features -> LogisticRegression, C chosen by CV.

Metrics on the test set come with 95% bootstrap intervals (resampling test examples, 1000 times,
percentile method); AUROC is one-vs-rest macro for more than two classes. Without a test set
(a user's labels file with no split), predictions are out-of-fold over stratified 5-fold CV, with C
chosen inside each training fold, and the same bootstrap runs over those predictions.

Two probes scored on the same examples are compared in pairs (`paired_gap`): every resample draws
one set of example indices for both, so what the examples share (a window every feature set finds
hard) cancels, and the gap's interval is far tighter than two separate intervals would suggest.
That is the test of "trained features beat the same network with random weights".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 7))
CV_FOLDS = 5
BOOTSTRAP = 1000


def probe(seed: int = 0, folds: int = CV_FOLDS) -> Any:
    """StandardScaler + LogisticRegression with C picked by stratified k-fold accuracy (GridSearchCV)."""
    # why local: scikit-learn takes about a second to import, and the CLI imports every job (and so
    # this module) just to build its parser
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=3000))])
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return GridSearchCV(pipe, {"logreg__C": list(C_GRID)}, cv=cv, scoring="accuracy", n_jobs=1)


@dataclass(frozen=True)
class Metric:
    """A point value with its 95% bootstrap interval [low, high]."""

    value: float
    low: float
    high: float

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "ci95": [self.low, self.high]}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class ProbeMetrics:
    """The three numbers every probe row reports."""

    accuracy: Metric
    macro_f1: Metric
    auroc: Metric

    def each(self) -> tuple[Metric, Metric, Metric]:
        return self.accuracy, self.macro_f1, self.auroc

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy.to_json(), "macro_f1": self.macro_f1.to_json(),
                "auroc": self.auroc.to_json()}


@dataclass(frozen=True)
class Predictions:
    """What a probe said about each scored example, kept so that two probes scored on the same
    examples can be compared in pairs. y, pred: (N,) labels; proba: (N, C) in the order of
    classes (C,)."""

    y: np.ndarray
    pred: np.ndarray
    proba: np.ndarray
    classes: np.ndarray

    def scores(self, idx: np.ndarray) -> tuple[float, float, float]:
        """(accuracy, macro-F1, AUROC) on the examples ``idx`` (with repeats, for the bootstrap)."""
        y, pred = self.y[idx], self.pred[idx]
        return (float(np.mean(y == pred)), _macro_f1(y, pred, self.classes),
                _auroc(y, self.proba[idx], self.classes))

    def metrics(self, seed: int = 0, n_boot: int = BOOTSTRAP) -> ProbeMetrics:
        """Accuracy, macro-F1 and AUROC with percentile bootstrap 95% intervals (plain numpy, so
        1000 resamples cost milliseconds; tests hold the point values equal to scikit-learn's)."""
        return _bootstrap(self.scores, len(self.y), seed, n_boot)


@dataclass(frozen=True)
class ProbeScore:
    """One probe fitted and scored: its metrics, the C that CV chose, that C's CV accuracy, how
    the metrics were measured (held-out test set or out-of-fold CV), and its predictions."""

    metrics: ProbeMetrics
    c: float
    cv_accuracy: float
    evaluation: str
    predictions: Predictions


def _binary_auroc(pos: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney AUROC with midranks for ties; NaN without both classes."""
    n1 = int(pos.sum())
    n0 = pos.size - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(score.size)
    sorted_scores = score[order]
    # midranks: positions of equal scores share their average rank
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def _auroc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    """Binary AUROC on the second class's probability; one-vs-rest macro for more classes."""
    if len(classes) == 2:
        return _binary_auroc(y == classes[1], proba[:, 1])
    per = [_binary_auroc(y == c, proba[:, j]) for j, c in enumerate(classes)]
    return float("nan") if any(np.isnan(per)) else float(np.mean(per))


def _macro_f1(y: np.ndarray, pred: np.ndarray, classes: np.ndarray) -> float:
    f1 = []
    for c in classes:
        tp = float(np.sum((pred == c) & (y == c)))
        denom = float(np.sum(pred == c) + np.sum(y == c))
        f1.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1))


def _bootstrap(score: Callable[[np.ndarray], tuple[float, float, float]], n: int, seed: int,
               n_boot: int) -> ProbeMetrics:
    """``score`` on all n examples, with percentile 95% intervals over ``n_boot`` resamples of them."""
    point = score(np.arange(n))
    rng = np.random.default_rng(seed)
    boots = np.array([score(rng.integers(0, n, n)) for _ in range(n_boot)])
    out = []
    for j in range(3):
        col = boots[:, j][~np.isnan(boots[:, j])]
        lo, hi = (np.percentile(col, [2.5, 97.5]) if col.size else (np.nan, np.nan))
        out.append(Metric(point[j], float(lo), float(hi)))
    return ProbeMetrics(*out)


def paired_gap(first: Predictions, second: Predictions, seed: int = 0,
               n_boot: int = BOOTSTRAP) -> ProbeMetrics:
    """``first`` minus ``second`` in each metric, on the same examples, with paired bootstrap 95%
    intervals (each resample scores both on one draw of example indices)."""
    if not (np.array_equal(first.y, second.y) and np.array_equal(first.classes, second.classes)):
        raise ValueError("paired gap: the two probes were not scored on the same examples and classes")

    def gap(idx: np.ndarray) -> tuple[float, float, float]:
        a, b = first.scores(idx), second.scores(idx)
        return a[0] - b[0], a[1] - b[1], a[2] - b[2]

    return _bootstrap(gap, len(first.y), seed, n_boot)


def folds_for(y: np.ndarray) -> int:
    """5, or fewer when a class has fewer than 5 examples (stratified folds need one per class)."""
    return int(min(CV_FOLDS, np.unique(y, return_counts=True)[1].min()))


def fit_and_score(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                  y_test: np.ndarray | None, seed: int = 0,
                  n_boot: int = BOOTSTRAP) -> ProbeScore:
    """Fit the probe on train and score test; or out-of-fold CV when there is no test set."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict  # why: see `probe`

    search = probe(seed, folds_for(y_train))
    if x_test is None or y_test is None:
        outer = StratifiedKFold(folds_for(y_train), shuffle=True, random_state=seed + 1)
        proba = cross_val_predict(search, x_train, y_train, cv=outer, method="predict_proba")
        classes = np.unique(y_train)
        pred = classes[proba.argmax(1)]
        seen = Predictions(y_train, pred, proba, classes)
        search.fit(x_train, y_train)
        return ProbeScore(seen.metrics(seed, n_boot), search.best_params_["logreg__C"],
                          float(search.best_score_), "out-of-fold (5-fold CV)", seen)
    search.fit(x_train, y_train)
    classes = search.classes_
    proba = search.predict_proba(x_test)
    pred = classes[proba.argmax(1)]
    seen = Predictions(y_test, pred, proba, classes)
    return ProbeScore(seen.metrics(seed, n_boot), search.best_params_["logreg__C"],
                      float(search.best_score_), "held-out test set", seen)
