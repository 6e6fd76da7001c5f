"""The recognizer's SE runs once per block of windows (``SE_BLOCK_S``), and its phase timer.

A real small package (``package_toy``: the toy TRNet with the untrained CRN SE, and a
Baseline-n without SE) on generated speech. The references are computed here from the
package's own parts (its SE through ``enhance_batch``, its model runner), independently of
how the recognizer groups windows: a short file is its one window enhanced alone; a long
file's windows are cut from the enhancement of their block. The SE's input is counted by
wrapping the enhancer's ``enhance`` (the real one runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from package_toy import long_speech, toy_package

from trnet.audio import to_int16
from trnet.contract import SAMPLE_RATE as SR
from trnet.infer import recognizer as recognizer_module
from trnet.infer.recognizer import INFER_PHASES, EmotionRecognizer
from trnet.infer.source import block_groups, window_starts
from trnet.se.enhance import enhance_batch
from trnet.train.phases import PhaseTimer

WIN, HOP = 4 * SR, 2 * SR


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("blocks")
    return {
        "trnet": toy_package(root / "trnet"),
        "noisy": toy_package(root / "noisy", system="baseline_noisy"),
    }


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return long_speech(seconds_each=4.0)  # 4 × 4 s of speech + 3 × 1 s gaps: 19 s


def _int16(wave: np.ndarray) -> np.ndarray:
    return to_int16(wave).astype(np.float32) / 32768.0


class Recorded:
    """The recognizer's SE and model runner, recording what they are given (and counting
    the samples the SE processes, padding included); the real ones run."""

    def __init__(self, rec: EmotionRecognizer) -> None:
        self.se_samples = 0
        self.model = rec._model
        self.windows: list[tuple[np.ndarray, np.ndarray | None]] = []
        se_enhance, model = (rec._se.enhance if rec._se is not None else None), rec._model

        def enhance(batch: Any, lengths: Any = None) -> Any:
            self.se_samples += int(batch.numel())
            return se_enhance(batch, lengths)

        def run(waves: list, enhanced: list | None) -> Any:
            for i, w in enumerate(waves):
                self.windows.append((w.copy(), None if enhanced is None else enhanced[i].copy()))
            return model(waves, enhanced)

        if rec._se is not None:
            rec._se.enhance = enhance
        rec._model = run


def _predict(pkg: Path, wave: np.ndarray, batch: int) -> tuple[Any, Recorded, EmotionRecognizer]:
    rec = EmotionRecognizer.load(pkg, device="cpu", batch_size=batch)
    recorded = Recorded(rec)
    return rec.predict(wave, SR), recorded, rec


def test_a_file_shorter_than_a_window_is_its_window_enhanced_alone(packages, speech):
    """One window = one block = the whole audio: the SE sees exactly it, the model sees it
    and its int16-rounded enhancement, as before blocks and as ``trnet decode``."""
    wave = speech[SR : int(3.5 * SR)]
    pred, recorded, rec = _predict(packages["trnet"], wave, batch=16)
    assert recorded.se_samples == len(wave)
    ((noisy, enhanced),) = recorded.windows
    own = _int16(enhance_batch(rec._se, [wave], rec.device)[0])
    np.testing.assert_array_equal(noisy, wave)
    np.testing.assert_array_equal(enhanced, own)
    post, s = recorded.model([wave], [own])  # the runner on its own
    assert [pred.probs[c] for c in rec.classes] == [float(np.float64(p)) for p in post[0]]
    assert pred.s == float(s[0])
    assert [(w.start, w.end) for w in pred.windows] == [(0.0, round(len(wave) / SR, 3))]


@pytest.mark.parametrize("batch", [1, 4, 16])
def test_a_long_file_is_enhanced_once_and_its_windows_cut_from_it(packages, speech, batch):
    """19 s, windows 4 s / hop 2 s: one block (SE_BLOCK_S 30 s) enhanced once, whatever the
    batch size (its windows span several batches); every window's noisy audio is the file
    at its span and its enhanced audio the block's enhancement there."""
    pred, recorded, rec = _predict(packages["trnet"], speech, batch)
    spans = window_starts(len(speech), WIN, HOP)
    assert len(spans) == 9 and spans[-1][1] == len(speech)
    assert recorded.se_samples <= 1.1 * len(speech)
    whole = _int16(enhance_batch(rec._se, [speech], rec.device)[0])
    assert len(recorded.windows) == len(spans)  # each window run once
    for (noisy, enhanced), (a, b) in zip(recorded.windows, spans, strict=True):
        np.testing.assert_array_equal(noisy, speech[a:b])
        np.testing.assert_array_equal(enhanced, whole[a:b])
    assert [(w.start, w.end) for w in pred.windows] == [(a / SR, b / SR) for a, b in spans]
    assert all(np.isfinite(w.snr_db) for w in pred.windows)


