"""Decoding a trained fold on test conditions (``trnet decode``), as docs/formats.md fixes.

For each condition, ``<out>/<condition>/fold<K>/`` receives ``hyp``, ``ref``, ``classes``,
``posteriors``, ``utt2s`` (systems with the compensation), ``emb.ark``/``emb.scp`` (the
embedding z~ fed to the classifier), ``info.json`` and, last, ``.done``: the decode's
signature (the sha256 of the ``best.pt`` that produced it, the condition and the test set).
A complete dir with the same signature is skipped; one made by another model (a retrained
fold) or on another test set is refused unless ``overwrite`` (then redone), as every stage
does (:mod:`trnet.stage`), so a stale decode never survives a retrain. Inputs are cut or
repeated to the config's ``max_len`` as in training, or whole (``data.eval_full``) and
VAD-trimmed (``data.vad_db``) where the config says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trnet.contract import CLASSES, CorpusInfo, is_noise_generated, parse_condition
from trnet.data.datadir import DataDir
from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256, write_kv
from trnet.stage import claim, finish, lock

if TYPE_CHECKING:
    import numpy as np
    import torch

    from trnet.models.ser import SerModel
    from trnet.train.config import Config
    from trnet.train.data import FeatureStore


def read_corpus_info(test_dir: Path) -> dict:
    return CorpusInfo.read_dict(test_dir)


def load_test(test_dir: Path, conditions: Sequence[str]) -> tuple[DataDir, dict[str, int], dict]:
    """The test data dir, its labels and corpus.json; every condition name checked first."""
    from trnet.train.data import load_labels

    test = DataDir.load(test_dir)
    if not test.utts:
        raise TrnetError(f"{test_dir}: no test utterances")
    for condition in conditions:
        parse_condition(condition)
    return test, load_labels(test), read_corpus_info(test_dir)


def decode_info(system: str, fold: int, condition: str, corpus: dict, dump: Path) -> dict:
    """``info.json`` of a decode dir: ``generated`` from the test dir's ``corpus``,
    ``noise_generated`` from the condition's ``corpus.json`` in ``dump`` (the noise, not the
    speech, may be generated: a real corpus mixed with ``trnet make-corpus``'s noise)."""
    noise, snr = parse_condition(condition)
    return {
        "system": system,
        "fold": fold,
        "condition": condition,
        "noise": noise,
        "snr": snr,
        "corpus": corpus.get("corpus", "unknown"),
        "generated": bool(corpus.get("generated", False)),
        "noise_generated": is_noise_generated(Path(dump) / condition),
    }


def decode(
    exp_fold: str | Path,
    dump: str | Path,
    test_dir: str | Path,
    conditions: Sequence[str],
    out: str | Path,
    batch_size: int = 64,
    device: str = "auto",
    overwrite: bool = False,
) -> list[Path]:
    """Decode ``test_dir`` in each condition with ``exp_fold/best.pt`` (an ensemble fold:
    with its members', :mod:`trnet.train.ensemble`); returns the dirs."""
    from trnet import checkpoint
    from trnet.devices import resolve_device
    from trnet.models.factory import build_ser_model
    from trnet.train.config import config_from_dict
    from trnet.train.data import FeatureStore
    from trnet.train.ensemble import check_members, fold_models

    exp_fold, test_dir, out = Path(exp_fold), Path(test_dir), Path(out)
    from trnet.classic.svm import is_svm_fold

    if is_svm_fold(exp_fold):  # a classical system (baseline_egemaps): same decode dirs
        return _decode_svm(exp_fold, Path(dump), test_dir, conditions, out, overwrite)
    paths = fold_models(exp_fold)  # one best.pt, or each member's of an ensemble
    states = [checkpoint.load(path) for path in paths]
    best = states[0]
    cfg = config_from_dict(best["config"], str(paths[0]))
    if len(paths) > 1:
        check_members(exp_fold, [state["config"] for state in states])
    test, labels, corpus = load_test(test_dir, conditions)
    digests = [file_sha256(path) for path in paths]
    model_digest = digests[0]
    if len(paths) > 1:  # an ensemble: the digest of its members' digests
        model_digest = hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest()
    dev = resolve_device(device)
    models = []
    for state in states:
        model = build_ser_model(cfg.model)
        model.load_state_dict(state["model"])
        models.append(model.to(dev))
    store = FeatureStore(dump)
    done = []
    for condition in conditions:
        dest = out / condition / f"fold{best['fold']}"
        reads = condition_reads(cfg, condition)
        signature = decode_signature(model_digest, condition, test.utts, labels, dump, reads)
        with lock(dest):
            if not claim(dest, signature, overwrite):
                info = decode_info(cfg.system, best["fold"], condition, corpus, dump)
                decode_condition(
                    models, cfg, store, test.utts, labels, condition, dest, info, batch_size, dev
                )
                finish(dest, signature)
        done.append(dest)
    return done


def condition_reads(cfg: Config, condition: str) -> list[str]:
    """The dump conditions a decode of ``condition`` reads: the model's inputs (and a
    hybrid's functionals, of its first input)."""
    from trnet.train.data import functionals_input, input_conditions

    reads = input_conditions(condition, cfg.data.input)
    if cfg.model.functionals:
        reads.append(input_conditions(condition, functionals_input(cfg.data.input))[0])
    return reads


