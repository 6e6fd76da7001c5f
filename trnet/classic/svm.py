"""``baseline_egemaps``: eGeMAPSv02 functionals, standardised, RBF SVM.

A config whose ``model.kind`` is ``egemaps_svm`` is this system: the kind
:class:`trnet.systems.svm.EgemapsSvm` (registered in :mod:`trnet.systems.registry`), which
``trnet train`` and ``trnet decode`` find by that key, signs, trains and decodes a fold
with what this module computes::

    system: baseline_egemaps
    model: {kind: egemaps_svm, c_grid: [0.1, 1, 10], gamma: scale, class_weight: balanced}
    data: {snrs: [20, 15, 10, 5, 0], include_clean: true, train_noise: esc50_train,
           dev_noise: esc50_dev}

Training uses every training utterance in *every* training condition (clean and each
``<train_noise>_<snr>``: the conditions baseline_noisy draws from), so one fit sees the
whole multi-condition set. ``C`` is chosen on dev UAR, every dev utterance in every dev
condition; the model is then the fit on the training set with that C (the dev set is never
trained on, as for the deep systems). Posteriors are the softmax of the one-vs-rest
decision values at a temperature chosen on dev (the lowest cross-entropy of a grid,
:func:`_choose_temperature`); the decode dirs are those of ``trnet decode``, with the
standardised functionals as the embedding. The fit and the temperature are deterministic:
``train.seed`` draws nothing (it is signed with the config, as every kind's, so
``--seed`` gives a fold of its own with the same numbers). ``<out>/model.npz`` +
``model.json`` hold the scaler and the SVM (:mod:`trnet.classic.svm_model`: arrays and
scalars, no pickle), ``config.yaml`` the resolved config, ``train.log`` the dev UAR of each
C, ``.done`` comes last.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from trnet.classic.egemaps import example_functionals
from trnet.classic.svm_model import SvmModel, save_model
from trnet.config_file import read_config
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.train.config import condition_list

KIND = "egemaps_svm"
CLASS_WEIGHTS = ("balanced", "none")


@dataclass
class SvmModelConfig:
    kind: str
    c_grid: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0])
    gamma: str = "scale"  # scale | auto (sklearn's) or a number written as a string
    class_weight: str = "balanced"


@dataclass
class SvmDataConfig:
    snrs: list[int]
    include_clean: bool = True
    train_noise: str = "esc50_train"
    dev_noise: str = "esc50_dev"


@dataclass
class SvmTrainConfig:
    seed: int = 0  # draws nothing (the fit is deterministic); signed, as every kind's seed


@dataclass
class SvmConfig:
    system: str
    model: SvmModelConfig
    data: SvmDataConfig
    train: SvmTrainConfig = field(default_factory=SvmTrainConfig)

    def train_conditions(self) -> list[str]:
        return condition_list(self.data.include_clean, self.data.train_noise, self.data.snrs)

    def dev_conditions(self) -> list[str]:
        return condition_list(self.data.include_clean, self.data.dev_noise, self.data.snrs)


def svm_config_from_dict(raw: Any, where: str = "config") -> SvmConfig:
    from trnet.strict import build

    if not isinstance(raw, dict):
        raise TrnetError(f"{where}: expected a mapping at the top level")
    cfg = build(SvmConfig, raw, where)
    if cfg.model.kind != KIND:
        raise TrnetError(f"{where}: model.kind must be {KIND}")
    if cfg.model.class_weight not in CLASS_WEIGHTS:
        raise TrnetError(f"{where}: model.class_weight must be one of {', '.join(CLASS_WEIGHTS)}")
    if not cfg.model.c_grid or min(cfg.model.c_grid) <= 0:
        raise TrnetError(f"{where}: model.c_grid must be a non-empty list of positive numbers")
    _gamma(cfg.model.gamma, where)
    if not cfg.train_conditions():
        raise TrnetError(f"{where}: no training condition (include_clean false and no snrs)")
    return cfg


def load_svm_config(path: str | Path) -> SvmConfig:
    return svm_config_from_dict(*read_config(path))


def dump_svm_config(cfg: SvmConfig) -> str:
    import dataclasses

    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False)


def _gamma(value: str, where: str) -> str | float:
    if value in ("scale", "auto"):
        return value
    try:
        return float(value)
    except ValueError:
        raise TrnetError(f"{where}: model.gamma must be scale, auto or a number") from None


def _fit(x: np.ndarray, y: np.ndarray, c: float, cfg: SvmConfig) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    svc = SVC(
        C=c,
        kernel="rbf",
        gamma=_gamma(cfg.model.gamma, "config"),
        class_weight=None if cfg.model.class_weight == "none" else "balanced",
        decision_function_shape="ovr",
    )
    return make_pipeline(StandardScaler(), svc).fit(x, y)


TEMPERATURES = tuple(float(t) for t in np.geomspace(0.05, 20.0, 41))


def _softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    z = values / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _choose_temperature(values: np.ndarray, y: Sequence[int]) -> float:
    """The temperature of the grid with the lowest cross-entropy on (values, y)."""
    rows = np.arange(len(y))
    losses = [-np.log(_softmax(values, t)[rows, y] + 1e-12).mean() for t in TEMPERATURES]
    return TEMPERATURES[int(np.argmin(losses))]


def _decision_values(model: Any, x: np.ndarray) -> np.ndarray:
    """(N, C) one-vs-rest decision values of a fitted pipeline (training) or a
    :class:`SvmModel` (decoding), columns in the toolkit's class order (absent classes:
    -inf)."""
    from trnet.contract import CLASSES

    classes = model.classes if isinstance(model, SvmModel) else model.classes_
    values = np.asarray(model.decision_function(x), dtype=np.float64)
    out = np.full((len(x), len(CLASSES)), -np.inf)
    for j, k in enumerate(classes):
        out[:, int(k)] = values[:, j]
    return out


def svm_signature(cfg: SvmConfig, fold: int, data_root: Path, dump: Path) -> dict:
    """What decides an SVM fold (:func:`trnet.train.signature.fold_signature`): the config,
    the fold's lists and the audio of every condition read (checked first: a fold is never
    signed with an input that is not there yet)."""
    import dataclasses

    from trnet.train.data import dump_digests
    from trnet.train.fold_data import load_fold
    from trnet.train.signature import fold_signature

    load_fold(data_root, fold)
    conditions = sorted({*cfg.train_conditions(), *cfg.dev_conditions()})
    for condition in conditions:
        wav_scp = dump / condition / "wav.scp"
        if not wav_scp.is_file():
            raise TrnetError(f"{wav_scp}: audio table not found (condition {condition!r})")
    inputs = {"dump": dump_digests(dump, conditions)}
    return fold_signature(dataclasses.asdict(cfg), fold, data_root, dump, inputs)


def fit_fold(cfg: SvmConfig, fold: int, data_root: Path, dump: Path, out: Path) -> Path:
    """Choose C on dev UAR, fit on the training set, choose the temperature on dev; write
    the fold's files into ``out`` (the caller has claimed it, :mod:`trnet.systems.base`)."""
    from trnet.contract import CLASSES
    from trnet.scoring.metrics import uar
    from trnet.train.fold_data import load_fold

    data = load_fold(Path(data_root), fold)
    train = [(u, c) for c in cfg.train_conditions() for u in data.train]
    dev = [(u, c) for c in cfg.dev_conditions() for u in data.dev]
    out.mkdir(parents=True, exist_ok=True)
    with atomic_write(out / "config.yaml") as f:
        f.write(dump_svm_config(cfg))
    log = [
        f"{cfg.system} fold {fold}: {len(data.train)} train, {len(data.dev)} dev utts, "
        f"{len(train)} train / {len(dev)} dev examples"
    ]
    start = time.time()
    x_train, x_dev = example_functionals(dump, train), example_functionals(dump, dev)
    y_train = np.array([data.labels[u] for u, _ in train])
    y_dev = [data.labels[u] for u, _ in dev]
    log.append(f"functionals: {time.time() - start:.1f} s")
    best_c, best_uar, model = cfg.model.c_grid[0], -1.0, None
    for c in cfg.model.c_grid:
        fitted = _fit(x_train, y_train, c, cfg)
        score = uar(y_dev, fitted.predict(x_dev).tolist(), len(CLASSES))
        log.append(f"C {c:g}: dev UAR {score:.4f}")
        if score > best_uar:
            best_c, best_uar, model = c, score, fitted
    temperature = _choose_temperature(_decision_values(model, x_dev), y_dev)
    log.append(f"best C {best_c:g}: dev UAR {best_uar:.4f}; temperature {temperature:.4g}")
    meta = {"fold": fold, "c": best_c, "dev_uar": best_uar, "temperature": temperature}
    save_model(out, SvmModel.from_pipeline(model), meta)
    with atomic_write(out / "train.log") as f:
        f.write("".join(line + "\n" for line in log))
    with atomic_write(out / ".done") as f:
        f.write(f"best_c {best_c:g}\ndev_uar {best_uar:.6f}\n")
    print("\n".join(log))
    return out


def posteriors(
    model: SvmModel, temperature: float, dump: Path, utts: Sequence[str], condition: str
) -> tuple[np.ndarray, np.ndarray]:
    """Posteriors and embeddings (the standardised functionals) of ``utts`` in
    ``condition``: what a decode dir holds."""
    x = example_functionals(dump, [(u, condition) for u in utts])
    return functionals_posteriors(model, temperature, x), model.transform(x).astype(np.float32)


def functionals_posteriors(model: SvmModel, temperature: float, x: np.ndarray) -> np.ndarray:
    """(N, classes) posteriors of (N, 88) raw functionals ``x`` (decoding, model packages)."""
    return _softmax(_decision_values(model, np.asarray(x, np.float64)), temperature)
