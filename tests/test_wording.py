"""Messages that must say what is true (issue 15, item 7)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from trnet.errors import TrnetError
from trnet.noise.download import download
from trnet.train.data import FeatureStore

RECIPE = Path(__file__).resolve().parents[1] / "egs" / "emodb"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_refused_connection_does_not_claim_a_part_file_is_kept(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/f.bin"
    with pytest.raises(TrnetError) as err:
        download(url, tmp_path / "f.bin", retries=0, backoff_s=0)
    assert not (tmp_path / "f.bin.part").exists()
    assert "is kept" not in str(err.value)
    assert "nothing was downloaded" in str(err.value)


def test_decode_feature_check_names_decoding_not_training(tmp_path):
    store = FeatureStore(tmp_path)
    with pytest.raises(TrnetError) as err:
        store.check({"clean": {"u1"}}, "decode clean", before="decoding")
    assert "before decoding" in str(err.value) and "training" not in str(err.value)
    with pytest.raises(TrnetError, match="before training"):
        store.check({"clean": {"u1"}}, "fold 1 (trnet)")


def _tiny_data_dir(path: Path) -> None:
    path.mkdir(parents=True)
    utts = [
        (f"s{s}-u{i}", f"s{s}", "ang hap neu sad".split()[i % 4])
        for s in range(6)
        for i in range(4)
    ]
    (path / "wav.scp").write_text("".join(f"{u} /nowhere/{u}.wav\n" for u, _, _ in utts))
    (path / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s, _ in utts))
    (path / "utt2emo").write_text("".join(f"{u} {e}\n" for u, _, e in utts))
    spk2utt = {}
    for u, s, _ in utts:
        spk2utt.setdefault(s, []).append(u)
    (path / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk2utt.items()))


def test_recipe_refusal_does_not_ask_for_an_option_run_sh_lacks(tmp_path):
    """``run.sh --seed 1`` after a seed-0 run: the refusal must not say ``use --overwrite``."""
    data = tmp_path / "data" / "emodb"
    _tiny_data_dir(data)
    folds = ["trnet", "folds", str(data), str(tmp_path / "folds"), "--protocol", "kfold"]
    folds += ["--k", "3", "--n-dev-speakers", "1"]
    env = {k: v for k, v in os.environ.items() if k != "TRNET_OVERWRITE_HINT"}

    def in_recipe(seed: str) -> subprocess.CompletedProcess:
        """``folds`` as a recipe stage runs it: from the recipe folder, path.sh sourced."""
        args = ["bash", "-c", '. ./path.sh && "$@"', "x", *folds, "--seed", seed]
        return subprocess.run(args, cwd=RECIPE, env=env, capture_output=True, text=True)

    first = in_recipe("0")
    assert first.returncode == 0, first.stderr
    again = in_recipe("1")
    assert again.returncode == 1
    assert "exists with other settings" in again.stderr
    assert "use --overwrite" not in again.stderr and "remove it" in again.stderr
    direct = subprocess.run(
        [sys.executable, "-m", "trnet", *folds[1:], "--seed", "1"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert "use --overwrite" in direct.stderr  # a bare trnet command does take --overwrite


def test_piped_tables_keep_their_headers(capsys, monkeypatch):
    from trnet.mix.report import print_summary

    monkeypatch.delenv("COLUMNS", raising=False)  # piped, no width given (xdist sets 80)

    row = {"condition": "esc50_train_20", "utterances": 120, "skipped": 0, "hours": 0.1234}
    row.update(snr_mean=20.0, snr_min=19.9, snr_max=20.1, seconds=12.3, status="mixed")
    print_summary([row])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "condition" in line)
    for name in ("utts", "skipped", "hours", "SNR mean", "SNR min", "SNR max", "seconds", "status"):
        assert name in header, out
    assert "esc50_train_20" in out
