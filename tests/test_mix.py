"""SNR mixing: exact realised SNR on the written int16 audio, seeds, job splits, bad input."""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile as sf
from mix_toy import SR, make_data_dir, make_noise_set, run_mix, speech_like

from trnet.audio import read_audio
from trnet.errors import TrnetError
from trnet.io import read_kv, write_kv
from trnet.mix.mixing import fit_noise_to_length, mix_at_snr, scale_noise_to_snr, speech_power


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    root = tmp_path_factory.mktemp("mix")
    data, noise = make_data_dir(root, silent=True), make_noise_set(root)
    result = run_mix(data, root / "dump", "--noise", noise, "--snr", 20, 10, 0, "clean", "--nj", 1)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return root, data, noise, result


def test_fit_noise_tiles_and_cuts_from_offset():
    noise = np.arange(5.0)
    assert fit_noise_to_length(noise, 7, 3).tolist() == [3, 4, 0, 1, 2, 3, 4]
    assert fit_noise_to_length(noise, 2, 1).tolist() == [1, 2]


def test_scale_noise_gives_exact_snr_and_active_level_ignores_pauses():
    rng = np.random.default_rng(0)
    speech, noise = rng.standard_normal(8000), rng.standard_normal(8000)
    scaled = scale_noise_to_snr(speech, noise, 7.5)
    assert 10 * math.log10(np.mean(speech**2) / np.mean(scaled**2)) == pytest.approx(7.5)
    with_pause = np.concatenate([speech, np.zeros(8000)])
    assert speech_power(with_pause, "active") == pytest.approx(np.mean(speech**2), rel=1e-6)
    assert speech_power(with_pause, "rms") == pytest.approx(np.mean(speech**2) / 2)


@pytest.mark.parametrize("snr", [20, 10, 0])
def test_realised_snr_of_written_audio_matches_utt2snr(mixed, snr):
    root = mixed[0]
    cond = root / "dump" / f"noise_{snr}"
    wav, clean = read_kv(cond / "wav.scp"), read_kv(cond / "utt2clean")
    utt2snr = read_kv(cond / "utt2snr")
    gains = read_kv(cond / "utt2gain") if (cond / "utt2gain").is_file() else {}
    assert sorted(wav) == ["spkA-u1", "spkA-u2", "spkB-u3", "spkB-u4"]
    for utt in wav:
        g = float(gains.get(utt, 1))
        ref = g * read_audio(clean[utt]).astype(np.float64)
        noisy = read_audio(wav[utt]).astype(np.float64)
        realised = 10 * math.log10(np.sum(ref**2) / np.sum((noisy - ref) ** 2))
        assert abs(realised - float(utt2snr[utt])) < 0.05, (utt, realised)
        assert np.max(np.abs(noisy)) <= 0.99 + 1 / 32768
    if snr == 0:
        assert float(gains["spkA-u2"]) < 1  # the loud utterance needed peak protection


def test_the_residual_is_the_clip_at_the_offset_in_utt2noise(mixed):
    """noisy − g·clean is, up to its scale and int16 rounding, the recorded clip (read as
    16 kHz mono: also the 44.1 kHz stereo one) tiled from the recorded offset."""
    root, _, noise = mixed[:3]
    clips = read_kv(noise / "wav.scp")
    used = set()
    for snr in (20, 10, 0):
        cond = root / "dump" / f"noise_{snr}"
        wav, clean = read_kv(cond / "wav.scp"), read_kv(cond / "utt2clean")
        gains = read_kv(cond / "utt2gain") if (cond / "utt2gain").is_file() else {}
        for utt, spec in wav.items():
            clip, offset = read_kv(cond / "utt2noise")[utt].split()
            used.add(clip)
            ref = float(gains.get(utt, 1)) * read_audio(clean[utt]).astype(np.float64)
            residual = read_audio(spec).astype(np.float64) - ref
            segment = fit_noise_to_length(read_audio(clips[clip]), residual.size, int(offset))
            scale = residual @ segment / (segment @ segment)
            left = residual - scale * segment
            assert scale > 0 and np.sum(left**2) < 1e-3 * np.sum(residual**2), (utt, snr, clip)
    assert used == {"white", "stereo44k"}


def test_conditions_are_full_data_dirs_and_skip_bad_clips_and_silent_utts(mixed):
    root, data = mixed[0], mixed[1]
    cond = root / "dump" / "noise_10"
    assert read_kv(cond / "skipped") == {"spkB-u5": "silent"}
    assert read_kv(cond / "utt2emo") == {u: "neu" for u in read_kv(cond / "wav.scp")}
    assert (cond / "corpus.json").read_text() == (data / "corpus.json").read_text()
    clips = {v.split()[0] for v in read_kv(cond / "utt2noise").values()}
    assert clips <= {"white", "stereo44k"}
    for _, feats in kaldiio.load_scp_sequential(str(cond / "feats.scp")):
        assert feats.shape[1] == 80 and np.isfinite(feats).all()
    assert "clip 'zeros' is silent; not used" in mixed[3].output
    assert "1 zero-length clips not used (empty)" in mixed[3].output
    clean = root / "dump" / "clean"
    assert not (clean / "utt2snr").exists()
    for utt, spec in read_kv(clean / "wav.scp").items():
        assert np.array_equal(read_audio(spec), read_audio(read_kv(data / "wav.scp")[utt]))


