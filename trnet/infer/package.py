"""Model packages: a trained fold (``exp/<system>/fold<K>``) as one self-contained folder.

Layout (``format_version`` :data:`FORMAT_VERSION`)::

    config.yaml     the system's resolved training config
    ser.pt          SER state dict (CMVN inside, as buffers); torch.load(weights_only=True)
    frontend.json   sample rate, fbank settings, CMVN, input kind, max_len, classes, windows
    se/             what exp/se holds for inference (loaded by trnet.se.model.load_model);
                    absent for systems whose input needs no SE
    ser.onnx, se.onnx   with --onnx (se.onnx only where the SE net exports)
    card.md, card.json  the model card: system, corpus (GENERATED or not), protocol, fold,
                    test UAR/WAR per condition from the decode dirs, dates, versions
    manifest.json   format_version and the sha256 of every other file (written last)

Loading checks the manifest first: a missing or altered file, or a newer format, is one
error line. Nothing under ``exp/`` or ``dump/`` is read after export.
"""

from __future__ import annotations

import datetime
import errno
import glob
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256
from trnet.stage import LOCK, check_replaceable, lock
from trnet.train.ensemble import is_ensemble, read_done

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SE_DIR = "se"
DEFAULT_WINDOW_S = 4.0
DEFAULT_HOP_S = 2.0
SE_SKIPPED = (".log", ".tmp")
"""exp/se files not carried into a package (training logs, partial writes)."""


def write_json(path: Path, obj: Any) -> None:
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def needs_se(input_kind: str) -> bool:
    return input_kind in ("enhanced", "blend")


@dataclass
class Package:
    """A verified package: its folder, config, front-end settings and card."""

    root: Path
    manifest: dict
    config: Any  # trnet.train.config.Config
    frontend: dict
    card: dict

    @property
    def has_se(self) -> bool:
        return (self.root / SE_DIR).is_dir()


