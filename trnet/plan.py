"""What a recipe run needs to know before it starts a stage (``trnet plan``).

The recipe's shell (``egs/TEMPLATE/ser1/ser.sh``) asks these questions instead of reading
YAML or JSON itself:

- :func:`train_order`: the systems of a run in the order stage 4 trains them, each after the
  systems its config depends on (:func:`trnet.config_file.config_deps`: TRNet's
  ``loss.z_clean_from: exp/baseline_clean/fold{fold}``), depth first, dependencies trained
  also when not asked for; a cycle is an error. Configs are read, not validated (training
  does that), so that a cycle or a missing file is named before anything trains.
- :func:`train_jobs`: stage 4 as jobs, one per (system, fold) or, for an ensemble, one per
  (system, fold, member), each after the jobs of what it reads: the same fold of the
  systems its config points at by fold (``{fold}``), every fold of those it points at
  otherwise. A TRNet fold reads its Baseline-c fold's records (its signature signs them,
  :func:`trnet.train.signature.fold_inputs`, and an ensemble fold is one only once its own
  ``.done`` is there), so it waits for every member of that fold, not member 0 alone.
- :func:`describe_system`: a system's kind, the input it trains on and whether that input
  needs the SE front end of stage 3 (the config validated).
- :func:`package_blocker`: why ``trnet export`` cannot package a trained system (its kind
  has no export hook), read from the resolved configs its folds were trained with.
- :func:`dev_scores`, :func:`best_system`: the system stage 7 packages, the one with the
  best mean dev UAR over the folds (each fold's ``.done``) among the trained systems whose
  dev UAR was measured on the same dev conditions (test scores never choose).
- :func:`package_fold`: the fold a model package was exported from (its card).
- :func:`stage2_corruptions`: the corruption conditions stage 2 writes (``trnet corrupt``):
  the recipe's test corruptions (:func:`expand_test_corruptions`: ``--test_corruptions "rev
  mp3"``) and those the systems' configs draw in training (``data.train_corruptions``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trnet.config_file import config_deps
from trnet.contract import needs_se, parse_condition, single_corruption
from trnet.errors import TrnetError


@dataclass(frozen=True)
class SystemPlan:
    """One system of a run, as its config says."""

    system: str
    config: Path
    kind: str  # "deep" (trnet.train) or a classical kind ("egemaps_svm")
    input: str  # what it trains on: noisy | enhanced | blend (an SVM: noisy audio's functionals)
    needs_se: bool  # reads the enhanced twins stage 3 writes
    deps: tuple[str, ...]  # systems whose exp/<system>/ it reads
    train_corruptions: tuple[str, ...] = ()  # corruption conditions its training draws


def system_config(conf_dir: str | os.PathLike, system: str) -> Path:
    """``<conf_dir>/<system>.yaml``, which must exist."""
    path = Path(conf_dir) / f"{system}.yaml"
    if not path.is_file():
        raise TrnetError(f"{path}: no such system config")
    return path


def train_order(conf_dir: str | os.PathLike, systems: Sequence[str]) -> list[str]:
    """``systems`` in their order, each preceded by the systems its config depends on (depth
    first, also when they are not in ``systems``); a dependency cycle is a one-line error
    naming the chain (``a b a``)."""
    order: list[str] = []
    visiting: list[str] = []

    def visit(system: str) -> None:
        if system in order:
            return
        if system in visiting:
            chain = " ".join([*visiting, system])
            raise TrnetError(f"{conf_dir}: configs depend on each other ({chain})")
        config = system_config(conf_dir, system)
        visiting.append(system)
        for dep in config_deps(config):
            visit(dep)
        visiting.pop()
        order.append(system)

    for system in systems:
        visit(system)
    return order


@dataclass(frozen=True)
class TrainJob:
    """One job of stage 4: ``trnet train`` of ``system`` on ``fold`` (``member``: only that
    member of an ensemble fold), started once the jobs ``after`` (indexes) are done."""

    system: str
    fold: int
    member: int | None
    after: tuple[int, ...]


def train_jobs(
    conf_dir: str | os.PathLike,
    systems: Sequence[str],
    folds: Sequence[int],
    ensemble: int | None = None,
    members: bool = True,
) -> list[TrainJob]:
    """Stage 4's jobs in training order (:func:`train_order`; per system its folds, per fold
    its members): an ensemble fold (``train.ensemble``, or ``ensemble`` where given, as
    ``trnet train --ensemble`` overrides it) is one job per member unless ``members`` is
    False (one job for the fold, as under torchrun). Each job comes after the jobs it waits
    for, so running them in this order one at a time is a valid schedule."""
    from trnet.config_file import fold_wise_deps
    from trnet.systems.registry import system_of_config

    jobs: list[TrainJob] = []
    made: dict[tuple[str, int], list[int]] = {}  # (system, fold) → its jobs
    for system in train_order(conf_dir, systems):
        config = system_config(conf_dir, system)
        kind = system_of_config(config)
        cfg = kind.load_config(config)
        kind.override(cfg, ensemble=ensemble)
        count = kind.members(cfg) if members else 1
        wise = set(fold_wise_deps(config))
        deps = config_deps(config)
        for fold in folds:
            after: list[int] = []
            for dep in deps:
                for f in [fold] if dep in wise else folds:
                    after += made[dep, f]
            ks: list[int | None] = list(range(count)) if count > 1 else [None]
            made[system, fold] = []
            for k in ks:
                made[system, fold].append(len(jobs))
                jobs.append(TrainJob(system, fold, k, tuple(after)))
    return jobs


def describe_system(conf_dir: str | os.PathLike, system: str) -> SystemPlan:
    """What ``<conf_dir>/<system>.yaml`` trains on, validated as training validates it."""
    from trnet.systems.registry import system_of_config

    config = system_config(conf_dir, system)
    deps = tuple(config_deps(config))
    kind = system_of_config(config)
    cfg = kind.load_config(config)  # a wrong key is named now, as training would name it
    source = kind.input_kind(cfg)
    corruptions = tuple(kind.train_corruptions(cfg))
    return SystemPlan(system, config, kind.kind, source, needs_se(source), deps, corruptions)


def expand_test_corruptions(words: Sequence[str]) -> list[str]:
    """The recipe's ``--test_corruptions``, each a condition name (a bare kind, ``rev``, at
    its default level: :data:`trnet.contract.DEFAULT_LEVELS`), each once, in order."""
    names = [single_corruption(w, "--test_corruptions") for w in words]
    return list(dict.fromkeys(names))


def stage2_corruptions(
    conf_dir: str | os.PathLike | None, systems: Sequence[str], tests: Sequence[str]
) -> list[str]:
    """The corruption conditions stage 2 writes: :func:`expand_test_corruptions` of ``tests``,
    then those the configs of ``systems`` (and of the systems they depend on, which stage 4
    trains too) draw in training, each once."""
    names = expand_test_corruptions(tests)
    if conf_dir is not None and systems:
        for system in train_order(conf_dir, systems):
            names += describe_system(conf_dir, system).train_corruptions
    return list(dict.fromkeys(names))


def reverberation(conditions: Sequence[str]) -> list[str]:
    """The conditions of ``conditions`` that reverberate (``rev-*``: they need RIRs)."""
    return [c for c in conditions if any(k.kind == "rev" for k in parse_condition(c).corruptions)]


def package_blocker(system_dir: str | os.PathLike, folds: Sequence[int]) -> str | None:
    """Why ``trnet export`` cannot package ``system_dir``, read from the resolved
    ``config.yaml`` of each of its ``folds`` that has one: ``a <kind> system (its kind has
    no export hook)``; None when it can (every kind of trnet has one)."""
    from trnet.systems.registry import system_of_fold

    for fold in folds:
        path = Path(system_dir) / f"fold{fold}" / "config.yaml"
        if not path.is_file():
            continue
        kind = system_of_fold(path.parent)
        if not kind.packageable:
            return f"a {kind.kind} system (its kind has no export hook)"
    return None


@dataclass(frozen=True)
class DevScore:
    """A trained system's dev UAR, as its folds recorded it."""

    system: str
    dev_uar: float | None
    """The mean over the folds of each fold's dev UAR (an ensemble fold: its members' mean);
    None when the system is not a candidate (``why_not``)."""
    dev_conditions: tuple[str, ...]
    why_not: str | None = None


