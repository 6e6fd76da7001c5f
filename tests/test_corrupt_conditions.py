"""Corruption conditions: the contract's grammar, their own table in RESULTS.md (outside the
noisy averages), and `trnet corrupt` writing them on a tiny data dir with mix's guarantees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mix_toy import SR, make_data_dir
from typer.testing import CliRunner

from trnet.audio import read_audio
from trnet.cli import app
from trnet.contract import (
    CLASSES,
    Condition,
    Corruption,
    format_condition,
    parse_condition,
    split_condition,
    stable_seed,
)
from trnet.corrupt.clip import clip
from trnet.corrupt.codec import codec_round_trip
from trnet.corrupt.loss import packet_loss
from trnet.corrupt.rir_index import build_rir_index
from trnet.errors import TrnetError
from trnet.io import read_kv, write_kv

# ---------------------------------------------------------------- the grammar


@pytest.mark.parametrize(
    "name, noise, snr, corruptions",
    [
        ("clean", "clean", "clean", ()),
        ("esc50_10", "esc50", "10", ()),
        ("babble_1e+06", "babble", "1e+06", ()),  # %g's exponent: its + is no separator
        ("rev-0.6", "clean", "clean", (("rev", "0.6"),)),
        ("mp3-24k", "clean", "clean", (("mp3", "24k"),)),
        ("opus-16k", "clean", "clean", (("opus", "16k"),)),
        ("tel8k", "clean", "clean", (("tel8k", ""),)),
        ("tel8k-ulaw", "clean", "clean", (("tel8k", "ulaw"),)),
        ("clip-0.05", "clean", "clean", (("clip", "0.05"),)),
        ("loss-0.1", "clean", "clean", (("loss", "0.1"),)),
        ("rev-0.6+musan_10", "musan", "10", (("rev", "0.6"),)),
        ("rev-0.6+mp3-24k+esc50_-5", "esc50", "-5", (("rev", "0.6"), ("mp3", "24k"))),
    ],
)
def test_condition_names_parse_into_their_parts_and_back(name, noise, snr, corruptions):
    parsed = parse_condition(name)
    want = Condition(noise, snr, tuple(Corruption(k, v) for k, v in corruptions))
    assert parsed == want and parsed.name == name
    assert parsed.corrupted == bool(corruptions)
    if corruptions:  # no noise × SNR: split_condition refuses rather than guess
        with pytest.raises(TrnetError, match="is a corruption condition"):
            split_condition(name)
    else:
        assert split_condition(name) == (noise, snr)


@pytest.mark.parametrize(
    "name, message",
    [
        # a noise set called "clip" at 0.05 dB is what this used to be: now no noise set
        # may take a corruption's name, so the name is refused with the way to write it
        ("clip_0.05", "may not begin with a corruption's name"),
        ("loss_10", "may not begin with a corruption's name"),
        ("rev-0.6_10", "bad rev level"),
        ("rev-0.60", "bad rev level"),  # one name per condition: %g only
        ("clip-0", "bad clip level"),
        ("clip-1.5", "bad clip level"),
        ("loss-1", "bad loss level"),
        ("mp3-24", "bad mp3 level"),
        ("tel8k-", "bad tel8k level"),
        ("rev", "bad rev level"),
        ("rev-0.6+clean", "without '+clean'"),
        ("rev-0.6+", "nothing after the last '+'"),
        ("rev-0.6+rev-0.3", "appears twice"),
        ("musan_10+rev-0.6", "is neither clean nor <noise>_<snr>"),
        ("esc50_ten", "is neither clean nor <noise>_<snr>"),
    ],
)
def test_bad_condition_names_are_one_line_errors(name, message):
    with pytest.raises(TrnetError, match=re.escape(message)) as err:
        parse_condition(name)
    assert "\n" not in str(err.value)


def test_noise_names_parse_as_before():
    for noise, snr in [("esc50", 0.0), ("esc50_train", -5.0), ("a+b", 10.0), ("white", 1e-5)]:
        name = format_condition(noise, snr)
        assert split_condition(name) == (noise, name.rpartition("_")[2])


# ---------------------------------------------------------------- scoring and RESULTS.md

SYSTEMS = {"baseline_noisy": 0.6, "trnet": 0.8}
NOISY = {"clean": 1.0, "esc50_10": 0.8, "esc50_0": 0.6, "musan_0": 0.5}
CORRUPTED = {"rev-0.6": 0.3, "mp3-24k": 0.5, "tel8k": 0.7}


def _write_decode(exp: Path, system: str, cond: str, fold: int, acc: float) -> None:
    """A decode dir of 16 utterances (classes of 4, 3, 3, 6), about ``acc`` right."""
    rng = np.random.default_rng([fold, int(acc * 100), len(cond), len(system)])
    utts = [f"Ses0{fold}F-u{i:02d}" for i in range(16)]
    ref = {u: CLASSES[min(i % 5, 3)] for i, u in enumerate(utts)}
    hit = rng.random(len(utts)) < acc
    hyp = {u: ref[u] if hit[i] else CLASSES[(i + 1) % 4] for i, u in enumerate(utts)}
    path = exp / system / "decode" / cond / f"fold{fold}"
    path.mkdir(parents=True)
    write_kv(path / "ref", ref)
    write_kv(path / "hyp", hyp)
    (path / "classes").write_text("\n".join(CLASSES) + "\n")
    parsed = parse_condition(cond)
    if cond == "tel8k":  # no info.json: the condition from the dir name
        return
    snr = None if parsed.snr == "clean" else int(parsed.snr)
    info = {"system": system, "fold": fold, "condition": cond, "noise": parsed.noise,
            "snr": snr, "corpus": "iemocap", "generated": True}  # fmt: skip
    if parsed.corrupted:
        info["corruption"] = parsed.corruption
    (path / "info.json").write_text(json.dumps(info))


def _uar_by_hand(exp: Path, system: str, cond: str) -> float:
    """UAR (%) of one system and condition, mean over the folds, from hyp and ref."""
    uars = []
    for fold in (1, 2):
        path = exp / system / "decode" / cond / f"fold{fold}"
        ref, hyp = read_kv(path / "ref"), read_kv(path / "hyp")
        recalls = [np.mean([hyp[u] == c for u in ref if ref[u] == c]) for c in set(ref.values())]
        uars.append(np.mean(recalls))
    return 100 * float(np.mean(uars))


def _rows(md: str, caption: str) -> dict[str, dict[str, str]]:
    """The table under the caption that contains ``caption``: first cell → header → cell."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**") and caption in line)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    header = [c.strip() for c in lines[first].strip("|").split("|")]
    table = {}
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        table[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return table


def _results(exp: Path, *extra: str):
    return CliRunner().invoke(app, ["results", str(exp), "--n-boot", "50", *extra])


def test_corruption_conditions_get_their_table_and_leave_the_noisy_averages(tmp_path):
    exp = tmp_path / "exp"
    for system, acc in SYSTEMS.items():
        for cond, scale in NOISY.items():
            for fold in (1, 2):
                _write_decode(exp, system, cond, fold, acc * scale)
    assert _results(exp, "--no-figures").exit_code == 0
    before = (exp / "RESULTS.md").read_text()
    for system in SYSTEMS:
        for cond, acc in CORRUPTED.items():
            for fold in (1, 2):
                _write_decode(exp, system, cond, fold, acc)
    result = _results(exp)
    assert result.exit_code == 0, result.output + repr(result.exception)
    md = (exp / "RESULTS.md").read_text()
    uar_before, uar = (
        _rows(before, "UAR (%), mean over folds"),
        _rows(md, "UAR (%), mean over folds"),
    )
    for system, row in uar_before.items():  # every noise column and average as it was
        assert {k: uar[system][k] for k in row} == row
        assert "noisy avg" in row and set(uar[system]) - set(row) == set(CORRUPTED)
        for cond in CORRUPTED:
            assert float(uar[system][cond]) == pytest.approx(
                _uar_by_hand(exp, system, cond), abs=0.006
            )
    assert "- corruption conditions (not in the noisy averages): mp3-24k, rev-0.6, tel8k" in md
    assert "## Noise × SNR grids and corruption × level tables per system" in md
    # the corruption × level table holds each corruption condition's fold means by hand
    table = _rows(md, "trnet: corruption × level")
    assert {(k, r["level"]) for k, r in table.items()} == {
        ("mp3", "24k"),
        ("rev", "0.6"),
        ("tel8k", "-"),
    }
    for kind, row in table.items():
        cond = kind if row["level"] == "-" else f"{kind}-{row['level']}"
        mean = float(row["UAR mean ± std"].split()[0])
        assert mean == pytest.approx(_uar_by_hand(exp, "trnet", cond), abs=0.006)
    # scored in place like any decode dir; the noise × SNR figure still drawn
    scores = json.loads(
        (exp / "trnet" / "decode" / "rev-0.6" / "fold1" / "scores.json").read_text()
    )
    assert scores["condition"] == "rev-0.6" and scores["corruption"] == "rev-0.6"
    grid = (exp / "trnet" / "decode" / "scores_grid.tsv").read_text()
    assert "\trev-0.6\t" in grid and "\ttel8k\t" in grid
    assert (exp / "figures" / "uar_vs_snr.png").is_file()


# ---------------------------------------------------------------- trnet corrupt


def _rir(rt60: float, seed: int) -> np.ndarray:
    """An exponentially decaying noise tail of the given RT60 after a unit direct path."""
    rng = np.random.default_rng(seed)
    n = np.arange(int(1.2 * rt60 * SR))
    h = 0.3 * rng.standard_normal(n.size) * 10 ** (-3 * n / (rt60 * SR))
    h[:20] = 0
    h[20] = 1.0
    return h.astype(np.float32)


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrupt")
    data = make_data_dir(root)
    rirs = root / "rirs"
    rirs.mkdir()
    for i, rt60 in enumerate((0.6, 0.62, 0.3)):
        sf.write(rirs / f"r{i}.wav", _rir(rt60, i), SR, subtype="FLOAT")
    build_rir_index(rirs, root / "rir_index")
    conds = ["mp3-24k", "tel8k", "clip-0.3", "loss-0.2", "rev-0.6"]
    result = run_corrupt(data, root / "dump", *conds, "--rirs", root / "rir_index", "--nj", 1)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return root, data, conds


def run_corrupt(src, out, *args):
    args = [str(a) for a in args]
    flags = [i for i, a in enumerate(args) if a.startswith("--")]
    first = flags[0] if flags else len(args)
    conditions = args[:first]
    return CliRunner().invoke(
        app, ["corrupt", str(src), str(out), "--condition", *conditions, *args[first:]]
    )


def test_each_condition_is_a_data_dir_with_the_measured_levels(corrupted):
    root, data, conds = corrupted
    speech = {u: read_audio(s) for u, s in read_kv(data / "wav.scp").items()}
    dump = root / "dump"
    for cond in conds:
        d = dump / cond
        assert (d / ".done").is_file() and (d / "feats.scp").is_file()
        assert read_kv(d / "utt2emo") == read_kv(data / "utt2emo")
        meta = json.loads((d / "corpus.json").read_text())
        assert meta["corpus"] == "iemocap" and meta["corruption"]["condition"] == cond
        assert {u: len(read_audio(s)) for u, s in read_kv(d / "wav.scp").items()} == {
            u: len(x) for u, x in speech.items()
        }
    level = json.loads((dump / "mp3-24k" / "corpus.json").read_text())["corruption"]
    assert 20 < level["probe_kbps"] < 30
    for utt, x in speech.items():
        kbps = codec_round_trip(x, "mp3", level["compression_level"]).levels["kbps"]
        assert float(read_kv(dump / "mp3-24k" / "utt2kbps")[utt]) == kbps
        assert (
            float(read_kv(dump / "clip-0.3" / "utt2clipped")[utt]) == clip(x, 0.3).levels["clipped"]
        )
        rng = np.random.default_rng(stable_seed(0, utt, "loss-0.2"))
        assert (
            float(read_kv(dump / "loss-0.2" / "utt2lost")[utt])
            == packet_loss(x, 0.2, rng).levels["lost"]
        )
        rt60 = float(read_kv(dump / "rev-0.6" / "utt2rt60")[utt])
        assert rt60 == pytest.approx(0.6, rel=0.15)  # the 0.3 s RIR is never drawn
    assert set(read_kv(dump / "tel8k" / "utt2sdr")) == set(speech)
    index = read_kv(root / "rir_index" / "rir2rt60")
    assert {round(float(v), 3) for v in read_kv(dump / "rev-0.6" / "utt2rt60").values()} <= {
        float(v) for v in index.values()
    }


def _bytes(cond: Path, root: Path) -> dict[str, bytes]:
    names = ["wav.ark", "feats.ark", "cmvn.ark", "wav.scp", "feats.scp"]
    names += sorted(p.name for p in cond.glob("utt2*"))
    return {n: (cond / n).read_bytes().replace(str(root).encode(), b"ROOT") for n in names}


def test_nj_does_not_change_bytes_and_seed_does(corrupted, tmp_path):
    root, data, _ = corrupted
    for nj, seed in [(2, 0), (1, 5)]:
        out = tmp_path / f"nj{nj}_seed{seed}"
        result = run_corrupt(data, out, "loss-0.2", "rev-0.6", "--rirs", root / "rir_index",
                             "--nj", nj, "--seed", seed)  # fmt: skip
        assert result.exit_code == 0, result.output + repr(result.exception)
    for cond in ("loss-0.2", "rev-0.6"):
        reference = _bytes(root / "dump" / cond, root / "dump")
        assert _bytes(tmp_path / "nj2_seed0" / cond, tmp_path / "nj2_seed0") == reference
    other = _bytes(tmp_path / "nj1_seed5" / "loss-0.2", tmp_path / "nj1_seed5")
    assert other["wav.ark"] != _bytes(root / "dump" / "loss-0.2", root / "dump")["wav.ark"]


def test_a_rerun_skips_and_other_settings_refuse(corrupted):
    root, data, _ = corrupted
    ark = root / "dump" / "clip-0.3" / "wav.ark"
    before = ark.stat().st_mtime_ns
    result = run_corrupt(data, root / "dump", "clip-0.3", "--nj", 1)
    assert result.exit_code == 0 and "kept" in result.output
    assert ark.stat().st_mtime_ns == before
    other = run_corrupt(data, root / "dump", "clip-0.3", "--nj", 1, "--seed", 7)
    assert other.exit_code == 1
    assert str(other.exception) == (
        f"{root / 'dump' / 'clip-0.3'}: exists with other settings; use --overwrite; changed: seed"
    )
    assert ark.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "condition, message",
    [
        ("clip_0.05", "may not begin with a corruption's name"),
        ("musan_10", "not a corruption condition"),
        ("rev-0.6+mp3-24k", "one corruption per condition"),
        ("rev-0.6", "--rirs"),
        ("mp3-500k", "libsndfile reaches no such bitrate"),
    ],
)
def test_bad_conditions_are_one_line_errors_and_write_nothing(
    corrupted, tmp_path, condition, message
):
    _, data, _ = corrupted
    result = run_corrupt(data, tmp_path / "out", condition)
    assert result.exit_code == 1
    assert isinstance(result.exception, TrnetError)
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "out").exists()