def decode_signature(
    model: str,
    condition: str,
    utts: Sequence[str],
    labels: dict[str, int],
    dump: str | Path,
    reads: Sequence[str],
) -> dict:
    """What decides a decode dir: the model (the sha256 of its ``best.pt``, or of what else
    holds it), the condition, the test set (its utterances and labels) and what is read of
    the dump (:func:`trnet.train.data.dump_digests`): a re-mixed or re-enhanced condition
    is decoded again, never kept."""
    from trnet.train.data import dump_digests

    test = "".join(f"{u} {labels[u]}\n" for u in utts)
    return {
        "model_sha256": model,
        "condition": condition,
        "test": hashlib.sha256(test.encode("utf-8")).hexdigest(),
        "inputs": dump_digests(dump, reads),
    }


def _decode_svm(
    exp_fold: Path,
    dump: Path,
    test_dir: Path,
    conditions: Sequence[str],
    out: Path,
    overwrite: bool,
) -> list[Path]:
    """An ``egemaps_svm`` fold's decode dirs (:func:`trnet.classic.svm.decode_svm`), claimed
    as every decode is: the model by its training dir's records, the condition's audio (its
    functionals) by its dump dir's."""
    from trnet.classic.svm import decode_svm
    from trnet.classic.svm_model import load_model
    from trnet.stage import SIGNATURE_RECORD, input_digest
    from trnet.train.ensemble import read_done

    read_done(exp_fold)  # a training not finished is a one-line error
    signed = SIGNATURE_RECORD.read(exp_fold)
    if not isinstance(signed, dict) or "fold" not in signed:
        raise TrnetError(
            f"{exp_fold}: trained by an older trnet (no {SIGNATURE_RECORD.file}); "
            "retrain it (trnet train --overwrite)"
        )
    _, meta = load_model(exp_fold)  # a malformed model is refused before any dir is made
    model = input_digest(exp_fold) or ""
    test, labels, _ = load_test(test_dir, conditions)
    done = []
    for condition in conditions:
        dest = out / condition / f"fold{meta['fold']}"  # an int (load_model checks it)
        signature = decode_signature(model, condition, test.utts, labels, dump, [condition])
        with lock(dest):
            if not claim(dest, signature, overwrite):
                decode_svm(exp_fold, dump, test_dir, [condition], out)
                finish(dest, signature)
        done.append(dest)
    return done


def decode_condition(
    models: list[SerModel],
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
    """Run the model (an ensemble: each member, combined) on one condition and write the
    decode dir (the caller writes ``.done``)."""
    from trnet.train.data import (
        ExampleSet,
        functionals_input,
        load_functionals,
        needs_for,
        set_options,
    )
    from trnet.train.ensemble import combine
    from trnet.train.predict import predict

    needs = needs_for([condition], set(utts), cfg.data.input, False)
    store.check(needs, f"decode {condition}", "decoding")
    examples = [(u, condition) for u in utts]
    func = None
    if cfg.model.functionals:  # a hybrid: the eGeMAPS functionals of the model's input
        func = load_functionals(store.dump, examples, functionals_input(cfg.data.input))
    data = ExampleSet(
        examples,
        store,
        cfg.data.input,
        cfg.data.max_len,
        functionals=func,
        **set_options(cfg.data, train=False),
    )
    res = combine([predict(model, data, batch_size, device) for model in models])
    write_decode_dir(dest, utts, labels, res.posteriors, res.z, res.s, info, mark_done=False)


def check_finite(posteriors: np.ndarray, utts: list[str], info: dict, dest: Path) -> None:
    """Refuse NaN or infinite posteriors (a diverged model): their argmax is the first
    class, a silent ``ang`` for every utterance that scoring would count."""
    import numpy as np

    bad = [u for u, ok in zip(utts, np.isfinite(posteriors).all(1), strict=True) if not ok]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise TrnetError(
            f"{info['system']} fold {info['fold']}: NaN or infinite posteriors for {bad[0]}"
            f"{more} ({info['condition']}); nothing written to {dest}"
        )


def write_decode_dir(
    dest: Path,
    utts: list[str],
    labels: dict[str, int],
    posteriors: np.ndarray,
    z: np.ndarray,
    s: np.ndarray | None,
    info: dict,
    mark_done: bool = True,
) -> None:
    """One decode dir (docs/formats.md): hyp = argmax of the posteriors; ``.done`` last
    unless ``mark_done`` is false (the caller then writes its signature there)."""
    from trnet.kaldi_io import write_vectors

    check_finite(posteriors, utts, info, dest)
    hyp = posteriors.argmax(1)
    dest.mkdir(parents=True, exist_ok=True)
    write_kv(dest / "hyp", {u: CLASSES[int(k)] for u, k in zip(utts, hyp, strict=True)})
    write_kv(dest / "ref", {u: CLASSES[labels[u]] for u in utts})
    with atomic_write(dest / "classes") as f:
        f.write("".join(f"{c}\n" for c in CLASSES))
    post = {u: " ".join(f"{p:.6f}" for p in row) for u, row in zip(utts, posteriors, strict=True)}
    write_kv(dest / "posteriors", post)
    if s is not None:
        write_kv(dest / "utt2s", {u: f"{v:.6f}" for u, v in zip(utts, s, strict=True)})
    write_vectors(dest / "emb.ark", dest / "emb.scp", dict(zip(utts, z, strict=True)))
    with atomic_write(dest / "info.json") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    if mark_done:
        with atomic_write(dest / ".done") as f:
            f.write(f"{len(utts)} utterances\n")
