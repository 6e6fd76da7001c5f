"""``EmotionRecognizer``: a model package applied to waveforms and audio files.

What a window goes through is what ``trnet decode`` saw for a test utterance: the SE
(systems with enhanced or blended input), its output rounded to int16 as ``trnet enhance``
stores it, then the package's model type (:mod:`trnet.infer.package_models`): for a SER
model, 80-dim Kaldi fbank on the int16 scale of the noisy and the enhanced audio,
VAD-trimmed and whole or repeated or cut to the config's ``max_len`` frames as decode feeds
them, a hybrid's eGeMAPS functionals of the window, each member (an ensemble's
log-posteriors averaged); for the SVM, the functionals and its posteriors. An utterance no
longer than one window is one window, so its posteriors are those of ``trnet decode``.

The SE runs on blocks, not windows: consecutive windows of a source are grouped into
blocks of at most :data:`SE_BLOCK_S` seconds (:meth:`trnet.infer.source.Source.blocks`,
always at least one window), each block is enhanced once and its windows' enhanced audio
is cut from it. Overlapping windows (4 s at a 2 s hop) would otherwise send each sample
through the SE twice; with blocks, only the windows shared by two neighbouring blocks are
enhanced twice. A source no longer than one window is one block (its whole audio, as
decode enhanced it); in a longer file, a window's enhanced audio is that of a longer
context. The noisy windows are the same either way.

Per file: window posteriors are averaged with weights = the window's fraction of active
frames (10 ms frames within :data:`ACTIVITY_RANGE_DB` of the file's loudest frame and above
:data:`ACTIVITY_FLOOR_DB` dBFS, on the enhanced audio where there is an SE); s likewise.
The SNR estimate is ``10 log10`` of the enhanced signal's power over the power of what the
SE removed (noisy − enhanced), over the same weighted windows. A file without one active
frame (digital silence, or nothing above the floor) gets no emotion: label
:data:`NO_SPEECH`, no probabilities, and the note ``no speech`` (the model's answer on
silence is no answer about the speaker).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from trnet.errors import TrnetError
from trnet.infer.package_format import Package, read_package
from trnet.infer.source import Block, Source, array_source, check_length, file_source
from trnet.train.phases import NO_TIMER

SE_BLOCK_S = 30.0
"""Seconds of audio (at most; at least one window) the SE enhances at once: long enough
that the windows two blocks share cost little (one window per block: 7 % more audio through
the SE with 4 s windows at a 2 s hop), short enough that a block's audio, its enhanced twin
and the SE's spectra stay a few MB."""

INFER_PHASES = ("read", "SE", "fbank", "functionals", "members")
"""The phases a timer on the recognizer (:attr:`EmotionRecognizer.timer`) records: reading
(and resampling) the sources' chunks, the SE on blocks, fbank (with the VAD trim and the
model's span), a hybrid's or the SVM's openSMILE functionals, the networks (members)."""

ACTIVITY_RANGE_DB = 35.0
ACTIVITY_FLOOR_DB = -65.0
FRAME, SHIFT = 400, 160
NO_SPEECH = "none"
"""The label of an input with no active frame (``note``: ``no speech``)."""


@dataclass
class WindowResult:
    """One window: its span in seconds, posteriors and the SE's view of it."""

    start: float
    end: float
    label: str
    probs: dict[str, float | None]
    s: float | None
    snr_db: float | None
    speech: float
    """Fraction of the window's frames judged active (its weight in the file's average)."""


@dataclass
class Prediction:
    """A file's (or waveform's) result: the weighted average over its windows."""

    name: str
    label: str
    probs: dict[str, float | None]
    s: float | None
    snr_db: float | None
    duration: float
    windows: list[WindowResult] = field(default_factory=list)
    note: str | None = None
    """Why there is no emotion (``no speech``); None when there is one."""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Pending:
    """Per-source accumulator while its windows go through batches."""

    source: Source
    expected: int = 0
    outputs: dict[int, dict] = field(default_factory=dict)
    finished_reading: bool = False


def _frame_energy_db(wave: np.ndarray) -> np.ndarray:
    """10 ms frame power in dBFS (25 ms frames; at least one frame)."""
    if len(wave) < FRAME:
        return np.array([10 * np.log10(float(np.mean(wave.astype(np.float64) ** 2)) + 1e-12)])
    frames = np.lib.stride_tricks.sliding_window_view(wave, FRAME)[::SHIFT]
    return 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)


