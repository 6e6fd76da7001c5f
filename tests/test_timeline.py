"""``trnet infer --plot DIR``: a PNG per input of its windows over time (issue 26, item 5).

A real toy package (``package_toy``: TRNet with the CRN SE, and a noisy-input system
without an SE) run on generated speech: the figure's curves are the windows' results, the
PNG names stay inside DIR whatever the input names, reruns give the same bytes, and a
user's file in DIR is never replaced.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_main import run_main
from package_toy import long_speech, toy_package

from trnet.contract import CLASSES, SAMPLE_RATE
from trnet.infer.recognizer import EmotionRecognizer
from trnet.infer.timeline import SOFTWARE, is_timeline_png, png_names, timeline_figure
from trnet.io import write_kv


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("timeline")
    speech = long_speech(seconds_each=2.5)  # 13 s: 6 windows of 4 s at a 2 s hop
    audio = root / "audio"
    audio.mkdir()
    sf.write(audio / "long.wav", speech, SAMPLE_RATE, subtype="PCM_16")
    sf.write(audio / "short.flac", speech[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    sf.write(audio / "silence.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    (audio / "notes.wav").write_text("not audio\n")
    return {
        "trnet": toy_package(root / "trnet"),
        "noisy": toy_package(root / "noisy", system="baseline_noisy"),
        "audio": audio,
    }


def _inputs(toy: dict) -> list[Path]:
    return [toy["audio"] / n for n in ("long.wav", "short.flac", "silence.wav", "notes.wav")]


def test_plot_writes_one_png_per_input_and_reruns_give_the_same_bytes(
    toy, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "plots"
    args = ["infer", toy["trnet"], *_inputs(toy), "--plot", out]
    first = run_main(args, monkeypatch, capsys)
    assert first.code == 1  # notes.wav is not audio: one error, the others plotted
    assert "plots: 3 in" in first.stdout and "notes.wav" in first.stdout
    pngs = sorted(p.name for p in out.iterdir())
    assert pngs == ["long.png", "short.png", "silence.png"]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for data in before.values():
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"Software\x00" + SOFTWARE.encode() in data and b"atplotlib" not in data
    assert all(is_timeline_png(out / n) for n in pngs)
    (out / "long.png").write_bytes(before["long.png"][:-20])  # a damaged plot of its own
    again = run_main(args[:3] + ["--plot", out], monkeypatch, capsys)  # long.wav alone
    assert again.code == 0, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the same bytes


def test_the_figure_draws_the_windows_results(toy):
    rec = EmotionRecognizer.load(toy["trnet"])
    pred = rec.predict_file(toy["audio"] / "long.wav")
    assert len(pred.windows) == 6
    fig = timeline_figure(pred, rec.classes, rec.system)
    axes = fig.axes
    assert [ax.get_ylabel() for ax in axes] == ["probability", "speech", "SNR est. (dB)", "s"]
    centres = [(w.start + w.end) / 2 for w in pred.windows]
    lines = axes[0].get_lines()
    assert len(lines) == len(CLASSES)
    for line, c in zip(lines, CLASSES, strict=True):
        np.testing.assert_allclose(line.get_xdata(), centres)
        np.testing.assert_allclose(line.get_ydata(), [w.probs[c] for w in pred.windows])
        assert line.get_label() == f"{c} {pred.probs[c]:.2f}"
    bars = axes[1].patches  # speech activity: the windows' own spans tile the file
    np.testing.assert_allclose([b.get_height() for b in bars], [w.speech for w in pred.windows])
    assert bars[0].get_x() == 0 and bars[-1].get_x() + bars[-1].get_width() == pred.duration
    np.testing.assert_allclose(axes[2].get_lines()[0].get_ydata(), [w.snr_db for w in pred.windows])
    np.testing.assert_allclose(axes[3].get_lines()[0].get_ydata(), [w.s for w in pred.windows])
    assert axes[2].get_lines()[1].get_ydata()[0] == pred.snr_db  # the file's value, dashed
    assert fig.texts[0].get_text().startswith(f"{pred.name}: {pred.label} (")

    rec = EmotionRecognizer.load(toy["noisy"])  # no SE, no s: two panels
    fig = timeline_figure(rec.predict_file(toy["audio"] / "short.flac"), rec.classes, "x")
    assert [ax.get_ylabel() for ax in fig.axes] == ["probability", "speech"]
    silent = rec.predict_file(toy["audio"] / "silence.wav")
    fig = timeline_figure(silent, rec.classes, "x")
    assert not fig.axes[0].get_lines() and fig.axes[0].texts[0].get_text() == "no speech"
    assert fig.texts[0].get_text().splitlines()[0].endswith(": none")


def test_png_names_stay_in_the_dir_and_never_collide():
    names = [
        "../../etc/passwd",
        "/abs/dir/a.wav",
        "other/A.WAV",
        "a",
        "a",
        "..",
        ".hidden.wav",
        "-rf.wav",
        "C:\\Users\\me\\talk.flac",
        "x/y/",
        "spaces and ünïcode $(rm).wav",
        "é" * 300 + ".wav",
        "",
    ]
    got = png_names(names)
    assert got == png_names(names)  # deterministic
    assert len({g.lower() for g in got}) == len(got)
    for g in got:
        assert g.endswith(".png") and "/" not in g and "\\" not in g
        assert not g.startswith((".", "-")) and len(g.encode()) < 255
    assert got[0] == "passwd.png" and got[8] == "talk.png" and got[9] == "y.png"
    assert got[10] == "spaces_and_ünïcode_rm_.png"
    # a, A and a again: each gets its name's hash; the repeated name also a counter
    assert got[1][:2] == "a-" and got[2][:2] == "A-" and got[3] != got[4]
    assert got[4] == got[3].removesuffix(".png") + "-2.png"
    assert png_names(["/abs/dir/a.wav"]) == ["a.png"]  # no collision: the plain stem


def test_a_users_file_is_never_replaced_and_wav_scp_keys_stay_inside(
    toy, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "plots"
    out.mkdir()
    mine = out / "long.png"
    mine.write_bytes(b"\x89PNG\r\n\x1a\n my holiday photo")
    args = ["infer", toy["trnet"], toy["audio"] / "long.wav", "--plot", out]
    refused = run_main(args, monkeypatch, capsys)
    assert refused.code == 1
    assert refused.error_line.startswith(f"{mine}: exists and is not a plot of")
    assert mine.read_bytes().endswith(b"holiday photo") and sorted(out.iterdir()) == [mine]
    a_file = run_main([*args[:-1], mine], monkeypatch, capsys)
    assert a_file.code == 1 and "is not a directory" in a_file.error_line

    scp = tmp_path / "wav.scp"
    write_kv(scp, {"../escape": str(toy["audio"] / "short.flac")})
    done = run_main(["infer", toy["trnet"], scp, "--plot", tmp_path / "p"], monkeypatch, capsys)
    assert done.code == 0, done.stderr
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["escape.png"]
    assert not (tmp_path / "escape.png").exists()