def verify(root: str | Path) -> dict:
    """The manifest of ``root`` after checking its format version and every checksum."""
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise TrnetError(f"{root}: model package not found (make one with trnet export)")
    if not path.is_file():
        raise TrnetError(f"{root}: not a trnet model package (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = int(manifest["format_version"])
        files = dict(manifest["files"])
    except (ValueError, KeyError, TypeError) as err:
        raise TrnetError(f"{path}: unreadable manifest ({err})") from None
    if version > FORMAT_VERSION:
        raise TrnetError(
            f"{root}: package format_version {version} is newer than this trnet reads "
            f"({FORMAT_VERSION}); upgrade trnet"
        )
    for name, digest in sorted(files.items()):
        parts = Path(name).parts
        if Path(name).is_absolute() or not parts or ".." in parts or not isinstance(digest, str):
            # a package is untrusted: its manifest may not make trnet read outside it
            raise TrnetError(f"{path}: file entry {name!r} is not a file inside the package")
        file = root / name
        if not file.is_file():
            raise TrnetError(f"{file}: missing from the package (listed in {MANIFEST})")
        if file_sha256(file) != digest:
            raise TrnetError(f"{file}: checksum mismatch (altered since export)")
    return manifest


def load_package(root: str | Path) -> Package:
    """Verify and read a package (weights are loaded by the recognizer)."""
    import yaml

    from trnet.train.config import config_from_dict

    root = Path(root)
    manifest = verify(root)
    cfg = config_from_dict(yaml.safe_load((root / "config.yaml").read_text()), str(root))
    frontend = json.loads((root / "frontend.json").read_text(encoding="utf-8"))
    card = json.loads((root / "card.json").read_text(encoding="utf-8"))
    return Package(root, manifest, cfg, frontend, card)


# ---- writing -------------------------------------------------------------------------


def frontend_info(cfg: Any, state: dict, fbank: dict) -> dict:
    """frontend.json: what turns audio into the model's input (CMVN also sits in ser.pt)."""
    from trnet.audio import SAMPLE_RATE
    from trnet.scoring.metrics import CLASSES

    return {
        "sample_rate": SAMPLE_RATE,
        "fbank": fbank,
        "int16_scale": True,
        "enhanced_int16": True,
        "input": cfg.data.input,
        "max_len": cfg.data.max_len,
        "classes": list(CLASSES),
        "window_s": DEFAULT_WINDOW_S,
        "hop_s": DEFAULT_HOP_S,
        "cmvn": {
            "mean": [round(float(v), 7) for v in state["cmvn_mean"]],
            "std": [round(float(v), 7) for v in state["cmvn_std"]],
        },
    }


def se_files(se_dir: Path) -> list[Path]:
    """The files of an SE dir a package carries: its top-level files but logs."""
    if not se_dir.is_dir():
        raise TrnetError(f"{se_dir}: SE model dir not found (the system's input needs the SE)")
    files = [p for p in sorted(se_dir.iterdir()) if p.is_file() and not p.name.endswith(SE_SKIPPED)]
    if not files:
        raise TrnetError(f"{se_dir}: no SE model files")
    return files


def is_package(root: Path) -> bool:
    """Whether ``root`` holds a package's manifest (a json object with format_version and
    files): the mark of a dir that ``export --force`` may replace."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"format_version", "files"} <= manifest.keys()


def _check_dest(dest: Path, real: Path, force: bool) -> None:
    """``dest`` may receive a package: new or empty, or a package and ``force``."""
    if real.exists() and not real.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    check_replaceable(dest, is_package, f"a trnet model package (no valid {MANIFEST})")
    if real.is_dir() and not force and any(p.name != LOCK for p in real.iterdir()):
        raise TrnetError(f"{dest}: exists; remove it or pass --force")


def _exchange(new: Path, dest: Path) -> None:
    """Put the dir ``new`` at ``dest`` in one step; ``new`` then holds what ``dest`` held.

    Linux swaps the two atomically (renameat2 RENAME_EXCHANGE): no moment without
    ``dest``, in which another run could lock a new empty dir there. Elsewhere (or on a
    file system without it): ``dest`` is moved aside to ``new``'s sibling, then ``new``
    into place, and the old content into ``new``'s path.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        done = renameat2(at_fdcwd, bytes(new), at_fdcwd, bytes(dest), rename_exchange)
        if done == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(dest))
    aside = new.with_name(new.name + ".old")
    os.rename(dest, aside)
    os.rename(new, dest)
    os.rename(aside, new)


def write_package(
    dest: Path,
    cfg: Any,
    state: dict,
    se_dir: Path | None,
    fbank: dict,
    card: dict,
    onnx: bool = False,
    force: bool = False,
) -> Path:
    """Write a package into ``dest``: under ``dest``'s lock, built in a private dir beside
    it, then put in place in one step. An existing ``dest`` is replaced only with ``force``
    and only if it is a package (:func:`trnet.stage.check_replaceable`)."""
    dest = Path(dest)
    real = Path(os.path.realpath(dest))  # "pkg/..", a symlink: the dir they name
    _check_dest(dest, real, force)  # before the lock: nothing is written into a refused dir
    with lock(real):
        _check_dest(dest, real, force)
        for stale in real.parent.glob(f".{glob.escape(real.name)}.{'?' * 8}.partial*"):
            shutil.rmtree(stale, ignore_errors=True)  # of a killed export (we hold the lock)
        tmp = Path(tempfile.mkdtemp(prefix=f".{real.name}.", suffix=".partial", dir=real.parent))
        try:
            _build(tmp, cfg, state, se_dir, fbank, card, onnx)
            _exchange(tmp, real)
        except OSError as err:  # a full disk reports no file name: name the package
            if err.filename is None:
                err.filename = str(dest)
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _build(
    tmp: Path, cfg: Any, state: dict, se_dir: Path | None, fbank: dict, card: dict, onnx: bool
) -> None:
    """Write every file of a package into the empty dir ``tmp``, the manifest last."""
    import torch

    from trnet.train.config import dump_config

    (tmp / "config.yaml").write_text(dump_config(cfg), encoding="utf-8")
    with open(tmp / "ser.pt", "wb") as f:
        torch.save({k: v.detach().cpu() for k, v in state.items()}, f)
    write_json(tmp / "frontend.json", frontend_info(cfg, state, fbank))
    if se_dir is not None:
        (tmp / SE_DIR).mkdir()
        for src in se_files(se_dir):
            shutil.copyfile(src, tmp / SE_DIR / src.name)
    if onnx:
        from trnet.infer.onnx_backend import export_onnx

        card = {**card, "onnx": export_onnx(tmp, cfg, state, se_dir is not None)}
    write_json(tmp / "card.json", card)
    (tmp / "card.md").write_text(card_markdown(card), encoding="utf-8")
    files = {}
    for p in sorted(tmp.rglob("*")):
        if p.is_file():
            p.chmod(0o644)  # a package is for sharing (atomic writes leave 0600)
            files[p.relative_to(tmp).as_posix()] = file_sha256(p)
    write_json(tmp / MANIFEST, {"format_version": FORMAT_VERSION, "files": files})
    (tmp / MANIFEST).chmod(0o644)
    tmp.chmod(0o755)  # mkdtemp makes it 0700


