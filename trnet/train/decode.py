"""Decoding a trained deep fold on test conditions (``trnet decode``), as docs/formats.md fixes.

For each condition, ``<out>/<condition>/fold<K>/`` receives ``hyp``, ``ref``, ``classes``,
``posteriors``, ``utt2s`` (systems with the compensation), ``emb.ark``/``emb.scp`` (the
embedding z~ fed to the classifier), ``info.json`` and, last, ``.done``: the decode's
signature (the sha256 of the ``best.pt`` that produced it, the condition and the test set).
A complete dir with the same signature is skipped; one made by another model (a retrained
fold) or on another test set is refused unless ``overwrite`` (then redone), as every stage
does (:mod:`trnet.stage`), so a stale decode never survives a retrain; a rerun whose dirs
are all complete finds them before the model (and torch) loads. Inputs are cut or
repeated to the config's ``max_len`` as in training, or whole (``data.eval_full``) and
VAD-trimmed (``data.vad_db``) where the config says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from trnet.errors import TrnetError
from trnet.io import file_sha256
from trnet.scoring.decode_dir import decode_info, load_test, write_decode_dir
from trnet.stage import claim, finish, lock

if TYPE_CHECKING:
    import torch

    from trnet.models.ser import SerModel
    from trnet.train.config import Config
    from trnet.train.data import FeatureStore


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
    from trnet.train.ensemble import fold_models

    exp_fold, test_dir, out = Path(exp_fold), Path(test_dir), Path(out)
    paths = fold_models(exp_fold)  # one best.pt, or each member's of an ensemble
    test, labels, corpus = load_test(test_dir, conditions)
    digests = [file_sha256(path) for path in paths]
    model_digest = digests[0]
    if len(paths) > 1:  # an ensemble: the digest of its members' digests
        model_digest = hashlib.sha256("".join(f"{d}\n" for d in digests).encode()).hexdigest()
    if not overwrite:
        found = decoded_already(exp_fold, model_digest, conditions, test.utts, labels, dump, out)
        if found is not None:
            return found
    from trnet import checkpoint  # (torch: only for a decode still to do)
    from trnet.devices import resolve_device
    from trnet.models.factory import build_ser_model
    from trnet.train.config import config_from_dict
    from trnet.train.data import FeatureStore
    from trnet.train.ensemble import check_members

    states = [checkpoint.load(path) for path in paths]
    best = states[0]
    cfg = config_from_dict(best["config"], str(paths[0]))
    if len(paths) > 1:
        check_members(exp_fold, [state["config"] for state in states])
    dev = resolve_device(device)
    models = []
    for state in states:
        model = build_ser_model(cfg.model)
        model.load_state_dict(state["model"])
        models.append(model.to(dev))
    store = FeatureStore(dump)
    done = []
    planned = condition_dirs(
        cfg, best["fold"], model_digest, conditions, test.utts, labels, dump, out
    )
    for condition, dest, signature in planned:
        with lock(dest):
            if not claim(dest, signature, overwrite):
                info = decode_info(cfg.system, best["fold"], condition, corpus, dump)
                decode_condition(
                    models, cfg, store, test.utts, labels, condition, dest, info, batch_size, dev
                )
                finish(dest, signature)
        done.append(dest)
    return done


def decoded_already(
    exp_fold: Path,
    model_digest: str,
    conditions: Sequence[str],
    utts: list[str],
    labels: dict[str, int],
    dump: str | Path,
    out: Path,
) -> list[Path] | None:
    """Every condition's decode dir, when each is complete with the signature a decode
    would give it now, found without loading the model (no torch): what the decode reads is
    the fold's ``config.yaml``'s, the fold number its signature record's. None when any is
    missing or differs; :func:`decode` then loads the model and decides as always. A match
    is exact: the signature holds the model's sha256, the test set and the inputs' digests."""
    from trnet.stage import DONE_RECORD, SIGNATURE_RECORD
    from trnet.train.config import load_config

    try:
        cfg = load_config(exp_fold / "config.yaml")
        fold = (SIGNATURE_RECORD.read(exp_fold) or {})["fold"]
    except (TrnetError, KeyError, TypeError):
        return None
    found = []
    for _, dest, signature in condition_dirs(
        cfg, fold, model_digest, conditions, utts, labels, dump, out
    ):
        if not (dest / DONE_RECORD.done).is_file() or DONE_RECORD.read(dest) != signature:
            return None
        found.append(dest)
    return found


def condition_dirs(
    cfg: Config,
    fold: int,
    model_digest: str,
    conditions: Sequence[str],
    utts: list[str],
    labels: dict[str, int],
    dump: str | Path,
    out: Path,
) -> list[tuple[str, Path, dict]]:
    """Each condition with its decode dir and the signature a decode gives it now."""
    return [
        (
            condition,
            out / condition / f"fold{fold}",
            decode_signature(
                model_digest, condition, utts, labels, dump, condition_reads(cfg, condition)
            ),
        )
        for condition in conditions
    ]


def condition_reads(cfg: Config, condition: str) -> list[str]:
    """The dump conditions a decode of ``condition`` reads: the model's inputs (and a
    hybrid's functionals: :func:`trnet.train.data.functionals_conditions`)."""
    from trnet.train.data import functionals_conditions, input_conditions

    reads = input_conditions(condition, cfg.data.input)
    if cfg.model.functionals:
        mode = cfg.model.functionals_input
        reads += functionals_conditions(condition, cfg.data.input, mode)
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
    mode = cfg.model.functionals_input
    if cfg.model.functionals:  # a hybrid: the eGeMAPS functionals its branch is fed
        func = load_functionals(store.dump, examples, cfg.data.input, mode=mode)
    data = ExampleSet(
        examples,
        store,
        cfg.data.input,
        cfg.data.max_len,
        functionals=func,
        functionals_input=mode,
        **set_options(cfg.data, train=False),
    )
    res = combine([predict(model, data, batch_size, device) for model in models])
    write_decode_dir(dest, utts, labels, res.posteriors, res.z, res.s, info, mark_done=False)
