"""The interface of a system kind, and the base of kinds fitted in one process.

A kind is what a config's ``model.kind`` selects (:mod:`trnet.systems.registry`): it reads
its config, takes ``trnet train``'s overrides, signs a fold's training by what it reads,
trains a fold, decodes a trained fold into decode dirs (docs/formats.md) and says which
dump conditions a decode reads. ``trnet train`` and ``trnet decode`` ask the registry for
the kind and call it; nothing else dispatches on a kind.

:class:`FittedSystem` holds what a kind fitted in one process (no DDP, nothing to resume)
shares with every stage (:mod:`trnet.stage`): the fold dir signed, locked, skipped when
done with the same signature and refused when made otherwise unless ``overwrite``; each
decode dir claimed the same way. Such a kind only computes: :meth:`FittedSystem.fit`,
:meth:`FittedSystem.load_fitted` and :meth:`FittedSystem.posteriors`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trnet.contract import NOISY
from trnet.errors import TrnetError


@dataclass
class PackageParts:
    """What a trained fold puts in a model package: each kind's export hook
    (:meth:`System.package`) says it, :mod:`trnet.infer.package_writer` writes it (the
    layout: :mod:`trnet.infer.package_format`). Nothing in it is pickled: state dicts of
    tensors (read back with :func:`trnet.checkpoint.load`), arrays and JSON."""

    config: Any
    """The resolved config the fold was trained with (the kind's config object)."""
    config_text: str
    """config.yaml: that config as YAML (the kind's :meth:`System.load_config` reads it)."""
    model: str
    """The package's model type, which names how ``trnet infer`` runs it (``ser``: SerModel
    state dicts on fbank, ``egemaps_svm``: an SVM on eGeMAPS functionals)."""
    input: str
    """What the model reads: noisy, enhanced or blend (the last two take the SE along)."""
    frontend: dict = field(default_factory=dict)
    """The kind's entries of frontend.json (the writer adds rate, classes and windows)."""
    states: dict[str, dict] = field(default_factory=dict)
    """Package file → a state dict of tensors (an ensemble: one per member, in order)."""
    files: dict[str, Path] = field(default_factory=dict)
    """Package file → a file of the fold, copied as it is (arrays, JSON)."""
    functionals: dict | None = None
    """functionals.json (a model on eGeMAPS functionals): the openSMILE settings and whose
    functionals, in the order the model takes them (``inputs``: noisy, enhanced)."""
    card: dict = field(default_factory=dict)
    """What the card says of the model: fold, dev UAR, parameters, members, ..."""


class System(ABC):
    """One system kind. Its config is the kind's own object; every kind's has ``system``
    (the name decode dirs carry), ``train.seed`` and ``data.snrs``."""

    kind: str = ""
    """The ``model.kind`` that selects it."""

    @abstractmethod
    def load_config(self, path: Path) -> Any:
        """The validated config of YAML file ``path``; errors name it."""

    def override(
        self,
        cfg: Any,
        *,
        seed: int | None = None,
        ensemble: int | None = None,
        snrs: Sequence[int] | None = None,
    ) -> None:
        """``trnet train``'s ``--seed`` and ``--snrs`` (a clean-only config stays clean-only);
        ``--ensemble`` is for kinds that train several models (here: ignored)."""
        if seed is not None:
            cfg.train.seed = seed
        if snrs is not None and cfg.data.snrs:
            cfg.data.snrs = list(snrs)

    def members(self, cfg: Any) -> int:
        """How many models a fold trains (an ensemble's members; each can be its own job:
        ``trnet train --member K``); 1 for kinds that train one."""
        return 1

    @abstractmethod
    def train_signature(self, cfg: Any, fold: int, data_root: Path, dump: Path) -> dict:
        """What decides a trained fold (:func:`trnet.train.signature.fold_signature`): the
        config, the fold and the digests of what the training reads, checked first."""

    @abstractmethod
    def train(
        self,
        cfg: Any,
        fold: int,
        data_root: Path,
        dump: Path,
        out: Path,
        *,
        resume: bool = False,
        device: str = "auto",
        overwrite: bool = False,
        member: int | None = None,
    ) -> Path:
        """Train ``fold`` into ``out`` (skipped when done with the same signature); with
        ``member``, only that one of its :meth:`members` (callers check it is one)."""

    @abstractmethod
    def decode(
        self,
        exp_fold: Path,
        dump: Path,
        test_dir: Path,
        conditions: Sequence[str],
        out: Path,
        *,
        batch_size: int = 64,
        device: str = "auto",
        overwrite: bool = False,
    ) -> list[Path]:
        """``<out>/<condition>/fold<K>/`` for each condition; returns the dirs."""

    def input_kind(self, cfg: Any) -> str:
        """What the system reads of a condition: ``noisy`` (the default), ``enhanced`` or
        ``blend`` (both; TRNet)."""
        return NOISY

    def train_corruptions(self, cfg: Any) -> list[str]:
        """The corruption conditions its training draws (``data.train_corruptions``), which
        stage 2 of the recipe writes; none for kinds that draw none."""
        return []

    @abstractmethod
    def decode_reads(self, cfg: Any, condition: str) -> list[str]:
        """The dump conditions a decode of ``condition`` reads (signed with the decode)."""

    def package(self, exp_fold: Path, fbank: dict) -> PackageParts:
        """The export hook (``trnet export``): what a model package holds of the finished
        fold ``exp_fold`` (``fbank``: the fbank settings of the training features, for kinds
        that read fbank). A kind without one cannot be packaged."""
        raise TrnetError(
            f"{exp_fold}: a {self.kind} system cannot be packaged (its kind has no export hook)"
        )

    @property
    def packageable(self) -> bool:
        """Whether the kind has an export hook (:meth:`package`)."""
        return type(self).package is not System.package


class FittedSystem(System):
    """A kind fitted in one process; ``resume`` and ``device`` do not apply to it."""

    @abstractmethod
    def fit(self, cfg: Any, fold: int, data_root: Path, dump: Path, out: Path) -> Path:
        """Fit ``fold`` and write it into ``out`` (claimed for it): the model's files,
        ``config.yaml`` (the resolved config, :meth:`load_config` reads it back) and
        ``.done`` last."""

    @abstractmethod
    def load_fitted(self, exp_fold: Path, cfg: Any) -> tuple[Any, int]:
        """The fitted model of ``exp_fold`` and its fold number; a malformed one is a
        one-line error naming the file."""

    @abstractmethod
    def posteriors(
        self, cfg: Any, model: Any, dump: Path, utts: Sequence[str], condition: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N, classes) posteriors in :data:`trnet.contract.CLASSES` order and (N, D)
        embeddings of ``utts`` in ``condition``."""

    def decode_reads(self, cfg: Any, condition: str) -> list[str]:
        return [condition]

    def train(
        self,
        cfg: Any,
        fold: int,
        data_root: Path,
        dump: Path,
        out: Path,
        *,
        resume: bool = False,
        device: str = "auto",
        overwrite: bool = False,
        member: int | None = None,
    ) -> Path:
        from trnet.stage import SIGNATURE_RECORD, claim, clear_all, lock

        out, dump, data_root = Path(out), Path(dump), Path(data_root)
        signature = self.train_signature(cfg, fold, data_root, dump)
        with lock(out):
            if claim(out, signature, overwrite, SIGNATURE_RECORD, clear_all if overwrite else None):
                print(f"{out}: already trained with these settings and inputs, skipping")
                return out
            return self.fit(cfg, fold, data_root, dump, out)

    def decode(
        self,
        exp_fold: Path,
        dump: Path,
        test_dir: Path,
        conditions: Sequence[str],
        out: Path,
        *,
        batch_size: int = 64,
        device: str = "auto",
        overwrite: bool = False,
    ) -> list[Path]:
        """Each condition's decode dir, claimed as every decode is: the model by its
        training dir's records, the condition by what is read of the dump."""
        from trnet.scoring.decode_dir import decode_info, load_test, write_decode_dir
        from trnet.stage import SIGNATURE_RECORD, claim, finish, input_digest, lock
        from trnet.train.decode import decode_signature
        from trnet.train.ensemble import read_done

        exp_fold, dump, out = Path(exp_fold), Path(dump), Path(out)
        read_done(exp_fold)  # a training not finished is a one-line error
        signed = SIGNATURE_RECORD.read(exp_fold)
        if not isinstance(signed, dict) or "fold" not in signed:
            raise TrnetError(
                f"{exp_fold}: trained by an older trnet (no {SIGNATURE_RECORD.file}); "
                "retrain it (trnet train --overwrite)"
            )
        cfg = self.load_config(exp_fold / "config.yaml")
        model, fold = self.load_fitted(exp_fold, cfg)  # refused before any dir is made
        digest = input_digest(exp_fold) or ""
        test, labels, corpus = load_test(Path(test_dir), conditions)
        done = []
        for condition in conditions:
            dest = out / condition / f"fold{fold}"
            reads = self.decode_reads(cfg, condition)
            signature = decode_signature(digest, condition, test.utts, labels, dump, reads)
            with lock(dest):
                if not claim(dest, signature, overwrite):
                    post, emb = self.posteriors(cfg, model, dump, test.utts, condition)
                    info = decode_info(cfg.system, fold, condition, corpus, dump)
                    write_decode_dir(
                        dest, test.utts, labels, post, emb, None, info, mark_done=False
                    )
                    finish(dest, signature)
            done.append(dest)
        return done