def dev_scores(
    exp: str | os.PathLike, systems: Sequence[str], folds: Sequence[int]
) -> list[DevScore]:
    """Each of ``systems`` (``exp/<system>/fold<K>`` for each of ``folds``) with its mean dev
    UAR from the folds' ``.done``, or why it is not a candidate for stage 7's package: a
    fold not trained, no export hook, or a dev UAR measured on other dev conditions than
    the others' (Baseline-c's on clean speech only): all the candidates' dev conditions are
    the union of the trained systems' (the recipe's clean + dev noise at each SNR)."""
    from trnet.scoring.dev_table import fold_dev_uar
    from trnet.systems.registry import system_of_fold

    found: list[DevScore] = []
    for system in systems:
        uars, conditions, why = [], (), None
        for fold in folds:
            fold_dir = Path(exp) / system / f"fold{fold}"
            if not (fold_dir / ".done").is_file() or not (fold_dir / "config.yaml").is_file():
                why = f"fold {fold} not trained"
                break
            kind = system_of_fold(fold_dir)
            if not kind.packageable:
                why = f"a {kind.kind} system (its kind has no export hook)"
                break
            try:
                uars.append(fold_dev_uar(fold_dir))
            except TrnetError as err:
                why = str(err)
                break
            conditions = tuple(kind.load_config(fold_dir / "config.yaml").dev_conditions())
        # to the .done's precision: equal records are a tie, whatever the float sums give
        mean = round(sum(uars) / len(uars), 6) if uars and why is None else None
        found.append(DevScore(system, mean, conditions, why))
    union = sorted({c for score in found if score.why_not is None for c in score.dev_conditions})
    out = []
    for score in found:
        if score.why_not is None and sorted(score.dev_conditions) != union:
            shown = " ".join(score.dev_conditions)
            why = f"dev UAR on {shown} only, not on every dev condition ({' '.join(union)})"
            score = DevScore(score.system, None, score.dev_conditions, why)
        out.append(score)
    return out


