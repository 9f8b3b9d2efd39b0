"""The linear probe and its report: standardised features -> LogisticRegression, C chosen by CV.

Metrics on the test set come with 95% bootstrap intervals (resampling test examples, 1000 times,
percentile method); AUROC is one-vs-rest macro for more than two classes. Without a test set
(a user's labels file with no split), predictions are out-of-fold over stratified 5-fold CV, with C
chosen inside each training fold, and the same bootstrap runs over those predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

C_GRID = tuple(float(c) for c in np.logspace(-4, 2, 7))
CV_FOLDS = 5
BOOTSTRAP = 1000


def probe(seed: int = 0, folds: int = CV_FOLDS) -> GridSearchCV:
    """StandardScaler + LogisticRegression with C picked by stratified k-fold accuracy."""
    pipe = Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=3000))])
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return GridSearchCV(pipe, {"logreg__C": list(C_GRID)}, cv=cv, scoring="accuracy", n_jobs=1)


@dataclass
class Metric:
    value: float
    low: float
    high: float

    def as_dict(self) -> dict:
        return {"value": self.value, "ci95": [self.low, self.high]}

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _auroc(y: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")
    if len(classes) == 2:
        return float(roc_auc_score(y == classes[1], proba[:, 1]))
    present = np.isin(classes, y)
    if present.sum() < len(classes):
        return float("nan")
    return float(roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=classes))


def metrics(y: np.ndarray, pred: np.ndarray, proba: np.ndarray, classes: np.ndarray,
            seed: int = 0, n_boot: int = BOOTSTRAP) -> dict[str, Metric]:
    """Accuracy, macro-F1 and AUROC with percentile bootstrap 95% intervals."""
    def all3(idx: np.ndarray) -> tuple[float, float, float]:
        return (float(accuracy_score(y[idx], pred[idx])),
                float(f1_score(y[idx], pred[idx], average="macro", labels=classes, zero_division=0)),
                _auroc(y[idx], proba[idx], classes))

    point = all3(np.arange(len(y)))
    rng = np.random.default_rng(seed)
    boots = np.array([all3(rng.integers(0, len(y), len(y))) for _ in range(n_boot)])
    out = {}
    for j, name in enumerate(("accuracy", "macro_f1", "auroc")):
        col = boots[:, j][~np.isnan(boots[:, j])]
        lo, hi = (np.percentile(col, [2.5, 97.5]) if col.size else (np.nan, np.nan))
        out[name] = Metric(point[j], float(lo), float(hi))
    return out


def folds_for(y: np.ndarray) -> int:
    """5, or fewer when a class has fewer than 5 examples (stratified folds need one per class)."""
    return int(min(CV_FOLDS, np.unique(y, return_counts=True)[1].min()))


def fit_and_score(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray | None,
                  y_test: np.ndarray | None, seed: int = 0) -> dict:
    """Fit the probe on train and score test; or out-of-fold CV when there is no test set."""
    search = probe(seed, folds_for(y_train))
    if x_test is None or y_test is None:
        outer = StratifiedKFold(folds_for(y_train), shuffle=True, random_state=seed + 1)
        proba = cross_val_predict(search, x_train, y_train, cv=outer, method="predict_proba")
        classes = np.unique(y_train)
        pred = classes[proba.argmax(1)]
        m = metrics(y_train, pred, proba, classes, seed)
        search.fit(x_train, y_train)
        return {"metrics": m, "C": search.best_params_["logreg__C"], "cv_accuracy": float(search.best_score_),
                "evaluation": "out-of-fold (5-fold CV)"}
    search.fit(x_train, y_train)
    classes = search.classes_
    proba = search.predict_proba(x_test)
    pred = classes[proba.argmax(1)]
    return {"metrics": metrics(y_test, pred, proba, classes, seed), "C": search.best_params_["logreg__C"],
            "cv_accuracy": float(search.best_score_), "evaluation": "held-out test set"}
