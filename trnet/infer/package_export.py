"""``trnet export``: a trained fold of a recipe (``exp/<system>/fold<K>``) as a package.

What a package needs but the fold's ``best.pt`` does not hold is found where the recipe
layout puts it: the SE in ``exp/se`` beside the system dir, test scores and the corpus in
the decode dirs (``exp/<system>/decode/*/fold<K>``), the protocol in
``data/folds/<protocol>/fold<K>``, the fbank settings in the training dump's marker
(``dump/<corpus>/clean``), the training date from the fold's ``.done``.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from trnet.contract import needs_se
from trnet.errors import TrnetError
from trnet.infer.card import se_card, versions
from trnet.infer.package_format import SER_MODEL, se_files
from trnet.infer.package_writer import write_package
from trnet.systems.registry import DEEP
from trnet.train.ensemble import is_ensemble, read_done


def _date(path: Path) -> str:
    stamp = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def decode_scores(exp_fold: Path) -> tuple[dict, dict]:
    """(condition → {uar, war, n}, corpus info) from ``exp/<system>/decode/*/fold<K>``."""
    from trnet.scoring.decode_dir import load_decode_dir
    from trnet.scoring.metrics import uar, war

    root = exp_fold.parent / "decode"
    scores: dict[str, dict] = {}
    info: dict = {}
    if not root.is_dir():
        return scores, info
    for hyp in sorted(root.glob(f"*/{exp_fold.name}/hyp")):
        d = load_decode_dir(hyp.parent)
        scores[d.condition] = {
            "uar": round(uar(d.ref, d.hyp, len(d.classes)), 4),
            "war": round(war(d.ref, d.hyp), 4),
            "n": len(d.utts),
        }
        info = info or {"corpus": d.corpus, "generated": d.generated}
    return scores, info


def fold_mean_scores(system_dir: Path) -> dict:
    """condition → ``{uar, folds}``: the test UAR of every fold of ``system_dir`` decoded in
    that condition, averaged (the card's ``test_folds``, beside the packaged fold's own)."""
    by_condition: dict[str, list[float]] = {}
    for fold in sorted(system_dir.glob("fold*")):
        for condition, score in decode_scores(fold)[0].items():
            by_condition.setdefault(condition, []).append(score["uar"])
    return {c: {"uar": round(sum(v) / len(v), 4), "folds": len(v)} for c, v in by_condition.items()}


def _protocol(recipe: Path, fold_name: str) -> str:
    found = sorted(p.parent.name for p in (recipe / "data" / "folds").glob(f"*/{fold_name}"))
    return found[0] if len(found) == 1 else "unknown"


def _fbank_settings(recipe: Path, corpus: str | None) -> tuple[dict, str]:
    """The fbank settings of the training features (the dump's marker), else the defaults."""
    from trnet.feats.extract import FEATS_MARKER
    from trnet.feats.fbank import FbankConfig

    pattern = f"{corpus or '*'}/clean/{FEATS_MARKER}"
    for marker in sorted((recipe / "dump").glob(pattern)):
        return json.loads(marker.read_text())["fbank"], str(marker)
    return FbankConfig().as_dict(), "defaults"


def best_fold(system_dir: Path) -> Path:
    """The finished ``fold<K>`` of a system dir with the highest dev UAR (its ``.done``;
    ties: the lowest K). Test scores never choose: they are what the card reports."""
    from trnet.scoring.dev_table import fold_dev_uar

    best: tuple[float, int, Path] | None = None
    for done in system_dir.glob("fold*/.done"):
        try:
            uar, k = fold_dev_uar(done.parent), int(done.parent.name.removeprefix("fold"))
        except (TrnetError, ValueError):
            continue
        if best is None or (-uar, k) < (-best[0], best[1]):
            best = (uar, k, done.parent)
    if best is None:
        raise TrnetError(f"{system_dir}: no finished fold<K> (with .done) to export")
    return best[2]


def resolve_fold(path: str | Path) -> Path:
    """``exp/<system>/fold<K>`` as given, or the best fold of ``exp/<system>``."""
    path = Path(path)
    if (path / "best.pt").is_file() or path.name.startswith("fold"):
        return path
    if path.is_dir():
        return best_fold(path)
    raise TrnetError(f"{path}: not a training dir (exp/<system>/fold<K>) or system dir")


def export(
    exp_fold: str | Path,
    dest: str | Path,
    se: str | Path | None = None,
    onnx: bool = False,
    force: bool = False,
    corpus: str | None = None,
    generated: bool | None = None,
) -> Path:
    """Package the trained fold ``exp_fold`` (a system dir: its best fold by dev UAR) with
    what its kind's export hook gives (:meth:`trnet.systems.base.System.package`).

    ``se`` defaults to ``exp/se`` beside the system dir. The corpus and whether it was
    generated come from the decode dirs' info.json unless given.
    """
    from trnet.systems.registry import system_of_fold

    exp_fold = resolve_fold(exp_fold)
    read_done(exp_fold)  # a finished training dir, or a one-line error
    if is_ensemble(exp_fold.parent):
        raise TrnetError(
            f"{exp_fold}: a member of the ensemble {exp_fold.parent}; export the fold, "
            "which packages all its members"
        )
    kind = system_of_fold(exp_fold)
    if onnx and kind.kind != DEEP:
        raise TrnetError(
            f"{exp_fold}: --onnx: a {kind.kind} system has no network to export (its model "
            "runs in numpy on openSMILE functionals); export it without --onnx"
        )
    recipe = exp_fold.resolve().parents[2]
    scores, info = decode_scores(exp_fold)
    corpus = corpus or info.get("corpus")
    if generated is None:
        generated = bool(info["generated"]) if "generated" in info else None
    fbank, fbank_from = _fbank_settings(recipe, corpus)
    parts = kind.package(exp_fold, fbank)
    se_dir = None
    if needs_se(parts.input):
        se_dir = Path(se) if se is not None else exp_fold.parent.parent / "se"
        se_files(se_dir)
    cfg = parts.config
    card = {
        "system": cfg.system,
        "kind": kind.kind,
        "model": parts.model,
        **parts.card,
        "protocol": _protocol(recipe, exp_fold.name),
        "corpus": corpus or "unknown",
        "generated": generated,
        "input": parts.input,
        "trained_on": cfg.train_conditions(),
        "dev_conditions": cfg.dev_conditions(),
        "functionals": parts.functionals,
        "se": se_card(se_dir) if se_dir is not None else None,
        "test": scores,
        "test_folds": fold_mean_scores(exp_fold.parent),
        "trained": _date(exp_fold / ".done"),
        "fbank_from": fbank_from if parts.model == SER_MODEL else None,
        "versions": versions(),
    }
    return write_package(Path(dest), parts, se_dir, card, onnx, force)
