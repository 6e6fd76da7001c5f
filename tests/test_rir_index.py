"""trnet rir-index on a folder of synthetic RIRs and a fake RIRS_NOISES tree built here."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_main import run_main

from trnet.corrupt import rir_index
from trnet.corrupt.rir import Rir
from trnet.corrupt.rir_index import build_rir_index, find_rirs, measure_rirs
from trnet.errors import TrnetError
from trnet.io import read_kv

SR = 16000
HALF = 40


def write_rir(path: Path, rt60: float, seed: int = 0, direct: float = 0.8) -> float:
    """A direct path, 2.5 ms of silence and a noise tail decaying 60 dB in ``rt60``; the
    file is float32 so no quantisation floor. Returns the DRR the construction has (dB)."""
    rng = np.random.default_rng(seed)
    n = int(1.5 * rt60 * SR)
    tail = 0.08 * rng.standard_normal(n) * 10 ** (-3 * np.arange(n) / SR / rt60)
    h = np.concatenate([np.zeros(120), [direct], np.zeros(HALF), tail]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, h, SR, subtype="FLOAT")
    return 10 * math.log10(direct**2 / float(np.square(h[121 + HALF :].astype(np.float64)).sum()))


@pytest.fixture
def folder(tmp_path: Path) -> tuple[Path, dict[str, tuple[float, float]]]:
    """Four RIRs, one per bin (and one above), one in a sub-folder, plus three bad files."""
    root = tmp_path / "my_rirs"
    made = {}
    for rir_id, rt60, sub in [
        ("office", 0.3, ""),
        ("hall-a", 0.55, ""),
        ("church", 0.9, "big/"),
        ("cave", 1.5, "big/"),
    ]:
        drr = write_rir(root / f"{sub}{rir_id}.wav", rt60, seed=len(made))
        made[f"{sub.replace('/', '-')}{rir_id}"] = (rt60, drr)
    (root / "broken.wav").write_bytes(b"not a wav")
    sf.write(root / "silent.wav", np.zeros(4000, np.float32), SR)
    write_rir(root / "has space.wav", 0.5)
    return root, made


def test_a_folder_is_indexed_with_measured_rt60_drr_bins_and_rooms(folder, tmp_path, capsys):
    root, made = folder
    out = tmp_path / "data" / "rir" / "mine"
    measured, skipped = build_rir_index(root, out)
    assert sorted(m.source.id for m in measured) == sorted(made)
    assert sorted(s.path.name for s in skipped) == ["broken.wav", "has space.wav", "silent.wav"]
    warnings = [line for line in capsys.readouterr().err.splitlines() if "skipped" in line]
    assert len(warnings) == 3
    rt60, drr, bins = (read_kv(out / n) for n in ("rir2rt60", "rir2drr", "rir2bin"))
    for rir_id, (true_rt60, true_drr) in made.items():
        assert float(rt60[rir_id]) == pytest.approx(true_rt60, rel=0.05)
        assert float(drr[rir_id]) == pytest.approx(true_drr, abs=0.006)
    assert bins == {
        "office": "0.2-0.4",
        "hall-a": "0.4-0.7",
        "big-church": "0.7-1.2",
        "big-cave": "above-1.2",
    }
    wav_scp = read_kv(out / "wav.scp")
    assert wav_scp["big-church"] == str((root / "big" / "church.wav").resolve())
    rir = Rir.measure(sf.read(wav_scp["big-church"], dtype="float32")[0], SR)
    assert rt60["big-church"] == f"{rir.rt60:.3f}"
    assert read_kv(out / "utt2spk") == {
        "office": "office",
        "hall-a": "hall-a",
        "big-church": "big",
        "big-cave": "big",
    }
    assert json.loads((out / "rir.json").read_text())["bins"] == [
        [0.2, 0.4],
        [0.4, 0.7],
        [0.7, 1.2],
    ]


def test_a_rerun_measures_only_changed_files_and_leaves_the_dir_alone(folder, tmp_path):
    root, _ = folder
    out = tmp_path / "rir"
    build_rir_index(root, out)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    office = root / "office.wav"
    stat = office.stat()
    # same size and mtime, other bytes: the stamp matches, so it is not read again
    office.write_bytes(b"x" * stat.st_size)
    os.utime(office, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    measured, _ = build_rir_index(root, out)
    assert "office" in {m.source.id for m in measured}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    os.utime(office, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # now it is changed
    measured, skipped = build_rir_index(root, out)
    assert "office" not in {m.source.id for m in measured}
    assert any(s.path == office.resolve() for s in skipped)
    assert "office" not in read_kv(out / "rir2rt60")


def test_an_interrupted_index_resumes_from_its_checkpoint(folder, tmp_path, monkeypatch):
    root, _ = folder
    out = tmp_path / "rir"
    monkeypatch.setattr(rir_index, "CHECKPOINT_EVERY", 1)
    sources, _ = find_rirs(root)
    measure_rirs(sources, out)  # as if killed before the dir was written
    partial = tmp_path / ".rir.partial"
    assert len(json.loads(partial.read_text())["measured"]) >= 3
    assert not out.exists()
    hall = root / "hall-a.wav"
    stat = hall.stat()
    hall.write_bytes(b"y" * stat.st_size)
    os.utime(hall, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    measured, _ = build_rir_index(root, out)
    assert "hall-a" in {m.source.id for m in measured}
    assert not partial.exists()


def test_the_openslr_layout_indexes_what_its_rir_lists_name(tmp_path):
    top = tmp_path / "corpora"
    root = top / "RIRS_NOISES"
    sim = root / "simulated_rirs" / "smallroom"
    write_rir(sim / "Room001" / "Room001-00001.wav", 0.35, seed=1)
    write_rir(sim / "Room001" / "Room001-00002.wav", 0.35, seed=2)
    (sim / "rir_list").write_text(
        "--rir-id smallroom-Room001-00001 --room-id smallroom-Room001 "
        "RIRS_NOISES/simulated_rirs/smallroom/Room001/Room001-00001.wav\n"
        "--rir-id smallroom-Room001-00002 --room-id smallroom-Room001 "
        "RIRS_NOISES/simulated_rirs/smallroom/Room001/Room001-00002.wav\n"
        "--rir-id escape --room-id x RIRS_NOISES/simulated_rirs/../../outside.wav\n"
        "a line without options\n"
    )
    write_rir(top / "outside.wav", 0.5)
    real = root / "real_rirs_isotropic_noises"
    write_rir(real / "air_type1_air_binaural_lecture_0_1.wav", 0.8, seed=3)
    sf.write(real / "RVB2014_type1_noise_largeroom1_1.wav", np.ones(8000, np.float32) * 0.1, SR)
    (real / "rir_list").write_text(
        "--rir-id air_type1_air_binaural_lecture_0_1 --room-id air_type1_air_binaural_lecture "
        "RIRS_NOISES/real_rirs_isotropic_noises/air_type1_air_binaural_lecture_0_1.wav\n"
    )
    (real / "noise_list").write_text(
        "--noise-id RVB2014_type1_noise_largeroom1_1 --noise-type isotropic "
        "RIRS_NOISES/real_rirs_isotropic_noises/RVB2014_type1_noise_largeroom1_1.wav\n"
    )
    out = tmp_path / "rirs_noises"
    measured, skipped = build_rir_index(root, out)
    assert read_kv(out / "utt2spk") == {
        "smallroom-Room001-00001": "smallroom-Room001",
        "smallroom-Room001-00002": "smallroom-Room001",
        "air_type1_air_binaural_lecture_0_1": "air_type1_air_binaural_lecture",
    }
    assert read_kv(out / "rir2bin") == {
        "smallroom-Room001-00001": "0.2-0.4",
        "smallroom-Room001-00002": "0.2-0.4",
        "air_type1_air_binaural_lecture_0_1": "0.7-1.2",
    }
    assert sorted(str(s.path).rsplit(":", 1)[1] for s in skipped) == ["3", "4"]
    assert "outside" in next(s.why for s in skipped if str(s.path).endswith(":3"))


def test_the_command_prints_the_bins_and_a_missing_folder_is_one_line(
    folder, tmp_path, monkeypatch, capsys
):
    root, _ = folder
    done = run_main(["rir-index", root, "--out", tmp_path / "idx"], monkeypatch, capsys)
    assert done.code in (0, None), done.stderr
    assert "0.4-0.7" in done.stdout and "3 file(s) skipped" in done.stdout
    missing = run_main(
        ["rir-index", tmp_path / "nope", "--out", tmp_path / "x"], monkeypatch, capsys
    )
    assert missing.error_line == f"{tmp_path / 'nope'}: RIR folder not found"


def test_an_existing_dir_that_is_no_rir_index_is_never_replaced(folder, tmp_path):
    root, _ = folder
    precious = tmp_path / "data"
    (precious / "train").mkdir(parents=True)
    with pytest.raises(TrnetError, match="exists and is not an RIR index"):
        build_rir_index(root, precious)
    assert (precious / "train").is_dir()


def test_make_rirs_simulates_an_indexed_set_per_rev_condition_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``trnet make-rirs`` (the recipe without --rir_dir): per rev-<rt60> condition, N rooms
    measured within the tolerance trnet corrupt draws with, indexed; others left out; a
    rerun keeps the files (the index signs their mtimes); another request is refused."""
    pytest.importorskip("pyroomacoustics")
    from trnet.corrupt.conditions import RT60_TOLERANCE, rir_candidates

    db, index = tmp_path / "db", tmp_path / "rir"
    args = ["make-rirs", db, index, "--condition", "clip-0.1", "rev-0.4", "--n", "2"]
    done = run_main(args, monkeypatch, capsys)
    assert done.code == 0, done.stderr
    assert sorted(p.name for p in db.iterdir()) == ["rev-0.4"]
    rt60 = {k: float(v) for k, v in read_kv(index / "rev-0.4" / "rir2rt60").items()}
    assert sorted(rt60) == ["room0", "room1"]
    assert all(abs(v - 0.4) <= 0.8 * RT60_TOLERANCE * 0.4 for v in rt60.values())
    assert len(rir_candidates(index / "rev-0.4", 0.4)) == 2  # what trnet corrupt draws from
    marker = json.loads((db / "rev-0.4" / "rirs.json").read_text())
    assert marker["seed"] == 0 and len(marker["rooms"]) == 2
    files = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in db.rglob("*") if p.is_file()}
    index_files = {p: p.stat().st_mtime_ns for p in index.rglob("*")}
    assert run_main(args, monkeypatch, capsys).code == 0
    assert {
        p: (p.stat().st_mtime_ns, p.read_bytes()) for p in db.rglob("*") if p.is_file()
    } == files
    assert {p: p.stat().st_mtime_ns for p in index.rglob("*")} == index_files
    again = run_main([*args[:-1], "3"], monkeypatch, capsys)
    assert again.code == 1 and "not seed 0, n 3" in again.error_line
    (tmp_path / "foreign" / "rev-0.4").mkdir(parents=True)
    (tmp_path / "foreign" / "rev-0.4" / "mine.txt").write_text("x")
    other = run_main(["make-rirs", tmp_path / "foreign", index, "--condition", "rev-0.4"],
                     monkeypatch, capsys)  # fmt: skip
    assert other.code == 1 and "was not made by trnet make-rirs" in other.error_line
