"""``trnet bench mix-feats`` prints its table: the figures are not asserted, their
consistency is (every row times the same audio; each ratio is its speed over the bare
loop's)."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trnet.cli import app


def test_bench_mix_feats_prints_three_pipelines_with_ratios():
    result = CliRunner().invoke(
        app,
        ["bench", "mix-feats", "--n-utts", "6", "--repeat", "2", "--nj", "1"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "6 utts, generated set, best of 2" in result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == 5 and re.fullmatch(r"\d+\.\d\d", cells[-1]):
            rows[cells[0]] = [float(c) for c in cells[1:]]
    assert list(rows) == [
        "bare: soundfile read + fbank",
        "trnet mix --feats (nj 1)",
        "trnet feats on the mixed ark (nj 1)",
    ]
    (bare_h, _, bare_speed, bare_ratio), *_ = rows.values()
    assert bare_ratio == 1.00 and bare_h > 0  # the bare loop is the reference
    for audio_h, wall, speed, ratio in rows.values():
        assert audio_h == bare_h  # the same utterances in every pipeline
        assert speed > 0
        if wall >= 0.1:  # "wall s" has 2 decimals
            assert speed == pytest.approx(audio_h * 3600 / wall, rel=0.01 / wall + 0.01)
        assert ratio == pytest.approx(speed / bare_speed, rel=0.02, abs=0.01)


PHASE_ROWS = (
    "signature (input digests)",
    "setup (features, cache, CMVN, model)",
    "setup: functionals (eGeMAPS)",
    "kernel prefit",
    "training phase (epochs)",
    "data: batches (read, VAD trim, crop, functionals, collate)",
    "data: L_high target (Baseline-c on the crop)",
    "data: SpecAugment",
    "forward + loss",
    "backward",
    "optimiser step (grad clip + Adam)",
    "step bookkeeping (loss sums)",
    "loop (progress bar, other)",
    "BN re-estimation",
    "dev evaluation",
    "checkpoints (best.pt, epoch<N>.pt, metrics)",
    "clean embeddings (export)",
    "other (logs, LR schedule, …)",
    "total",
)
LOOPS = (
    "bare loop (batches in memory)",
    "trainer: model steps (forward, backward, optimiser)",
    "trainer: training phase",
    "trainer: whole run",
)


def _table_rows(output: str, n_cells: int) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == n_cells and cells[0] and not line.lstrip().startswith(("┃", "┏")):
            rows[cells[0]] = cells[1:]
    return rows


def test_bench_train_prints_every_phase_and_the_ratio_to_the_bare_loop(tmp_path):
    """A toy fold, 2 epochs with SpecAugment and BN re-estimation: the throughput table has
    the bare loop and the trainer with their ratios, over the same steps and examples; the
    phase table has every phase, the training phase's rows add up to it and all rows to the
    total (no timing is asserted)."""
    from ser_toy import make_toy, toy_config

    from trnet.train.config import dump_config

    folds, dump = make_toy(tmp_path)
    cfg = toy_config("baseline_noisy", epochs=5, bn_recalib=16)
    cfg.data.freq_masks = 2
    config = tmp_path / "baseline_noisy.yaml"
    config.write_text(dump_config(cfg))
    args = ["bench", "train", "--config", str(config), "--fold", "1", "--data-root", str(folds)]
    result = CliRunner().invoke(
        app,
        [*args, "--dump", str(dump), "--epochs", "2", "--threads", "1"],
        env={"COLUMNS": "250"},
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "baseline_noisy" in result.output and "fold 1, 2 epochs on cpu" in result.output
    loops = _table_rows(result.output, 7)
    assert list(loops) == list(LOOPS)
    bare, model, training, run = (loops[name] for name in LOOPS)
    # 32 training utterances, batches of 8, 2 epochs: 8 steps, 64 examples, in every loop
    assert {(row[0], row[1]) for row in loops.values()} == {("8", "64")}
    assert bare[-1] == "1.00"  # the bare loop is the reference
    for row in (model, training, run):
        speed, ratio = float(row[-2]), float(row[-1])
        assert speed > 0 and ratio == pytest.approx(speed / float(bare[-2]), rel=0.02, abs=0.01)
    assert float(run[2]) >= float(training[2]) >= float(model[2]) > 0  # wall s nest

    phases = _table_rows(result.output, 5)
    assert list(phases) == list(PHASE_ROWS)
    wall = {name: float(cells[1]) for name, cells in phases.items()}
    calls = {name: cells[0] for name, cells in phases.items()}
    assert calls["training phase (epochs)"] == "2" and calls["BN re-estimation"] == "2"
    assert (
        calls["dev evaluation"] == "2"
        and calls["checkpoints (best.pt, epoch<N>.pt, metrics)"] == "2"
    )
    assert calls["forward + loss"] == calls["data: SpecAugment"] == "8"
    assert calls["kernel prefit"] == "0" and calls["clean embeddings (export)"] == "0"
    assert wall["training phase (epochs)"] == float(training[2])
    assert wall["total"] == float(run[2])
    loop = PHASE_ROWS[
        PHASE_ROWS.index("training phase (epochs)") + 1 : PHASE_ROWS.index("BN re-estimation")
    ]
    assert sum(wall[n] for n in loop) == pytest.approx(wall["training phase (epochs)"], abs=0.05)
    top = [n for n in PHASE_ROWS if n not in loop and n != "total"]
    assert sum(wall[n] for n in top) == pytest.approx(wall["total"], abs=0.1)
    assert phases["total"][2] == "100.0%"


def test_a_timed_training_trains_the_same_model(tmp_path):
    """The phase timer only reads clocks: best.pt of a timed run is byte-identical to an
    untimed one's (SpecAugment, random crops, VAD, BN re-estimation on)."""
    from ser_toy import make_toy, toy_config

    from trnet.ddp import setup_dist
    from trnet.train.fold_run import train_fold
    from trnet.train.loop import Trainer
    from trnet.train.phases import PhaseTimer

    folds, dump = make_toy(tmp_path)
    cfg = toy_config("baseline_noisy", epochs=2, bn_recalib=16)
    cfg.data.freq_masks, cfg.data.time_masks, cfg.data.crop, cfg.data.vad_db = 2, 1, "random", 30.0
    train_fold(cfg, 1, folds, dump, tmp_path / "plain", device="cpu")
    timer = PhaseTimer()
    Trainer(cfg, 1, folds, dump, tmp_path / "timed", setup_dist("cpu"), timer).run(resume=False)
    assert timer.count["forward + loss"] == 8 and timer.wall["train"] > 0
    plain, timed = ((tmp_path / d / "best.pt").read_bytes() for d in ("plain", "timed"))
    assert plain == timed