# ---- export of a trained fold -----------------------------------------------------------


def _git_hash() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


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
    best: tuple[float, int, Path] | None = None
    for done in system_dir.glob("fold*/.done"):
        fields = read_done(done.parent)
        try:
            uar, k = float(fields["dev_uar"]), int(done.parent.name.removeprefix("fold"))
        except (KeyError, ValueError):
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
    """Package the trained fold ``exp_fold`` (``best.pt``; a system dir: its best fold).

    ``se`` defaults to ``exp/se`` beside the system dir. The corpus and whether it was
    generated come from the decode dirs' info.json unless given.
    """
    import torch

    from trnet import checkpoint
    from trnet.train.config import config_from_dict

    exp_fold = resolve_fold(exp_fold)
    read_done(exp_fold)  # a finished training dir, or a one-line error
    if is_ensemble(exp_fold) or is_ensemble(exp_fold.parent):
        raise TrnetError(
            f"{exp_fold}: an ensemble (train.ensemble) or one of its members cannot be "
            "packaged yet; train the system with --ensemble 1 to export it"
        )
    if not (exp_fold / "best.pt").is_file():
        raise TrnetError(f"{exp_fold}: not a finished training dir (no best.pt)")
    best = checkpoint.load(exp_fold / "best.pt")
    cfg = config_from_dict(best["config"], str(exp_fold / "best.pt"))
    if cfg.model.functionals:
        raise TrnetError(
            f"{exp_fold}: a hybrid (model.functionals) cannot be packaged yet: trnet infer "
            "has no eGeMAPS front end"
        )
    recipe = exp_fold.resolve().parents[2]
    se_dir = None
    if needs_se(cfg.data.input):
        se_dir = Path(se) if se is not None else exp_fold.parent.parent / "se"
        se_files(se_dir)
    scores, info = decode_scores(exp_fold)
    corpus = corpus or info.get("corpus")
    if generated is None:
        generated = bool(info["generated"]) if "generated" in info else None
    fbank, fbank_from = _fbank_settings(recipe, corpus)
    card = {
        "system": cfg.system,
        "fold": int(best["fold"]),
        "protocol": _protocol(recipe, exp_fold.name),
        "corpus": corpus or "unknown",
        "generated": generated,
        "input": cfg.data.input,
        "se": se_card(se_dir) if se_dir is not None else None,
        "best_epoch": int(best.get("epoch", 0)),
        "dev_uar": round(float(best.get("dev_uar", float("nan"))), 4),
        "test": scores,
        "trained": _date(exp_fold / ".done"),
        "parameters": int(sum(v.numel() for k, v in best["model"].items() if "running" not in k)),
        "fbank_from": fbank_from,
        "versions": {
            "trnet": _trnet_version(),
            "torch": torch.__version__,
            "git": _git_hash(),
            "format_version": FORMAT_VERSION,
        },
    }
    return write_package(Path(dest), cfg, best["model"], se_dir, fbank, card, onnx, force)


def _trnet_version() -> str:
    from trnet import __version__

    return __version__