def test_small_blocks_each_enhanced_once_cover_every_window(packages, speech, monkeypatch):
    """SE_BLOCK_S 7 s: blocks of two or three windows (4 blocks for 9); each window is
    produced once, cut from its own block's enhancement; the SE sees each block once."""
    monkeypatch.setattr(recognizer_module, "SE_BLOCK_S", 7.0)
    spans = window_starts(len(speech), WIN, HOP)
    groups = block_groups(spans, 7 * SR)
    assert [len(g) for g in groups] == [2, 2, 2, 3]  # the last window ends the file
    pred, recorded, rec = _predict(packages["trnet"], speech, batch=3)
    block_of = {k: g for g in groups for k in g}
    cuts = {}
    for g in groups:
        a, b = spans[g[0]][0], spans[g[-1]][1]
        cuts[g[0]] = (a, _int16(enhance_batch(rec._se, [speech[a:b]], rec.device)[0]))
    assert len(recorded.windows) == len(spans)
    for k, ((noisy, enhanced), (a, b)) in enumerate(zip(recorded.windows, spans, strict=True)):
        start, block = cuts[block_of[k][0]]
        np.testing.assert_array_equal(noisy, speech[a:b])
        # blocks of one batch share a zero-padded SE call: float rounding may move a
        # sample by one int16 step from the block enhanced alone
        assert np.abs(enhanced - block[a - start : b - start]).max() <= 1 / 32768
    # the blocks of a batch share one padded SE call: at most the padded lengths
    assert sum(spans[g[-1]][1] - spans[g[0]][0] for g in groups) <= recorded.se_samples
    assert [(w.start, w.end) for w in pred.windows] == [(a / SR, b / SR) for a, b in spans]
    assert all(np.isfinite(list(w.probs.values())).all() for w in pred.windows)
    assert np.isfinite(pred.snr_db) and abs(sum(pred.probs.values()) - 1) < 1e-5


def test_without_se_the_windows_are_the_file_at_their_spans(packages, speech):
    """No SE: each window of the file runs as it is; the recognizer's posteriors are the
    runner's on those windows (the same as before blocks)."""
    pred, recorded, rec = _predict(packages["noisy"], speech, batch=16)  # one batch
    spans = window_starts(len(speech), WIN, HOP)
    assert len(recorded.windows) == len(spans)
    for (noisy, enhanced), (a, b) in zip(recorded.windows, spans, strict=True):
        assert enhanced is None
        np.testing.assert_array_equal(noisy, speech[a:b])
    post, s = recorded.model([speech[a:b] for a, b in spans], None)
    assert s is None and pred.s is None and pred.snr_db is None
    for w, p in zip(pred.windows, post, strict=True):
        assert [w.probs[c] for c in rec.classes] == [float(v) for v in p]


def test_a_timed_recognizer_gives_the_same_results_and_times_each_phase(packages, speech):
    """A PhaseTimer only reads clocks: the predictions are equal; every phase of the SE
    system is timed (read, SE, fbank, members; no functionals in this model)."""
    plain = EmotionRecognizer.load(packages["trnet"], device="cpu", batch_size=4)
    timed = EmotionRecognizer.load(packages["trnet"], device="cpu", batch_size=4)
    timed.timer = timer = PhaseTimer()
    assert timed._model.timer is timer
    assert plain.predict(speech, SR) == timed.predict(speech, SR)
    assert set(timer.wall) == set(INFER_PHASES) - {"functionals"}
    assert timer.count["SE"] == 1  # one block
    assert timer.count["fbank"] == 3 and timer.count["members"] >= 3  # 9 windows, batches of 4
    assert all(t >= 0 for t in timer.wall.values())


def test_the_onnx_enhancer_runs_blocks(packages, speech):
    """The onnx backend's SE (se.onnx in the package) on a long file's block: each window's
    enhanced audio is the torch SE's within a few int16 steps; the windows are the same."""
    pytest.importorskip("onnxruntime")
    from trnet.infer.package_export import export

    fold = packages["trnet"].parent / "exp" / "trnet" / "fold1"
    pkg = export(
        fold, packages["trnet"].parent / "pkg_onnx", onnx=True, corpus="toy", generated=True
    )
    assert (pkg / "se.onnx").is_file()
    rec = EmotionRecognizer.load(pkg, device="cpu", backend="onnx", batch_size=4)
    assert type(rec._se.net).__name__ == "OrtNet"  # the network in onnxruntime
    recorded = Recorded(rec)
    pred = rec.predict(speech, SR)
    _, want, _ = _predict(packages["trnet"], speech, batch=4)
    assert recorded.se_samples == len(speech)  # one block
    assert len(pred.windows) == len(want.windows) == 9
    for (noisy, got), (noisy_torch, enhanced) in zip(recorded.windows, want.windows, strict=True):
        np.testing.assert_array_equal(noisy, noisy_torch)
        assert np.abs(got - enhanced).max() <= 4 / 32768
