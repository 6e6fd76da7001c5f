"""`trnet results` on a small fake exp/ tree: RESULTS.md, comparison files and figures."""

from __future__ import annotations

import json
from pathlib import Path

import kaldiio
import numpy as np
import pytest
from cli_main import run_main
from typer.testing import CliRunner

from trnet.cli import app
from trnet.contract import CLASSES, CLEAN, split_condition
from trnet.io import write_kv

SYSTEMS = {"baseline_clean": 0.5, "baseline_noisy": 0.6, "baseline_enhanced": 0.65, "trnet": 0.8}
CONDITIONS = ("clean", "esc50_20", "esc50_10", "esc50_0", "musan_0")
N_UTT = 16


def _decode(
    exp: Path,
    system: str,
    cond: str,
    fold: int,
    acc: float,
    generated: bool,
    noise_generated: bool = False,
) -> None:
    rng = np.random.default_rng([fold, CONDITIONS.index(cond), int(acc * 100)])
    utts = [f"Ses0{fold}F-u{i:02d}" for i in range(N_UTT)]
    # classes of unequal size (4, 3, 3, 6 utterances), so UAR and WAR differ
    ref = {u: CLASSES[min(i % 5, 3)] for i, u in enumerate(utts)}
    noise, snr_text = split_condition(cond)
    snr = 30 if cond == CLEAN else int(snr_text)
    hit = rng.random(N_UTT) < acc * (0.6 + snr / 75)
    hyp = {u: ref[u] if hit[i] else CLASSES[(i + 1) % 4] for i, u in enumerate(utts)}
    path = exp / system / "decode" / cond / f"fold{fold}"
    path.mkdir(parents=True)
    write_kv(path / "ref", ref)
    write_kv(path / "hyp", hyp)
    (path / "classes").write_text("\n".join(CLASSES) + "\n")
    info = {"system": system, "fold": fold, "condition": cond, "noise": noise, "corpus": "iemocap",
            "snr": None if cond == "clean" else snr, "generated": generated}  # fmt: skip
    if noise_generated:  # decodes made before the key have none: real noise
        info["noise_generated"] = cond != "clean"
    (path / "info.json").write_text(json.dumps(info))
    if system == "trnet":
        write_kv(
            path / "utt2s", {u: f"{min(1.0, snr / 30 + 0.1 * rng.random()):.3f}" for u in utts}
        )
    if system != "baseline_enhanced":  # t-SNE must cope with a system that lacks emb
        ark, scp = str(path / "emb.ark"), str(path / "emb.scp")
        with kaldiio.WriteHelper(f"ark,scp:{ark},{scp}") as writer:
            for i, u in enumerate(utts):
                centre = np.eye(8, dtype=np.float32)[i % 4] * 3
                writer(u, centre + rng.standard_normal(8).astype(np.float32))


def make_exp(root: Path, generated: bool = True, noise_generated: bool = False) -> Path:
    exp = root / "exp"
    for system, acc in SYSTEMS.items():
        for cond in CONDITIONS:
            for fold in (1, 2):
                _decode(exp, system, cond, fold, acc, generated, noise_generated)
    return exp


def run_results(exp: Path, *extra: str):
    return CliRunner().invoke(
        app, ["results", str(exp), "--n-boot", "100", *extra], env={"COLUMNS": "200"}
    )


