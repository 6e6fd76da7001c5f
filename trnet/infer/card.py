"""The model card of a package: ``card.json`` (what :mod:`.package_export` found out about
the trained fold) and ``card.md``, the same as a short human-readable page.

Fields: ``system``, ``kind`` (the system kind: deep, egemaps_svm), ``model`` (the package's
model type: ser, egemaps_svm), ``fold``, ``protocol``, ``corpus`` (what the model learned
from), ``generated`` (a GENERATED corpus or not; None when unknown), ``input`` (noisy,
enhanced, blend), ``trained_on`` and ``dev_conditions`` (the conditions of its training and
dev sets), ``members`` (an ensemble's count, else 1), ``functionals`` (a model on eGeMAPS
functionals: the openSMILE settings and whose audio, ``inputs``; else None), ``se``
(:func:`se_card`, or None), ``best_epoch`` (a list for an ensemble; absent for the SVM,
which has ``c`` and ``temperature``), ``dev_uar`` (an ensemble: its members' mean),
``test`` (the packaged fold's test sets: condition → ``{uar, war, n}``), ``test_folds``
(condition → ``{uar, folds}``: every fold's test UAR averaged), ``trained`` (a date, or
``untrained``), ``parameters``, ``fbank_from``, ``versions`` (:func:`versions`) and, with
ONNX, ``onnx``.
A card written before format 2 lacks the fields after ``input`` but ``se``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from trnet.infer.package_format import CARD_JSON, CARD_MD, FORMAT_VERSION, se_files, write_json
from trnet.io import file_sha256


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


def _trnet_version() -> str:
    from trnet import __version__

    return __version__


def versions() -> dict:
    """The card's ``versions``: trnet, torch, the git commit of trnet's source (None outside
    a git checkout) and the package format."""
    import torch

    return {
        "trnet": _trnet_version(),
        "torch": torch.__version__,
        "git": _git_hash(),
        "format_version": FORMAT_VERSION,
    }


def se_card(se_dir: Path) -> dict:
    """What the card says about the SE: its model type, checksum and scores if scored; a
    pretrained front end (its ONNX file goes into the package): its name, version, licence
    and the ONNX file's sha256."""
    import json

    from trnet.se.pretrained import PACKAGE_FILE, is_package

    if is_package(se_dir):
        desc = json.loads((se_dir / PACKAGE_FILE).read_text(encoding="utf-8"))
        keys = ("model", "name", "package", "version", "licence", "sha256")
        card = {key: desc.get(key) for key in keys}
        if (se_dir / "scores.json").is_file():
            card["scores_file"] = "exp/se/scores.json (not in the package)"
        return card
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


def _model_line(card: dict) -> str:
    """What the model is: its kind, members, functionals and SE."""
    members = int(card.get("members", 1) or 1)
    text = f"{card.get('kind', 'deep')} ({card.get('model', 'ser')})"
    if members > 1:
        text += f", an ensemble of {members} members (log-posteriors averaged)"
    func = card.get("functionals")
    if func:
        whose = " and the ".join(map(str, func.get("inputs") or []))
        text += f", eGeMAPS functionals of the {whose} audio (openSMILE)"
    return text


def card_markdown(card: dict) -> str:
    """card.md: the card as a short human-readable page."""
    gen = card.get("generated")
    corpus = card.get("corpus", "unknown")
    if gen:
        corpus_line = f"{corpus} (GENERATED: synthetic speech, not the real corpus)"
    elif gen is False:
        corpus_line = f"{corpus} (real speech)"
    else:
        corpus_line = corpus
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
    epoch = f"best epoch {card['best_epoch']}, " if "best_epoch" in card else ""
    lines += [
        f"- learned from: {corpus_line}",
        f"- protocol: {card.get('protocol')}, fold {card['fold']}",
        f"- model: {_model_line(card)}",
        f"- input: {card['input']}" + (f" (SE: {se.get('model') or 'see se/'})" if se else ""),
    ]
    if card.get("trained_on"):
        lines.append(f"- training conditions: {', '.join(card['trained_on'])}")
    if card.get("dev_conditions"):
        lines.append(f"- dev conditions: {', '.join(card['dev_conditions'])}")
    lines += [
        f"- {epoch}dev UAR {card['dev_uar']}",
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
    folds = card.get("test_folds") or {}
    if card["test"]:
        label = " (generated)" if gen else ""
        head = f"| condition | UAR{label} | WAR | n |"
        rule = "|---|---|---|---|"
        if folds:
            head += " UAR, mean of the folds |"
            rule += "---|"
        lines += [head, rule]
        for cond, s in card["test"].items():
            row = f"| {cond} | {s['uar']:.4f} | {s['war']:.4f} | {s['n']} |"
            if folds:
                mean = folds.get(cond)
                row += f" {mean['uar']:.4f} ({mean['folds']} folds) |" if mean else " - |"
            lines.append(row)
    else:
        lines.append("No decode dirs were found at export.")
    return "\n".join(lines) + "\n"


def write_card(root: Path, card: dict) -> None:
    """``card.json`` and ``card.md`` into the package dir ``root``."""
    write_json(root / CARD_JSON, card)
    (root / CARD_MD).write_text(card_markdown(card), encoding="utf-8")
