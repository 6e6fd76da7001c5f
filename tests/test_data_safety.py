"""Data safety of outputs (issue 22): ``--force``/``--overwrite`` replace only what trnet
made, concurrent exports leave one whole package, and a full disk, a read-only dir, a file
where a dir must be or an out-of-range option is one line, never a traceback.

The full disk and the read-only dir are real: a size-limited tmpfs filled up to its last
page, and a read-only bind mount (both need root, which CI has; ``chmod`` would change
nothing for root). Without root the read-only dir is a ``chmod 555`` dir (real for a user)
and the full-disk cases are skipped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from cli_main import Outcome, run_main
from corpus_trees import make_iemocap
from mix_toy import make_data_dir
from ser_toy import make_toy, toy_config

from trnet import checkpoint
from trnet.infer.package_export import export
from trnet.infer.package_format import MANIFEST, verify
from trnet.io import write_kv
from trnet.train.config import config_to_dict

REPO = Path(__file__).resolve().parents[1]
ROOT = os.geteuid() == 0


# ---- small real inputs ----------------------------------------------------------------


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Toy folds and dump, a trained-looking fold (``best.pt`` + ``.done``), a config file."""
    root = tmp_path_factory.mktemp("toy")
    folds, dump = make_toy(root, per_speaker=4)
    config = root / "noisy.yaml"
    config.write_text(yaml.safe_dump(config_to_dict(toy_config("baseline_noisy", epochs=1))))
    return {"root": root, "folds": folds, "dump": dump, "config": config, "fold": _fold(root)}


def _fold(root: Path, system: str = "baseline_noisy", hidden: int = 8, emb: int = 8) -> Path:
    """``root/exp/<system>/fold1`` as training leaves it (an untrained network)."""
    import torch

    from trnet.models.factory import build_ser_model

    cfg = toy_config("baseline_noisy", epochs=1)
    cfg.system, cfg.model.hidden, cfg.model.emb_dim = system, hidden, emb
    torch.manual_seed(0)
    model = build_ser_model(cfg.model)
    model.set_cmvn(torch.zeros(80), torch.ones(80))
    fold = root / "exp" / system / "fold1"
    best = {"config": config_to_dict(cfg), "system": system, "fold": 1, "epoch": 1}
    checkpoint.save(fold / "best.pt", {**best, "dev_uar": 0.5, "model": model.state_dict()})
    (fold / ".done").write_text("best_epoch 1\ndev_uar 0.500000\n")
    return fold


def _train_args(toy: dict[str, Path], out: Path, config: Path | None = None) -> list:
    return [
        "train", "--config", config or toy["config"], "--fold", 1, "--data-root", toy["folds"],
        "--dump", toy["dump"], "--out", out, "--device", "cpu",
    ]  # fmt: skip


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- item 3: --force / --overwrite replace only what trnet made -------------------------


def test_export_force_replaces_a_package_but_never_a_users_dir(toy, tmp_path, monkeypatch, capsys):
    mine = tmp_path / "mydir"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    refused = run_main(["export", toy["fold"], "-o", mine, "--force"], monkeypatch, capsys)
    assert refused.code == 1
    assert "mydir: holds files and is not a trnet model package" in refused.error_line
    assert _files(mine) == {"notes.txt": b"my notes"}
    pkg = tmp_path / "pkg"
    assert run_main(["export", toy["fold"], "-o", pkg], monkeypatch, capsys).code == 0
    again = run_main(["export", toy["fold"], "-o", pkg], monkeypatch, capsys)
    assert again.code == 1 and again.error_line.endswith("pkg: exists; remove it or pass --force")
    assert run_main(["export", toy["fold"], "-o", pkg, "--force"], monkeypatch, capsys).code == 0
    verify(pkg)
    assert not list(tmp_path.glob(".pkg.*"))  # no temporary dir left beside it