def test_generated_noise_is_recorded_in_corpus_json(mixed, tmp_path):
    """A noise set indexed from a generated corpus (its noise.json) marks the conditions it
    is mixed into; the clean condition, like real noise above, keeps the source's file."""
    _, data, noise, _ = mixed
    gen = tmp_path / "noise"
    shutil.copytree(noise, gen)
    (gen / "noise.json").write_text('{"generated": true}\n')
    result = run_mix(data, tmp_path / "dump", "--noise", gen, "--snr", 10, "clean", "--no-feats")
    assert result.exit_code == 0, result.output + repr(result.exception)
    source = json.loads((data / "corpus.json").read_text())
    noisy = json.loads((tmp_path / "dump" / "noise_10" / "corpus.json").read_text())
    assert noisy == {**source, "noise_generated": True}
    clean = tmp_path / "dump" / "clean" / "corpus.json"
    assert clean.read_text() == (data / "corpus.json").read_text()


def _bytes(cond, root):
    names = ["wav.ark", "feats.ark", "cmvn.ark", "wav.scp", "feats.scp", "utt2noise", "utt2gain"]
    return {n: (cond / n).read_bytes().replace(str(root).encode(), b"ROOT") for n in names}


def test_nj_does_not_change_bytes_and_seed_does(mixed, tmp_path):
    root, data, noise, _ = mixed
    for nj, seed in [(2, 0), (1, 5)]:
        out = tmp_path / f"nj{nj}_seed{seed}"
        result = run_mix(data, out, "--noise", noise, "--snr", 10, "--nj", nj, "--seed", seed)
        assert result.exit_code == 0, result.output + repr(result.exception)
    reference = _bytes(root / "dump" / "noise_10", root / "dump")
    assert _bytes(tmp_path / "nj2_seed0" / "noise_10", tmp_path / "nj2_seed0") == reference
    other = _bytes(tmp_path / "nj1_seed5" / "noise_10", tmp_path / "nj1_seed5")
    assert other["wav.ark"] != reference["wav.ark"]


def test_flac_output_with_active_level_and_no_feats(mixed, tmp_path):
    root, data, noise, _ = mixed
    args = ["--snr", "5", "--format", "flac", "--level", "active", "--no-feats", "--nj", "1"]
    result = run_mix(data, tmp_path, "--noise", noise, *args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    cond = tmp_path / "noise_5"
    assert not (cond / "feats.scp").exists()
    wav, clean = read_kv(cond / "wav.scp"), read_kv(cond / "utt2clean")
    gains = read_kv(cond / "utt2gain") if (cond / "utt2gain").is_file() else {}
    for utt, spec in wav.items():
        assert spec.endswith(f"wav/{utt}.flac")
        ref = float(gains.get(utt, 1)) * read_audio(clean[utt]).astype(np.float64)
        residual = read_audio(spec) - ref
        realised = 10 * math.log10(speech_power(ref, "active") / np.mean(residual**2))
        assert abs(realised - 5) < 0.05


def test_second_run_skips_complete_conditions(mixed):
    root, data, noise, _ = mixed
    ark = root / "dump" / "noise_20" / "wav.ark"
    before = ark.stat().st_mtime_ns
    result = run_mix(data, root / "dump", "--noise", noise, "--snr", 20, "--nj", 1)
    assert result.exit_code == 0
    assert "kept" in result.output
    assert ark.stat().st_mtime_ns == before
    other = run_mix(data, root / "dump", "--noise", noise, "--snr", 20, "--nj", 1, "--seed", 7)
    assert other.exit_code == 1
    assert (
        str(other.exception)
        == f"{root / 'dump' / 'noise_20'}: exists with other settings; use --overwrite; "
        "changed: seed"
    )
    assert ark.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "case, message",
    [
        ("unknown", "--noise: unknown noise set 'nosuch'"),
        ("snr", "--snr: 'abc' is neither a number"),
        ("nometa", "not a noise set (no utt2category"),
    ],
)
def test_bad_input_is_one_line_error(mixed, tmp_path, case, message):
    root, data, noise, _ = mixed
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "wav.scp").write_text(f"white {noise}/clips/white.wav\n")
    noise_arg = {"unknown": "nosuch", "snr": str(noise), "nometa": str(bare)}[case]
    snr = "abc" if case == "snr" else "10"
    result = run_mix(
        data, tmp_path / "out", "--noise", noise_arg, "--noise-root", root, "--snr", snr
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, TrnetError)
    assert message in str(result.exception) and "\n" not in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_quiet_speech_at_high_snr_survives_int16():
    rng = np.random.default_rng(3)
    speech = np.round(speech_like(rng, 1.0, 0.003) * 32768) / 32768
    mix = mix_at_snr(speech, rng.standard_normal(speech.size), 30.0)
    noisy = mix.samples / 32768.0
    realised = 10 * math.log10(np.sum(speech**2) / np.sum((noisy - speech) ** 2))
    assert abs(realised - 30.0) < 0.05