def test_results_md_tables_generated_label_and_figures(tmp_path):
    exp = make_exp(tmp_path, generated=True)
    result = run_results(exp)
    assert result.exit_code == 0, result.output
    md = (exp / "RESULTS.md").read_text()
    assert md.startswith("# RESULTS — GENERATED corpus")
    for heading in ("## Environments", "## Protocol", "## Systems × conditions",
                    "## Comparison to baseline_noisy", "## Noise × SNR grids per system",
                    "### trnet", "## Figures"):  # fmt: skip
        assert heading in md
    assert "- Git hash: `" in md and "- torch version: `" in md
    assert "- folds scored: 1, 2" in md and "- SNRs (dB): clean, 20, 10, 0" in md
    header = "| system | clean | esc50_20 | esc50_10 | esc50_0 | esc50 avg | musan_0 | musan avg"
    assert md.count(header) == 5  # UAR, WAR, the bootstrap table and the two spread tables
    assert "## Spread between folds" in md
    assert "deterministic mode" in md
    captions = [line for line in md.splitlines() if line.startswith("**") and "(%" in line]
    assert len(captions) == 3 + 4 * len(SYSTEMS)  # UAR, WAR, UAR spread, the grids
    assert all("GENERATED corpus" in c for c in captions)
    assert "UAR difference to baseline_noisy" in md
    # every row of the systems table is in the terminal output, and RESULTS.md's path last
    assert all(s in result.output for s in SYSTEMS)
    assert result.output.strip().splitlines()[-1] == f"RESULTS: {exp / 'RESULTS.md'}"
    figures = sorted(p.name for p in (exp / "figures").glob("*.png"))
    assert figures == sorted(
        ["s_dist_trnet.png", "tsne.png", "uar_vs_snr.png"] + [f"confusion_{s}.png" for s in SYSTEMS]
    )
    for png in (exp / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
        assert f"](figures/{png.name})" in md
    assert "- t-SNE of utterance embeddings (no embeddings for baseline_enhanced): ![" in md
    # each decode dir is scored in place, and the grid of each system is written
    assert (exp / "trnet" / "decode" / "esc50_0" / "fold2" / "summary").is_file()
    assert (exp / "trnet" / "decode" / "scores_grid.tsv").is_file()


def _by_hand(exp: Path, system: str, cond: str) -> tuple[float, float]:
    """UAR and WAR (%) of one system and condition, mean over the folds, from hyp and ref."""
    uars, wars = [], []
    for fold in (1, 2):
        path = exp / system / "decode" / cond / f"fold{fold}"
        ref = dict(line.split() for line in (path / "ref").read_text().splitlines())
        hyp = dict(line.split() for line in (path / "hyp").read_text().splitlines())
        right = {u: hyp[u] == ref[u] for u in ref}
        recalls = [np.mean([right[u] for u in ref if ref[u] == c]) for c in set(ref.values())]
        uars.append(np.mean(recalls))
        wars.append(np.mean(list(right.values())))
    return 100 * float(np.mean(uars)), 100 * float(np.mean(wars))


def _table(md: str, caption: str) -> dict[str, dict[str, float]]:
    """The systems × conditions table under the caption that contains ``caption``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**") and caption in line)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    header = [c.strip() for c in lines[first].strip("|").split("|")]
    table = {}
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        values = [float(c.split()[0]) for c in cells[1:]]  # "+6.25 [-2.1, +9.0] *" → 6.25
        table[cells[0]] = dict(zip(header[1:], values, strict=True))
    return table


def test_results_md_numbers_are_the_accuracies_of_the_decodes(tmp_path):
    exp = make_exp(tmp_path, generated=True)
    assert run_results(exp, "--no-figures").exit_code == 0
    md = (exp / "RESULTS.md").read_text()
    uar = _table(md, "UAR (%), mean over folds")
    war = _table(md, "WAR (%), mean over folds")
    assert sorted(uar) == sorted(war) == sorted(SYSTEMS)
    noisy = [c for c in CONDITIONS if c != "clean"]
    for system in SYSTEMS:
        hand = {c: _by_hand(exp, system, c) for c in CONDITIONS}
        assert any(abs(hand[c][0] - hand[c][1]) > 1 for c in CONDITIONS)  # UAR ≠ WAR here
        for k, table in enumerate((uar, war)):
            row = table[system]
            for cond in CONDITIONS:
                assert row[cond] == pytest.approx(hand[cond][k], abs=0.006), (system, cond)
            esc50 = np.mean([hand[c][k] for c in noisy if c.startswith("esc50")])
            assert row["esc50 avg"] == pytest.approx(esc50, abs=0.006)
            assert row["musan avg"] == pytest.approx(hand["musan_0"][k], abs=0.006)
            assert row["noisy avg"] == pytest.approx(
                np.mean([hand[c][k] for c in noisy]), abs=0.006
            )
    # the comparison's point estimates are the UAR differences to baseline_noisy
    delta = _table(md, "UAR difference to baseline_noisy")
    assert sorted(delta) == sorted(set(SYSTEMS) - {"baseline_noisy"})
    for system, row in delta.items():
        for cond in CONDITIONS:
            want = _by_hand(exp, system, cond)[0] - _by_hand(exp, "baseline_noisy", cond)[0]
            assert row[cond] == pytest.approx(want, abs=0.011), (system, cond)


def test_results_are_deterministic_and_real_corpus_not_labelled(tmp_path):
    exp = make_exp(tmp_path, generated=False)
    assert run_results(exp, "--no-figures").exit_code == 0
    md = (exp / "RESULTS.md").read_text()
    first = (exp / "compare.md").read_text()
    assert "GENERATED" not in md and "real corpus (not generated)" in md
    assert "## Figures" not in md
    assert run_results(exp, "--no-figures").exit_code == 0
    assert (exp / "compare.md").read_text() == first


def test_real_speech_mixed_with_generated_noise_is_labelled(tmp_path):
    """EmoDB with `--noise_dir generated`: real speech, generated ESC-50/MUSAN noise."""
    exp = make_exp(tmp_path, generated=False, noise_generated=True)
    assert run_results(exp, "--no-figures").exit_code == 0
    md = (exp / "RESULTS.md").read_text()
    assert md.startswith("# RESULTS — GENERATED noise\n")
    assert (
        "- corpus: iemocap; real speech corpus (not generated); noise: **GENERATED** "
        "(synthetic ESC-50/MUSAN-layout noise corpora)\n" in md
    )
    assert "GENERATED corpus" not in md and "real corpus (not generated)" not in md
    captions = [line for line in md.splitlines() if line.startswith("**") and "(%" in line]
    assert captions and all(c.startswith("**GENERATED noise: ") for c in captions)
    assert "GENERATED noise: " in (exp / "compare.md").read_text()


def test_figures_skipped_with_a_note_when_inputs_missing(tmp_path):
    exp = tmp_path / "exp"
    _decode(exp, "baseline_noisy", "clean", 1, 0.6, False)
    for name in ("emb.scp", "emb.ark"):
        (exp / "baseline_noisy" / "decode" / "clean" / "fold1" / name).unlink()
    result = run_results(exp, "--ref", "baseline_noisy")
    assert result.exit_code == 0, result.output
    md = (exp / "RESULTS.md").read_text()
    assert "- distribution of s: skipped (no system wrote utt2s)" in md
    assert "- t-SNE of utterance embeddings: skipped (no emb.scp for" in md
    assert "- UAR vs SNR: skipped (no noisy decode)" in md
    assert (exp / "figures" / "confusion_baseline_noisy.png").stat().st_size > 0


def test_results_on_an_exp_without_decodes_is_an_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "exp" / "trnet" / "fold1").mkdir(parents=True)
    result = run_main(["results", tmp_path / "exp"], monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line.startswith(f"{tmp_path / 'exp'}: no decode dirs found")