@pytest.mark.parametrize(
    ("out", "what"),
    [
        (".", "the current directory"),
        ("..", "a parent of the current directory"),
        ("../..", "a parent of the current directory"),
        ("HOME", "your home directory"),
    ],
)
def test_export_never_replaces_the_cwd_its_parents_or_home(
    toy, tmp_path, monkeypatch, capsys, out, what
):
    """``export -o .. --force`` from inside a folder deleted every file of the parent."""
    home, inner = tmp_path / "home", tmp_path / "top" / "inner"
    for d in (home, inner):
        d.mkdir(parents=True)
        (d / "keep.txt").write_text("keep")
    (inner.parent / "sibling.txt").write_text("keep")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(inner)
    before = _files(tmp_path)
    dest = home if out == "HOME" else out
    result = run_main(["export", toy["fold"], "-o", dest, "--force"], monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line == (
        f"{dest}: is {what}; refusing to clear or replace it, choose another dir"
    )
    assert _files(tmp_path) == before


def test_train_overwrite_never_clears_a_dir_trnet_did_not_make(toy, tmp_path, monkeypatch, capsys):
    out = tmp_path / "exp"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    result = run_main([*_train_args(toy, out), "--overwrite"], monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line.startswith(
        f"{out}: holds files and is not a trnet output dir (no .done or .signature.json)"
    )
    assert _files(out) == {"notes.txt": b"my notes"}


def test_folds_overwrite_replaces_folds_it_made_but_never_a_users_dir(
    tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    utts = [f"spk{s}-u{i}" for s in range(3) for i in range(2)]
    write_kv(data / "utt2spk", {u: u.split("-")[0] for u in utts})
    write_kv(data / "utt2emo", {u: "neu" for u in utts})
    mine = tmp_path / "mine" / "kfold"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes")
    args = ["folds", data, tmp_path / "mine", "--protocol", "kfold", "--k", 3, "--overwrite"]
    result = run_main(args, monkeypatch, capsys)
    assert result.code == 1
    assert "kfold: holds files and is not a trnet output dir" in result.error_line
    assert _files(mine) == {"notes.txt": b"my notes"}
    args = ["folds", data, tmp_path / "folds", "--protocol", "kfold", "--k", 3]
    assert run_main(args, monkeypatch, capsys).code == 0
    assert run_main([*args, "--seed", 1], monkeypatch, capsys).code == 1  # other settings
    assert run_main([*args, "--seed", 1, "--overwrite"], monkeypatch, capsys).code == 0


# ---- item 4: concurrent exports -------------------------------------------------------


def test_a_second_export_to_a_dir_being_written_refuses(tmp_path):
    """Two exports to one ``-o``: the second is refused while the first writes (it holds
    the dir's lock), and the package is the first one, whole (no file of the other, no
    temporary file). The first is paused (SIGSTOP) once its temporary dir exists."""
    wide = _fold(tmp_path, "wide", hidden=1024, emb=1024)  # a few MB: seconds to write
    narrow = _fold(tmp_path, "narrow")
    export(wide, tmp_path / "reference")
    pkg = tmp_path / "pkg"
    export(narrow, pkg)  # both replace an existing package

    def cmd(fold: Path) -> list[str]:
        return [sys.executable, "-m", "trnet", "export", str(fold), "-o", str(pkg), "--force"]

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(cmd(wide), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".pkg*.partial")):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first export never started writing"
            time.sleep(0.001)
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = subprocess.run(cmd(narrow), env=env, capture_output=True, text=True)
        finally:
            os.kill(first.pid, signal.SIGCONT)
        _, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err.decode()
    assert second.returncode == 1, second.stderr
    (line,) = second.stderr.splitlines()
    assert line.startswith(f"error: {pkg}: in use by pid {first.pid} on "), line
    assert _files(pkg) == _files(tmp_path / "reference")
    assert set(verify(pkg)["files"]) == set(_files(pkg)) - {MANIFEST}
    assert not list(tmp_path.glob(".pkg*"))


# ---- item 10: one line, never a traceback -----------------------------------------------


def test_out_of_range_dropout_is_one_line_and_leaves_nothing_to_block_the_fix(
    toy, tmp_path, monkeypatch, capsys
):
    raw = yaml.safe_load(toy["config"].read_text())
    raw["model"]["conv_dropout"] = 2.0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    out = tmp_path / "exp"
    result = run_main(_train_args(toy, out, bad), monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line == f"{bad}: model.conv_dropout must be in [0, 1), got 2.0"
    assert run_main(_train_args(toy, out), monkeypatch, capsys).code == 0
    assert (out / ".done").is_file()


def test_a_failed_first_training_does_not_block_the_corrected_rerun(
    toy, tmp_path, monkeypatch, capsys
):
    """A run that failed before writing anything (here: a wrong --dump) left a signature
    that made the corrected rerun say 'exists with other settings'."""
    out = tmp_path / "exp"
    wrong = [*_train_args(toy, out)]
    wrong[wrong.index("--dump") + 1] = tmp_path / "no_dump"
    failed = run_main(wrong, monkeypatch, capsys)
    assert failed.code == 1 and "features missing" in failed.stderr
    fixed = run_main(_train_args(toy, out), monkeypatch, capsys)
    assert fixed.code == 0, fixed.stderr
    assert (out / ".done").is_file()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, toy) -> dict[str, Path]:
    """What each of the six writing commands reads: a corpus, a data dir and a noise set,
    the toy fold and dump, a package and a wav."""
    root = tmp_path_factory.mktemp("inputs")
    wav = root / "speech.wav"
    rng = np.random.default_rng(0)
    sf.write(wav, (0.1 * rng.standard_normal(16000)).astype(np.float32), 16000)
    return {
        "corpus": make_iemocap(root),
        "data": make_data_dir(root),
        "noise": _noise_set(root),
        "package": export(toy["fold"], root / "pkg"),
        "wav": wav,
    }


def _noise_set(root: Path) -> Path:
    """One white-noise clip (test_mix's set has clips a mix warns about)."""
    noise = root / "noise"
    (noise / "clips").mkdir(parents=True)
    wave = 0.1 * np.random.default_rng(2).standard_normal(16000)
    sf.write(noise / "clips" / "white.wav", wave.astype(np.float32), 16000, subtype="PCM_16")
    write_kv(noise / "wav.scp", {"white": str(noise / "clips" / "white.wav")})
    write_kv(noise / "utt2category", {"white": "noise"})
    write_kv(noise / "utt2dur", {"white": "1.000"})
    return noise


COMMANDS = ["prep", "mix", "train", "decode", "export", "infer"]


def _command(name: str, out: Path, toy: dict[str, Path], inputs: dict[str, Path]) -> list:
    """``trnet <name>`` writing into ``out``."""
    if name == "prep":
        return ["prep", "iemocap", inputs["corpus"], out]
    if name == "mix":
        return ["mix", inputs["data"], out, "--noise", inputs["noise"], "--snr", 10, "--nj", 1]
    if name == "train":
        return _train_args(toy, out)
    if name == "decode":
        test_dir = toy["folds"] / "fold1" / "test"
        args = ["decode", toy["fold"], "--dump", toy["dump"], "--test-dir", test_dir]
        return [*args, "--conditions", "clean", "--out", out]
    if name == "export":
        return ["export", toy["fold"], "-o", out]
    return ["infer", inputs["package"], inputs["wav"], "-o", out / "results.json"]


def _run(name: str, out: Path, toy, inputs, monkeypatch, capsys) -> Outcome:  # noqa: ANN001
    return run_main(_command(name, out, toy, inputs), monkeypatch, capsys)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def read_only(tmp_path):
    """An empty read-only dir: a read-only bind mount as root, else ``chmod 555``."""
    path = tmp_path / "ro"
    path.mkdir()
    if not ROOT:
        path.chmod(0o555)
        yield path
        path.chmod(0o755)
        return
    _mount("--bind", str(path), str(path))
    try:
        _mount("-o", "remount,bind,ro", str(path))
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def full_disk(tmp_path):
    """``full_disk(free_kib)``: an empty dir on a 64 KiB tmpfs that a file outside the dir
    fills up to ``free_kib`` (4: one page, room for a stage's lock file and nothing more)."""
    if not ROOT:
        pytest.skip("a full disk needs a tmpfs mount: root only (CI runs as root)")
    path = tmp_path / "full"
    path.mkdir()
    _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path))

    def make(free_kib: int) -> Path:
        with open(path / "filler", "wb") as f:
            f.write(b"\0" * ((64 - free_kib) * 1024))
        (path / "out").mkdir()
        return path / "out"

    try:
        yield make
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.mark.parametrize("name", COMMANDS)
def test_read_only_output_dir_is_one_line(name, read_only, toy, inputs, monkeypatch, capsys):
    result = _run(name, read_only, toy, inputs, monkeypatch, capsys)
    assert result.code == 1
    line = result.error_line
    reason = "read-only file system" if ROOT else "permission denied"
    assert line.startswith(str(read_only)) and line.endswith(f": {reason}"), line


