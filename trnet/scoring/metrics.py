"""Classification metrics for SER: UAR (macro recall), WAR (accuracy), confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLASSES = ("ang", "hap", "neu", "sad")
"""The 4-class set, in the order used for posteriors and confusion matrices."""


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
