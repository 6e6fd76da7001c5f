"""The model card of a package: ``card.json`` (what :mod:`.package_export` found out about
the trained fold) and ``card.md``, the same as a short human-readable page.

Fields: ``system``, ``fold``, ``protocol``, ``corpus``, ``generated`` (a GENERATED corpus
or not; None when unknown), ``input`` (noisy, enhanced, blend), ``se`` (:func:`se_card`, or
None), ``best_epoch``, ``dev_uar``, ``test`` (condition → ``{uar, war, n}``), ``trained``
(a date, or ``untrained``), ``parameters``, ``fbank_from``, ``versions``
(:func:`versions`) and, with ONNX, ``onnx``.
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


def write_card(root: Path, card: dict) -> None:
    """``card.json`` and ``card.md`` into the package dir ``root``."""
    write_json(root / CARD_JSON, card)
    (root / CARD_MD).write_text(card_markdown(card), encoding="utf-8")