@pytest.mark.parametrize("name", COMMANDS)
def test_full_disk_is_one_line(name, full_disk, toy, inputs, monkeypatch, capsys):
    """One free page: a stage gets its lock and fails writing its first output; infer
    (no lock, a results file that fits in a page) gets a disk with nothing free."""
    out = full_disk(0 if name == "infer" else 4)
    result = _run(name, out, toy, inputs, monkeypatch, capsys)
    assert result.code == 1
    line = result.error_line
    assert line.startswith(str(out)) and line.endswith(": no space left on device"), line


@pytest.mark.parametrize("name", COMMANDS)
def test_a_file_where_the_output_dir_must_be_is_one_line(
    name, tmp_path, toy, inputs, monkeypatch, capsys
):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file")
    result = _run(name, blocker / "out", toy, inputs, monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line.startswith(str(blocker)), result.error_line
    assert blocker.read_text() == "a regular file"


def test_full_disk_during_a_parallel_mix_is_one_line_and_exits(full_disk, inputs):
    """With workers (--nj 2), as the recipe runs it: one line, and the process exits (a
    pool killed while a worker sent a result could hang the exit)."""
    out = full_disk(4)
    cmd = [sys.executable, "-m", "trnet", "mix", str(inputs["data"]), str(out)]
    cmd += ["--noise", str(inputs["noise"]), "--snr", "10", "0", "--nj", "2"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("trnet mix --nj 2 did not exit after the disk filled up")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: {out}") and line.endswith(": no space left on device")


def test_infer_window_shorter_than_a_frame_is_one_line(inputs, monkeypatch, capsys):
    args = ["infer", inputs["package"], inputs["wav"], "--window", "0.01"]
    result = run_main(args, monkeypatch, capsys)
    assert result.code == 1
    assert result.error_line == (
        "--window 0.01 s is shorter than one analysis frame (25 ms, the least the model takes)"
    )
