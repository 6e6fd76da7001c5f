"""Decoding a trained fold on test conditions (``trnet decode``), as docs/formats.md fixes.

For each condition, ``<out>/<condition>/fold<K>/`` receives ``hyp``, ``ref``, ``classes``,
``posteriors``, ``utt2s`` (systems with the compensation), ``emb.ark``/``emb.scp`` (the
embedding z~ fed to the classifier), ``info.json`` and, last, ``.done``: a complete dir
is skipped. Inputs are cut or repeated to the config's ``max_len`` as in training.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trnet.contract import CLASSES, CorpusInfo
from trnet.contract import parse_condition as condition_info
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import atomic_write, write_kv
from trnet.stage import lock

if TYPE_CHECKING:
    import torch

    from trnet.models.ser import SerModel
    from trnet.train.config import Config
    from trnet.train.data import FeatureStore


def read_corpus_info(test_dir: Path) -> dict:
    return CorpusInfo.read_dict(test_dir)


def decode(
    exp_fold: str | Path,
    dump: str | Path,
    test_dir: str | Path,
    conditions: Sequence[str],
    out: str | Path,
    batch_size: int = 64,
    device: str = "auto",
) -> list[Path]:
    """Decode ``test_dir`` in each condition with ``exp_fold/best.pt``; returns the dirs."""
    from trnet import checkpoint
    from trnet.devices import resolve_device
    from trnet.models.factory import build_ser_model
    from trnet.train.config import config_from_dict
    from trnet.train.data import FeatureStore, load_labels

    exp_fold, test_dir, out = Path(exp_fold), Path(test_dir), Path(out)
    if not (exp_fold / ".done").is_file():
        raise TrnetError(f"{exp_fold}: training not finished (no .done)")
    best = checkpoint.load(exp_fold / "best.pt")
    cfg = config_from_dict(best["config"], str(exp_fold / "best.pt"))
    test = DataDir.load(test_dir)
    if not test.utts:
        raise TrnetError(f"{test_dir}: no test utterances")
    for condition in conditions:
        condition_info(condition)
    labels = load_labels(test)
    corpus = read_corpus_info(test_dir)
    dev = resolve_device(device)
    model = build_ser_model(cfg.model)
    model.load_state_dict(best["model"])
    model.to(dev)
    store = FeatureStore(dump)
    done = []
    for condition in conditions:
        dest = out / condition / f"fold{best['fold']}"
        with lock(dest):
            if not (dest / ".done").is_file():
                info = {
                    "system": cfg.system,
                    "fold": best["fold"],
                    "condition": condition,
                    "noise": condition_info(condition)[0],
                    "snr": condition_info(condition)[1],
                    "corpus": corpus.get("corpus", "unknown"),
                    "generated": bool(corpus.get("generated", False)),
                }
                decode_condition(
                    model, cfg, store, test.utts, labels, condition, dest, info, batch_size, dev
                )
        done.append(dest)
    return done


def decode_condition(
    model: SerModel,
    cfg: Config,
    store: FeatureStore,
    utts: list[str],
    labels: dict[str, int],
    condition: str,
    dest: Path,
    info: dict,
    batch_size: int,
    device: torch.device,
) -> None:
    """Run the model on one condition and write the decode dir (``.done`` last)."""
    from trnet.kaldi_io import write_vectors
    from trnet.train.data import ExampleSet, needs_for
    from trnet.train.infer import predict

    store.check(needs_for([condition], set(utts), cfg.data.input, False), f"decode {condition}")
    data = ExampleSet([(u, condition) for u in utts], store, cfg.data.input, cfg.data.max_len)
    res = predict(model, data, batch_size, device)
    hyp = res.posteriors.argmax(1)
    dest.mkdir(parents=True, exist_ok=True)
    write_kv(dest / "hyp", {u: CLASSES[int(k)] for u, k in zip(utts, hyp, strict=True)})
    write_kv(dest / "ref", {u: CLASSES[labels[u]] for u in utts})
    with atomic_write(dest / "classes") as f:
        f.write("".join(f"{c}\n" for c in CLASSES))
    post = {
        u: " ".join(f"{p:.6f}" for p in row) for u, row in zip(utts, res.posteriors, strict=True)
    }
    write_kv(dest / "posteriors", post)
    if res.s is not None:
        write_kv(dest / "utt2s", {u: f"{s:.6f}" for u, s in zip(utts, res.s, strict=True)})
    write_vectors(dest / "emb.ark", dest / "emb.scp", dict(zip(utts, res.z, strict=True)))
    with atomic_write(dest / "info.json") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    with atomic_write(dest / ".done") as f:
        f.write(f"{len(utts)} utterances\n")