def test_utterance_shorter_than_a_frame_is_skipped(tmp_path):
    data, noise = make_data_dir(tmp_path), make_noise_set(tmp_path)
    short = tmp_path / "wav" / "spkB-u0.wav"
    sf.write(short, np.full(200, 0.2, np.float32), SR, subtype="PCM_16")
    tables = {name: read_kv(data / name) for name in ("wav.scp", "utt2spk", "utt2emo", "utt2dur")}
    extra = {"wav.scp": str(short), "utt2spk": "spkB", "utt2emo": "neu", "utt2dur": "0.0125"}
    for name, value in extra.items():
        write_kv(data / name, {**tables[name], "spkB-u0": value})
    result = run_mix(data, tmp_path / "dump", "--noise", noise, "--snr", 10, "--nj", 1)
    assert result.exit_code == 0, result.output + repr(result.exception)
    cond = tmp_path / "dump" / "noise_10"
    assert read_kv(cond / "skipped") == {"spkB-u0": "shorter than one frame"}
    assert "spkB-u0" not in read_kv(cond / "wav.scp") and len(read_kv(cond / "feats.scp")) == 4


# ---------------------------------------------------------------- array jobs over splits

ROOT = Path(__file__).resolve().parents[1]
TRNET_ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}


def _per_key(cond):
    """Every table of a condition dir (the scp files aside), each utterance's waveform and
    matrix."""
    tables = {p.name: read_kv(p) for p in cond.iterdir() if p.is_file() and "." not in p.name}
    waves = {u: read_audio(s).tolist() for u, s in read_kv(cond / "wav.scp").items()}
    mats = {u: m.tolist() for u, m in kaldiio.load_scp_sequential(str(cond / "feats.scp"))}
    return tables, waves, mats


def test_mix_as_array_jobs_over_splits_equals_one_job(mixed, tmp_path, monkeypatch):
    """utils/split_data.sh --per-utt into 4, `trnet mix` on each as a run.pl job array,
    `trnet mix --from-splits`: per key the tables, waveforms and matrices of one job, the
    CMVN byte for byte, and the same .done (a one-job rerun keeps it). Paths are relative to
    the recipe folder (the cwd), as in Kaldi."""
    _, data, noise, _ = mixed
    monkeypatch.chdir(tmp_path)
    shutil.copytree(data, tmp_path / "data")
    # the silent utterance third, in part 3 beside a usable one (a part of only unusable
    # utterances fails, as a whole data dir does)
    for name in ("wav.scp", "utt2spk", "utt2emo", "utt2dur"):
        table = read_kv(tmp_path / "data" / name)
        value = table.pop("spkB-u5")
        table["spkA-u3"] = "spkA" if name == "utt2spk" else value
        write_kv(tmp_path / "data" / name, table)
    args = ["--noise", str(noise), "--snr", "10", "clean", "--nj", "1"]
    one = run_mix("data", "one", *args)
    assert one.exit_code == 0, one.output + repr(one.exception)
    split = subprocess.run(
        [str(ROOT / "utils/split_data.sh"), "--per-utt", "data", "4"],
        cwd=tmp_path, env=TRNET_ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert split.returncode == 0, split.stderr
    jobs = [str(ROOT / "utils/run.pl"), "JOB=1:4", "log/mix.JOB.log", "trnet", "mix"]
    jobs += ["data/split4utt/JOB", "splits/JOB", *args]
    done = subprocess.run(jobs, cwd=tmp_path, env=TRNET_ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr + (tmp_path / "log/mix.1.log").read_text()
    merged = run_mix("data", "dump", *args, "--from-splits", "splits")
    assert merged.exit_code == 0, merged.output + repr(merged.exception)
    assert "merged" in merged.output
    for cond in ("noise_10", "clean"):
        ours, ref = tmp_path / "dump" / cond, tmp_path / "one" / cond
        assert _per_key(ours) == _per_key(ref), cond
        for name in ("cmvn.ark", ".done", ".feats.done", "corpus.json"):
            assert (ours / name).read_bytes() == (ref / name).read_bytes(), (cond, name)
    assert read_kv(tmp_path / "splits/3/noise_10/skipped") == {"spkA-u3": "silent"}
    assert "utt2gain" in _per_key(tmp_path / "dump" / "noise_10")[0]  # one part had gain < 1
    assert "kept" in run_mix("data", "dump", *args).output
    # a part whose job did not finish: one line naming it
    (tmp_path / "splits/3/clean/.done").unlink()
    again = run_mix("data", "d2", *args, "--from-splits", "splits")
    assert again.exit_code == 1
    assert "splits/3/clean: not complete (no .done: its split job failed" in str(again.exception)