def _snr_db(speech: float, removed: float) -> float:
    return float(10 * np.log10(max(speech, 1e-12) / max(removed, 1e-12)))


class EmotionRecognizer:
    """A loaded model package. ``EmotionRecognizer.load("pkg/")``, then :meth:`predict`,
    :meth:`predict_file` or :meth:`predict_batch`."""

    def __init__(
        self,
        package: Package,
        model: Callable[[list[np.ndarray], list[np.ndarray] | None], tuple[np.ndarray, Any]],
        se: Any,
        device: Any,
        backend: str,
        batch_size: int = 16,
    ) -> None:
        self.package, self._model, self._se = package, model, se
        self.device, self.backend, self.batch_size = device, backend, max(1, int(batch_size))
        front = package.frontend
        self.classes: list[str] = list(front["classes"])
        self.input_kind: str = front["input"]
        self.window_s: float = float(front["window_s"])
        self.hop_s: float = float(front["hop_s"])
        self.outside_onnx: str | None = getattr(model, "outside_onnx", None)
        """With the onnx backend: what still runs outside onnxruntime (one line)."""
        self._timer: Any = NO_TIMER

    @property
    def timer(self) -> Any:
        """Where the time goes (:data:`INFER_PHASES`): a
        :class:`trnet.train.phases.PhaseTimer`, or :data:`~trnet.train.phases.NO_TIMER`
        (the default: no clock is read). Timing only reads clocks: the outputs are the same."""
        return self._timer

    @timer.setter
    def timer(self, timer: Any) -> None:
        self._timer = NO_TIMER if timer is None else timer
        if hasattr(self._model, "timer"):
            self._model.timer = self._timer

    # ---- loading -----------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        device: str = "auto",
        backend: str = "torch",
        batch_size: int = 16,
    ) -> EmotionRecognizer:
        """Verify (checksums, format) and load a package written by ``trnet export``."""
        from trnet.devices import resolve_device

        if backend not in ("torch", "onnx"):
            raise TrnetError(f"backend must be torch or onnx, got {backend!r}")
        from trnet.infer.package_models import load_runner

        package = read_package(path)
        dev = resolve_device(device)
        model = load_runner(package, dev, backend)
        se = None
        if backend == "onnx" and package.has_se:
            from trnet.infer.onnx_backend import ort_enhancer

            se = ort_enhancer(package.root, dev.type)
        if se is None and package.has_se:
            from trnet.se.model import load_model

            se, _ = load_model(package.root / "se")
            se.to(dev)
        return cls(package, model, se, dev, backend, batch_size)

    @property
    def system(self) -> str:
        return str(self.package.card.get("system", self.package.config.system))

    @property
    def card(self) -> dict:
        return self.package.card

    # ---- public API ----------------------------------------------------------------------
    def predict(
        self,
        waveform: Any,
        sample_rate: int,
        window: float | None = None,
        hop: float | None = None,
        name: str = "waveform",
    ) -> Prediction:
        """Emotion of a waveform ``(samples,)`` or ``(samples, channels)`` at any rate
        (numpy or torch; float in [-1, 1] or int16)."""
        if hasattr(waveform, "detach"):
            waveform = waveform.detach().cpu().numpy()
        return self._one(array_source(name, waveform, sample_rate), window, hop)

    def predict_file(
        self, path: str | os.PathLike, window: float | None = None, hop: float | None = None
    ) -> Prediction:
        """Emotion of an audio file (any format soundfile reads), read in blocks."""
        return self._one(file_source(path), window, hop)

    def predict_batch(
        self,
        items: Sequence[str | os.PathLike | tuple[Any, int]],
        window: float | None = None,
        hop: float | None = None,
    ) -> list[Prediction]:
        """Paths and ``(waveform, sample_rate)`` pairs, batched together; the first error
        raises (:meth:`run` returns errors per item instead)."""
        sources = [self._as_source(i, item) for i, item in enumerate(items)]
        out = []
        for res in self.run(sources, window, hop):
            if isinstance(res, TrnetError):
                raise res
            out.append(res)
        return out

    @staticmethod
    def _as_source(i: int, item: Any) -> Source:
        if isinstance(item, tuple):
            return array_source(f"item{i}", item[0], item[1])
        return file_source(item)

    def _one(self, source: Source, window: float | None, hop: float | None) -> Prediction:
        (res,) = self.run([source], window, hop)
        if isinstance(res, TrnetError):
            raise res
        return res

    def run_longest_first(
        self,
        sources: Sequence[Source | TrnetError],
        window: float | None = None,
        hop: float | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Prediction | TrnetError]:
        """:meth:`run` over the longest sources first, so that windows of similar length
        share batches (``trnet infer``); results in the order of ``sources``."""
        order = sorted(
            range(len(sources)),
            key=lambda i: -sources[i].samples if not isinstance(sources[i], TrnetError) else 0,
        )
        ran = self.run([sources[i] for i in order], window, hop, on_done)
        results: list[Any] = [None] * len(order)
        for i, res in zip(order, ran, strict=True):
            results[i] = res
        return results

    # ---- the engine --------------------------------------------------------------------
    def run(
        self,
        sources: Iterable[Source | TrnetError],
        window: float | None = None,
        hop: float | None = None,
        on_done: Callable[[int], None] | None = None,
    ) -> list[Prediction | TrnetError]:
        """Results in the order of ``sources`` (an error stays an error; the others run).

        Windows of consecutive sources share batches of ``batch_size``; a file is read
        block by block as its windows are needed, so memory does not grow with its length.
        """
        from trnet.contract import SAMPLE_RATE

        window = self.window_s if window is None else float(window)
        hop = self.hop_s if hop is None else float(hop)
        if not (math.isfinite(window) and math.isfinite(hop) and window > 0 and hop > 0):
            raise TrnetError(f"--window and --hop must be positive (got {window}, {hop})")
        win, hop_n = round(window * SAMPLE_RATE), max(1, round(hop * SAMPLE_RATE))
        from trnet.feats.fbank import FbankConfig

        fbank = self.package.frontend.get("fbank") or {}
        frame_ms = float(fbank.get("frame_length", FbankConfig().frame_length))
        min_samples = int(SAMPLE_RATE * frame_ms / 1000)
        if win < min_samples:  # every window must give the model at least one analysis frame
            raise TrnetError(
                f"--window {window:g} s is shorter than one analysis frame "
                f"({frame_ms:g} ms, the least the model takes)"
            )
        block = round(SE_BLOCK_S * SAMPLE_RATE) if self._se is not None else 0
        results: list[Prediction | TrnetError | None] = []
        pending: dict[int, _Pending] = {}
        batch: list[tuple[int, int, tuple[int, int], Block]] = []

        def flush() -> None:
            if batch:
                for (idx, k, span, _), out in zip(batch, self._process(batch), strict=True):
                    if idx in pending:
                        out.update(start=span[0], length=span[1] - span[0])
                        pending[idx].outputs[k] = out
                batch.clear()
            for idx in [i for i, p in pending.items() if p.finished_reading]:
                p = pending[idx]
                if len(p.outputs) == p.expected:
                    results[idx] = self._finish(p)
                    del pending[idx]
                    if on_done is not None:
                        on_done(idx)

        for idx, src in enumerate(sources):
            results.append(None)
            if isinstance(src, TrnetError):
                results[idx] = src
                if on_done is not None:
                    on_done(idx)
                continue
            pending[idx] = _Pending(src)
            try:
                check_length(src.name, src.samples, min_samples)
                for blk in src.blocks(win, hop_n, block, self._timer):
                    for k, span in enumerate(blk.spans, start=blk.first):
                        batch.append((idx, k, span, blk))
                        pending[idx].expected = k + 1
                        if len(batch) >= self.batch_size:
                            flush()
            except TrnetError as err:
                del pending[idx]
                batch[:] = [b for b in batch if b[0] != idx]
                results[idx] = err
                if on_done is not None:
                    on_done(idx)
                continue
            pending[idx].finished_reading = True
        flush()
        return [r for r in results if r is not None]

    def _enhance(self, blocks: list[Block]) -> None:
        """Enhance the blocks not enhanced yet, together (one zero-padded batch), rounded to
        int16 as ``trnet enhance`` stores its output."""
        from trnet.audio import to_int16
        from trnet.se.enhance import enhance_batch

        todo = list({id(b): b for b in blocks if b.enhanced is None}.values())
        if not todo:
            return
        with self._timer.phase("SE"):
            waves = [np.ascontiguousarray(b.audio, dtype=np.float32) for b in todo]
            for b, e in zip(todo, enhance_batch(self._se, waves, self.device), strict=True):
                b.enhanced = to_int16(e).astype(np.float32) / 32768.0

    def _process(self, batch: list[tuple[int, int, tuple[int, int], Block]]) -> list[dict]:
        """SE (on the windows' blocks) and the model on a batch of windows; one dict of raw
        outputs per window."""
        waves = [
            np.ascontiguousarray(b.cut(b.audio, span), dtype=np.float32) for *_, span, b in batch
        ]
        enhanced = None
        if self._se is not None:
            self._enhance([b for *_, b in batch])
            enhanced = [b.cut(b.enhanced, span) for *_, span, b in batch]
        post, s = self._model(waves, enhanced)
        outs = []
        for i, wave in enumerate(waves):
            out: dict = {"post": np.asarray(post[i], dtype=np.float64)}
            out["s"] = None if s is None else float(s[i])
            if enhanced is not None:
                e = enhanced[i].astype(np.float64)
                out["speech_power"] = float(np.mean(e**2))
                out["removed_power"] = float(np.mean((wave.astype(np.float64) - e) ** 2))
            out["energy"] = _frame_energy_db(enhanced[i] if enhanced is not None else wave)
            outs.append(out)
        return outs

    def _finish(self, p: _Pending) -> Prediction | TrnetError:
        """The file's prediction; an error (not raised: the other inputs go on) when the
        model gave a non-finite posterior."""
        outs = [p.outputs[k] for k in range(p.expected)]
        if not all(np.isfinite(o["post"]).all() for o in outs):
            return TrnetError(f"{p.source.name}: the model gave NaN or infinite posteriors")
        peak = max(float(o["energy"].max()) for o in outs)
        threshold = max(peak - ACTIVITY_RANGE_DB, ACTIVITY_FLOOR_DB)
        speech = np.array([float(np.mean(o["energy"] > threshold)) for o in outs])
        if speech.sum() == 0:
            return self._no_speech(p, outs)
        return self._average(p, outs, speech)

    def _no_speech(self, p: _Pending, outs: list[dict]) -> Prediction:
        """No active frame anywhere: no emotion, no probabilities, no SNR."""
        none = dict.fromkeys(self.classes)
        windows = [
            WindowResult(
                **self._span(o), label=NO_SPEECH, probs=none, s=None, snr_db=None, speech=0.0
            )
            for o in outs
        ]
        return Prediction(
            name=p.source.name,
            label=NO_SPEECH,
            probs=dict(none),
            s=None,
            snr_db=None,
            duration=round(p.source.duration, 3),
            windows=windows,
            note="no speech",
        )

    @staticmethod
    def _span(o: dict) -> dict[str, float]:
        from trnet.contract import SAMPLE_RATE

        return {
            "start": round(o["start"] / SAMPLE_RATE, 3),
            "end": round((o["start"] + o["length"]) / SAMPLE_RATE, 3),
        }

    def _average(self, p: _Pending, outs: list[dict], speech: np.ndarray) -> Prediction:
        """Window outputs averaged with the windows' active fractions as weights."""
        windows = []
        for o, act in zip(outs, speech, strict=True):
            snr = None
            if "speech_power" in o:
                snr = round(_snr_db(o["speech_power"], o["removed_power"]), 2)
            windows.append(
                WindowResult(
                    **self._span(o),
                    label=self.classes[int(np.argmax(o["post"]))],
                    probs={c: float(v) for c, v in zip(self.classes, o["post"], strict=True)},
                    s=o["s"],
                    snr_db=snr,
                    speech=float(act),
                )
            )
        post, s = outs[0]["post"], outs[0]["s"]
        if len(outs) > 1:
            w = speech / speech.sum()
            post = np.sum([wi * o["post"] for wi, o in zip(w, outs, strict=True)], axis=0)
            if outs[0]["s"] is not None:
                s = float(sum(wi * o["s"] for wi, o in zip(w, outs, strict=True)))
        snr_db = None
        if "speech_power" in outs[0]:
            sp = sum(wi * o["speech_power"] for wi, o in zip(speech, outs, strict=True))
            rm = sum(wi * o["removed_power"] for wi, o in zip(speech, outs, strict=True))
            snr_db = round(_snr_db(sp, rm), 2)
        return Prediction(
            name=p.source.name,
            label=self.classes[int(np.argmax(post))],
            probs={c: float(v) for c, v in zip(self.classes, post, strict=True)},
            s=s,
            snr_db=snr_db,
            duration=round(p.source.duration, 3),
            windows=windows,
        )
