"""Classification metrics for SER: UAR (macro recall), WAR (accuracy), confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts, rows = reference class, columns = predicted class."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def recall_per_class(cm: np.ndarray) -> np.ndarray:
    """Recall of each class; NaN for a class with no reference example."""
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def uar(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> float:
    """Unweighted average recall over the classes present in ``y_true``."""
    if len(y_true) == 0:
        return float("nan")
    return float(np.nanmean(recall_per_class(confusion_matrix(y_true, y_pred, num_classes))))


def war(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Weighted average recall, i.e. accuracy."""
    if len(y_true) == 0:
        return float("nan")
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def precision_recall_f1(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix.

    A class never predicted has precision 0 (as sklearn's ``zero_division=0``); a class with
    no reference example has NaN recall and F1, and is left out of macro averages.
    """
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = recall_per_class(cm)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    f1 = np.where(support > 0, f1, np.nan)
    return precision, recall, f1


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes present in the reference."""
    return float(np.nanmean(precision_recall_f1(cm)[2]))


def row_normalise(cm: np.ndarray) -> np.ndarray:
    """Each reference row divided by its count (rows with no example stay 0)."""
    rows = cm.sum(axis=1, keepdims=True)
    return np.where(rows > 0, cm / np.maximum(rows, 1), 0.0)


def uar_from_cm(cm: np.ndarray) -> float:
    return float(np.nanmean(recall_per_class(cm)))


def war_from_cm(cm: np.ndarray) -> float:
    return float(np.trace(cm) / cm.sum())


def score_cm(cm: np.ndarray, classes: Sequence[str]) -> dict:
    """All scores of one test set, as a JSON-ready dict (rates in [0, 1])."""
    precision, recall, f1 = precision_recall_f1(cm)
    support = cm.sum(axis=1)
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": None if support[i] == 0 else float(recall[i]),
            "f1": None if support[i] == 0 else float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }
    return {
        "n": int(cm.sum()),
        "uar": uar_from_cm(cm),
        "war": war_from_cm(cm),
        "macro_f1": macro_f1(cm),
        "classes": list(classes),
        "per_class": per_class,
        "confusion": cm.astype(int).tolist(),
    }