def se_card(se_dir: Path) -> dict:
    """What the card says about the SE: its model type, checksum and scores if scored."""
    card: dict = {"files": [p.name for p in se_files(se_dir)]}
    best = se_dir / "best.pt"
    if best.is_file():
        card["sha256"] = file_sha256(best)
    cfg = se_dir / "config.yaml"
    if cfg.is_file():
        import yaml

        card["model"] = (yaml.safe_load(cfg.read_text()) or {}).get("model")
    scores = se_dir / "scores.json"
    if scores.is_file():
        card["scores_file"] = "se/scores.json"
    return card


def card_markdown(card: dict) -> str:
    """card.md: the card as a short human-readable page."""
    gen = card.get("generated")
    corpus = card.get("corpus", "unknown")
    corpus_line = f"{corpus} (GENERATED: synthetic speech, not the real corpus)" if gen else corpus
    lines = [
        f"# trnet model: {card['system']} (fold {card['fold']})",
        "",
    ]
    if gen:
        lines += [
            "**GENERATED corpus**: this model was trained and tested on trnet's generated "
            "corpus; its scores say nothing about real speech.",
            "",
        ]
    se = card.get("se")
    lines += [
        f"- corpus: {corpus_line}",
        f"- protocol: {card.get('protocol')}, fold {card['fold']}",
        f"- input: {card['input']}" + (f" (SE: {se.get('model') or 'see se/'})" if se else ""),
        f"- best epoch {card['best_epoch']}, dev UAR {card['dev_uar']}",
        f"- trained: {card['trained']}",
        f"- parameters: {card['parameters']}",
    ]
    versions = card["versions"]
    lines.append(
        f"- trnet {versions['trnet']}, torch {versions['torch']}, git {versions['git']}, "
        f"package format {versions['format_version']}"
    )
    if card.get("onnx"):
        lines.append(f"- ONNX: {', '.join(f'{k}: {v}' for k, v in card['onnx'].items())}")
    lines += ["", "## Test scores (from the decode dirs)", ""]
    if card["test"]:
        label = " (generated)" if gen else ""
        lines += ["| condition | UAR" + label + " | WAR | n |", "|---|---|---|---|"]
        for cond, s in card["test"].items():
            lines.append(f"| {cond} | {s['uar']:.4f} | {s['war']:.4f} | {s['n']} |")
    else:
        lines.append("No decode dirs were found at export.")
    return "\n".join(lines) + "\n"


def untrained_package(
    dest: Path, cfg: Any, se_conf: dict | None, onnx: bool = False, seed: int = 0
) -> Path:
    """A package of randomly initialised networks (benchmarks and tests: speed and
    plumbing do not depend on the weights). Its card says ``untrained``."""
    import torch

    from trnet.feats.fbank import FbankConfig
    from trnet.models.factory import build_ser_model as build_model
    from trnet.se.config import resolve_config
    from trnet.se.model import build_model as build_se
    from trnet.se.model import save_model

    torch.manual_seed(seed)
    model = build_model(cfg.model)
    model.eval()
    se_dir = None
    if se_conf is not None and needs_se(cfg.data.input):
        conf = resolve_config(se_conf)
        se_dir = Path(dest).with_name(f".{Path(dest).name}.se")
        save_model(se_dir / "best.pt", build_se(conf), conf)
    card = {
        "system": cfg.system,
        "fold": 0,
        "protocol": "none",
        "corpus": "untrained",
        "generated": None,
        "input": cfg.data.input,
        "se": se_card(se_dir) if se_dir is not None else None,
        "best_epoch": 0,
        "dev_uar": float("nan"),
        "test": {},
        "trained": "untrained",
        "parameters": sum(p.numel() for p in model.parameters()),
        "fbank_from": "defaults",
        "versions": {
            "trnet": _trnet_version(),
            "torch": torch.__version__,
            "git": _git_hash(),
            "format_version": FORMAT_VERSION,
        },
    }
    try:
        return write_package(
            Path(dest), cfg, model.state_dict(), se_dir, FbankConfig().as_dict(), card, onnx, True
        )
    finally:
        if se_dir is not None:
            shutil.rmtree(se_dir, ignore_errors=True)