INFER_PHASE_COLUMNS = ("read", "SE", "fbank", "functionals", "members", "other")


def test_bench_infer_rows_of_the_cpu_system_and_a_real_package_with_their_phases(tmp_path):
    """``--sizes cpu`` (the untrained trnet_blendfun: hybrid, 3 members, NSNet2) and a real
    package (the toy TRNet with its CRN), on one long and one short file: a row per package
    and audio set, and a phase table whose seconds add up to each row's wall time (shares
    to 100 %). Nothing is timed against a bound."""
    from package_toy import toy_package

    from trnet.bench import phase_shares

    root = Path(__file__).resolve().parents[1]
    pkg = toy_package(tmp_path / "toy")
    args = ["bench", "infer", "--sizes", "cpu", "--package", str(pkg), "--batch", "1"]
    result = CliRunner().invoke(
        app,
        [*args, "--n-files", "1", "--seconds", "5", "--short-files", "1", "--repeat", "1",
         "--cpu-config", str(root / "egs/emodb/conf/cpu/trnet_blendfun.yaml"),
         "--cpu-se", str(root / "egs/emodb/conf/se_nsnet2.yaml")],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "one torch thread" in result.output
    rows = [
        cells for cells in _table_rows_list(result.output, 13) if cells[0] in ("cpu", "package")
    ]
    heads = [tuple(r[:6]) for r in rows]
    assert heads == [
        ("cpu", "trnet_blendfun", "nsnet2", "3", "1 × 5 s", "1"),
        ("cpu", "trnet_blendfun", "nsnet2", "3", "1 × 2-3 s", "1"),
        ("package", "trnet", "yes", "1", "1 × 5 s", "1"),  # a trained SE
        ("package", "trnet", "yes", "1", "1 × 2-3 s", "1"),
    ]
    for r in rows:
        wall, rtf, speed = float(r[6]), float(r[7]), float(r[8])
        assert wall > 0 and rtf > 0 and speed == pytest.approx(1 / rtf, rel=0.05, abs=0.1)
        assert float(r[11]) > 0 and float(r[12]) >= float(r[11]) * 0.9  # RSS loaded, peak
    phases = [
        cells for cells in _table_rows_list(result.output, 10) if cells[0] in ("cpu", "package")
    ]
    assert [tuple(p[:3]) for p in phases] == [h[:2] + h[4:5] for h in heads]
    for p in phases:
        seconds = [float(c.split()[0]) for c in p[3:9]]
        shares = [float(c.split("(")[1].rstrip("%)")) for c in p[3:9]]
        assert sum(seconds) == pytest.approx(float(p[9]), abs=0.04)
        assert sum(shares) == pytest.approx(100, abs=4)  # each rounded to 1 %
        assert float(p[3 + INFER_PHASE_COLUMNS.index("functionals")].split()[0]) >= 0
    # the openSMILE bound: only the hybrid (functionals of noisy and enhanced: 2 inputs)
    bound = [c for c in _table_rows_list(result.output, 8) if c[0] in ("cpu", "package")]
    assert [tuple(b[:4]) for b in bound] == [
        ("cpu", "trnet_blendfun", "1 × 5 s", "2"),
        ("cpu", "trnet_blendfun", "1 × 2-3 s", "2"),
    ]
    for b in bound:
        floor, most = float(b[4]), float(b[5])
        assert floor > 0 and most == pytest.approx(1 / floor, rel=0.05, abs=0.1)
        assert float(b[6]) > 0  # the measured functionals phase
    assert phase_shares({"wall": 2.0, "phases": {"SE": 0.5, "functionals": 1.0}}) == {
        "read": (0.0, 0.0),
        "SE": (0.5, 0.25),
        "fbank": (0.0, 0.0),
        "functionals": (1.0, 0.5),
        "members": (0.0, 0.0),
        "other": (0.5, 0.25),
    }


def _table_rows_list(output: str, n_cells: int) -> list[list[str]]:
    rows = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if len(cells) == n_cells and cells[0] and not line.lstrip().startswith(("┃", "┏")):
            rows.append(cells)
    return rows