def best_system(exp: str | os.PathLike, systems: Sequence[str], folds: Sequence[int]) -> str:
    """The system of ``systems`` with the best mean dev UAR (:func:`dev_scores`; a tie: the
    first named); none trained is a one-line error saying why for each."""
    if not systems or not folds:
        raise TrnetError("best system: give the systems and the folds")
    scores = dev_scores(exp, systems, folds)
    candidates = [s for s in scores if s.dev_uar is not None]
    if not candidates:
        why = "; ".join(f"{s.system}: {s.why_not}" for s in scores)
        raise TrnetError(f"{exp}: no system to package ({why})")
    best = candidates[0]
    for score in candidates[1:]:
        if score.dev_uar > best.dev_uar:  # type: ignore[operator]
            best = score
    return best.system


def package_fold(package: str | os.PathLike) -> int:
    """The fold the model package ``package`` was exported from (its card; the package is
    verified against its manifest first)."""
    from trnet.infer.package_format import read_package

    return int(read_package(package).card["fold"])


def se_pretrained(se_config: str | os.PathLike) -> bool:
    """Whether the front end of ``se_config`` is pretrained (the SE registry decides:
    :data:`trnet.se.enhancer.KINDS`): stage 3 then prepares it and passes no training
    options."""
    from trnet.se.config import load_config

    return load_config(se_config).pretrained
