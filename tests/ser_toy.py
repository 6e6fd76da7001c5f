"""A toy SER layout for the trainer and decode tests: folds, dumps and a tiny config.

Features carry learnable class structure: class k raises the band [20k, 20k + 20) of a
unit-noise log-Mel; noisy conditions add more noise the lower the SNR; the enhanced twin
is halfway between the noisy and the clean features.
"""

from __future__ import annotations

import json
from pathlib import Path

import kaldiio
import numpy as np

from trnet.contract import CLASSES, split_condition
from trnet.data.datadir import DataDir
from trnet.train.config import Config, config_from_dict

SPEAKERS = {
    "train": ["Ses01F", "Ses01M", "Ses02F", "Ses02M"],
    "dev": ["Ses03F"],
    "test": ["Ses03M"],
}
NOISY = ["esc50_train_10", "esc50_train_0", "esc50_dev_10", "esc50_dev_0", "esc50_0", "musan_0"]


def make_toy(root: Path, per_speaker: int = 8, seed: int = 0) -> tuple[Path, Path]:
    """Write ``root/folds/fold1/{train,dev,test}`` and ``root/dump/<condition>``."""
    rng = np.random.default_rng(seed)
    clean: dict[str, np.ndarray] = {}
    for split, speakers in SPEAKERS.items():
        utt2spk, utt2emo = {}, {}
        for spk in speakers:
            for i in range(per_speaker):
                utt, k = f"{spk}-{spk}_u{i:02d}", i % len(CLASSES)
                x = rng.normal(size=(int(rng.integers(20, 50)), 80)).astype(np.float32)
                x[:, 20 * k : 20 * k + 20] += 1.5
                clean[utt], utt2spk[utt], utt2emo[utt] = x, spk, CLASSES[k]
        d = root / "folds" / "fold1" / split
        DataDir({"utt2spk": utt2spk, "utt2emo": utt2emo}).write(d)
        (d / "corpus.json").write_text(
            json.dumps({"corpus": "iemocap", "root": "x", "generated": True})
        )
    for cond in ["clean", *NOISY]:
        level = 0.0 if cond == "clean" else 10 ** (-int(split_condition(cond)[1]) / 20)
        noisy = {
            u: x + level * rng.normal(size=x.shape).astype(np.float32) for u, x in clean.items()
        }
        _write(root / "dump" / cond, noisy)
        _write(root / "dump" / f"{cond}_enh", {u: (x + clean[u]) / 2 for u, x in noisy.items()})
    return root / "folds", root / "dump"


def _write(d: Path, feats: dict[str, np.ndarray]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    kaldiio.save_ark(str(d / "feats.ark"), feats, scp=str(d / "feats.scp"))


SYSTEMS = {
    "baseline_clean": dict(input="noisy", snrs=[], comp=False, bridge=False, alpha=0.0, beta=0.0),
    "baseline_noisy": dict(
        input="noisy", snrs=[10, 0], comp=False, bridge=False, alpha=0.0, beta=0.0
    ),
    "baseline_enhanced": dict(
        input="enhanced", snrs=[10, 0], comp=False, bridge=False, alpha=0.0, beta=0.0
    ),
    "trnet": dict(input="blend", snrs=[10, 0], comp=True, bridge=True, alpha=0.5, beta=0.5),
    "trnet_wo_low": dict(input="blend", snrs=[10, 0], comp=True, bridge=True, alpha=0.0, beta=0.5),
    "trnet_wo_high": dict(
        input="blend", snrs=[10, 0], comp=True, bridge=False, alpha=0.5, beta=0.0
    ),
}


def toy_config(
    system: str,
    z_clean_from: str = "exp/baseline_clean/fold{fold}",
    epochs: int = 3,
    **train: object,
) -> Config:
    s = SYSTEMS[system]
    raw = {
        "system": system,
        "model": {
            "channels": [4, 8],
            "emb_dim": 8,
            "hidden": 8,
            "compensation": s["comp"],
            "bridge": s["bridge"],
        },
        "data": {"input": s["input"], "snrs": s["snrs"], "max_len": 32},
        "loss": {
            "alpha": s["alpha"],
            "beta": s["beta"],
            "z_clean_from": z_clean_from if s["beta"] else "",
        },
        "optim": {"lr": 1e-3},
        "train": {"batch_size": 8, "max_epochs": epochs, "early_stop": 50, **train},
    }
    if system == "baseline_clean":
        raw["train"]["export_clean_emb"] = True
    return config_from_dict(raw, f"toy:{system}")
