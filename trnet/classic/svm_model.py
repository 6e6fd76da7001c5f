"""The fitted ``baseline_egemaps`` model on disk without pickle: ``model.npz`` + ``model.json``.

``model.npz`` holds the arrays of the fitted ``StandardScaler`` and RBF ``SVC`` (read with
``np.load(allow_pickle=False)``: plain numeric arrays, no code), ``model.json`` the scalars
(format, fold, C, dev UAR, posterior temperature). Decoding needs no sklearn: the scaler's
transform and the SVC's one-vs-rest decision function (libsvm's one-vs-one values, turned
into sklearn's ``decision_function_shape='ovr'`` votes + confidences) are computed here in
numpy from those arrays, equal to sklearn's to rounding. Every array is checked (names,
dtypes, shapes, finite values) before use: a file in an exp dir is untrusted input.
"""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trnet.errors import TrnetError
from trnet.io import atomic_write

FORMAT = "trnet-egemaps-svm-1"
ARRAYS = "model.npz"
META = "model.json"
LEGACY = "model.pkl"
ROWS_PER_BLOCK = 256
"""Test examples per kernel block (bounds the memory of the kernel matrix)."""


@dataclass(frozen=True)
class SvmModel:
    """A standardiser and an RBF SVC (libsvm's multi-class layout, classes as int labels)."""

    mean: np.ndarray  # (d,) StandardScaler.mean_
    scale: np.ndarray  # (d,) StandardScaler.scale_
    support_vectors: np.ndarray  # (n_sv, d), grouped by class in the order of classes
    dual_coef: np.ndarray  # (n_class - 1, n_sv)
    intercept: np.ndarray  # (n_class * (n_class - 1) / 2,) one per pair (i < j)
    n_support: np.ndarray  # (n_class,) support vectors per class
    classes: np.ndarray  # (n_class,) the class labels
    gamma: float  # the RBF gamma used (sklearn's 'scale' / 'auto' resolved)

    @classmethod
    def from_pipeline(cls, pipeline: Any) -> SvmModel:
        """The arrays of a fitted ``make_pipeline(StandardScaler(), SVC(kernel='rbf'))``."""
        scaler, svc = pipeline[0], pipeline[-1]
        return cls(
            mean=np.asarray(scaler.mean_, np.float64),
            scale=np.asarray(scaler.scale_, np.float64),
            support_vectors=np.asarray(svc.support_vectors_, np.float64),
            dual_coef=np.asarray(svc.dual_coef_, np.float64),
            intercept=np.asarray(svc.intercept_, np.float64),
            n_support=np.asarray(svc.n_support_, np.int64),
            classes=np.asarray(svc.classes_, np.int64),
            gamma=float(svc._gamma),  # the value fit used ('scale' resolved on the data)
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "mean": self.mean,
            "scale": self.scale,
            "support_vectors": self.support_vectors,
            "dual_coef": self.dual_coef,
            "intercept": self.intercept,
            "n_support": self.n_support,
            "classes": self.classes,
            "gamma": np.asarray(self.gamma, np.float64),
        }

    def transform(self, x: np.ndarray) -> np.ndarray:
        """StandardScaler.transform (the same operations in the same order)."""
        return (np.asarray(x, np.float64) - self.mean) / self.scale

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """(N, n_class) sklearn ``SVC.decision_function`` with ``decision_function_shape='ovr'``
        of the raw (unstandardised) features ``x``."""
        z = self.transform(x)
        ovo = np.concatenate(
            [self._ovo(z[i : i + ROWS_PER_BLOCK]) for i in range(0, len(z), ROWS_PER_BLOCK)]
        )
        return ovr_from_ovo(ovo, len(self.classes))

    def _ovo(self, z: np.ndarray) -> np.ndarray:
        """libsvm's one-vs-one decision values of standardised rows, one column per pair
        (i < j): positive means class i."""
        sv = self.support_vectors
        sq = (z**2).sum(1)[:, None] + (sv**2).sum(1)[None, :] - 2.0 * z @ sv.T
        kernel = np.exp(-self.gamma * np.maximum(sq, 0.0))
        start = np.concatenate([[0], np.cumsum(self.n_support)])
        n_class = len(self.classes)
        out = np.empty((len(z), n_class * (n_class - 1) // 2))
        p = 0
        for i in range(n_class):
            for j in range(i + 1, n_class):
                own_i = slice(start[i], start[i + 1])
                own_j = slice(start[j], start[j + 1])
                out[:, p] = (
                    kernel[:, own_i] @ self.dual_coef[j - 1, own_i]
                    + kernel[:, own_j] @ self.dual_coef[i, own_j]
                    + self.intercept[p]
                )
                p += 1
        return out


def ovr_from_ovo(ovo: np.ndarray, n_class: int) -> np.ndarray:
    """sklearn's one-vs-rest shape of one-vs-one values: each class's votes plus its summed
    confidence squashed into (-1/3, 1/3), which breaks ties without reversing a vote."""
    votes = np.zeros((len(ovo), n_class))
    confidence = np.zeros((len(ovo), n_class))
    p = 0
    for i in range(n_class):
        for j in range(i + 1, n_class):
            confidence[:, i] += ovo[:, p]
            confidence[:, j] -= ovo[:, p]
            votes[ovo[:, p] >= 0, i] += 1
            votes[ovo[:, p] < 0, j] += 1
            p += 1
    return votes + confidence / (3 * (np.abs(confidence) + 1))


def save_model(out: Path, model: SvmModel, meta: dict[str, Any]) -> None:
    """``out/model.npz`` (byte-identical for the same arrays: fixed zip dates) and
    ``out/model.json`` (``meta`` with the format), each written atomically."""
    with atomic_write(out / ARRAYS, "wb") as f, zipfile.ZipFile(f, "w") as archive:
        for name, array in model.arrays().items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.array(array, order="C"), allow_pickle=False)
    with atomic_write(out / META) as f:
        json.dump({"format": FORMAT, **meta}, f, indent=2)
        f.write("\n")


def load_model(exp_fold: Path) -> tuple[SvmModel, dict[str, Any]]:
    """The model and metadata of a trained fold; anything malformed is one TrnetError
    naming the file. A fold of an older trnet (``model.pkl`` only) is refused, never
    unpickled."""
    arrays_path, meta_path = exp_fold / ARRAYS, exp_fold / META
    if not arrays_path.is_file() and (exp_fold / LEGACY).is_file():
        raise TrnetError(
            f"{exp_fold / LEGACY}: a pickled model of an older trnet, not loaded (a pickle "
            f"can run code); retrain the fold: remove {exp_fold} and run trnet train again"
        )
    meta = _read_meta(meta_path)
    return _read_arrays(arrays_path), meta


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise TrnetError(f"{path}: cannot read the model metadata ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise TrnetError(f"{path}: not a {FORMAT} model (format {_format_of(meta)!r})")
    fold, temperature = meta.get("fold"), meta.get("temperature")
    if not isinstance(fold, int) or isinstance(fold, bool) or fold < 0:
        raise TrnetError(f"{path}: fold must be a non-negative integer, got {fold!r}")
    if not _positive(temperature):
        raise TrnetError(f"{path}: temperature must be a positive number, got {temperature!r}")
    return meta


def _format_of(meta: object) -> object:
    return meta.get("format") if isinstance(meta, dict) else type(meta).__name__


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


SHAPES = {  # name: (dtype kind, number of dimensions)
    "mean": ("f", 1),
    "scale": ("f", 1),
    "support_vectors": ("f", 2),
    "dual_coef": ("f", 2),
    "intercept": ("f", 1),
    "n_support": ("i", 1),
    "classes": ("i", 1),
    "gamma": ("f", 0),
}


def _read_arrays(path: Path) -> SvmModel:
    try:
        with np.load(path, allow_pickle=False) as npz:
            found = {name: npz[name] for name in SHAPES if name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        why = " ".join(str(err).split())[:200] or type(err).__name__
        raise TrnetError(f"{path}: cannot read the model ({why})") from None
    for name, (kind, ndim) in SHAPES.items():
        array = found.get(name)
        if array is None:
            raise TrnetError(f"{path}: no {name} array (not a trnet SVM model)")
        if array.dtype.kind != kind or array.ndim != ndim:
            raise TrnetError(f"{path}: {name} is a {array.ndim}-d {array.dtype} array")
        if kind == "f" and not np.isfinite(array).all():
            raise TrnetError(f"{path}: {name} has NaN or infinite values")
    model = SvmModel(
        **{
            k: v.astype(np.float64 if v.dtype.kind == "f" else np.int64)
            for k, v in found.items()
            if k != "gamma"
        },
        gamma=float(found["gamma"]),
    )
    _check_shapes(path, model)
    return model


def _check_shapes(path: Path, m: SvmModel) -> None:
    """The layout :meth:`SvmModel.decision_function` relies on (it indexes by these)."""
    from trnet.contract import CLASSES

    n_class, (n_sv, d) = len(m.classes), m.support_vectors.shape
    problems = [
        (n_class < 3, f"{n_class} classes (at least 3)"),
        (m.mean.shape != (d,) or m.scale.shape != (d,), "mean/scale not one value per feature"),
        (bool((m.scale <= 0).any()), "scale not positive"),
        (m.dual_coef.shape != (n_class - 1, n_sv), f"dual_coef of shape {m.dual_coef.shape}"),
        (m.intercept.shape != (n_class * (n_class - 1) // 2,), "one intercept per class pair"),
        (m.n_support.shape != (n_class,), "n_support not one count per class"),
        (bool((m.n_support < 0).any()) or int(m.n_support.sum()) != n_sv, "n_support sum"),
        (bool(((m.classes < 0) | (m.classes >= len(CLASSES))).any()), "class out of range"),
        (len(set(m.classes.tolist())) != n_class, "a class listed twice"),
        (not m.gamma > 0, "gamma not positive"),
    ]
    for bad, what in problems:
        if bad:
            raise TrnetError(f"{path}: inconsistent model arrays ({what})")
