"""The model types of a package (frontend.json ``model``), each run on a batch of windows
as ``trnet decode`` runs its system on a test utterance.

A runner is called with the windows' waveforms (16 kHz float32) and, for a package with an
SE, their enhanced twins (rounded to int16 as ``trnet enhance`` stores them) and returns
``(posteriors (B, C), s (B,) or None)``; :data:`RUNNERS` maps a model type to its runner.
A runner's ``timer`` (:data:`trnet.train.phases.NO_TIMER` unless the recognizer sets one)
times its ``fbank``, ``functionals`` and ``members`` phases.

- ``ser`` (:class:`SerRunner`): fbank of each input; the frames decode feeds the model
  (:func:`trnet.train.data.input_span`: VAD-trimmed with ``vad_db``, whole with
  ``eval_full``, else repeated or cut to ``max_len``); a hybrid's eGeMAPS functionals of the
  inputs that :func:`trnet.train.data.model_functionals_sources` names (its
  ``model.functionals_input``), computed by openSMILE on the whole window as training
  computed them per utterance; each member's posteriors,
  averaged in the log domain for an ensemble
  (:func:`trnet.train.ensemble.average_posteriors`). Windows of the same frame count run
  together (a whole-utterance model's windows differ in length; none is padded).
- ``egemaps_svm`` (:class:`SvmRunner`): the noisy window's functionals, the SVM's
  temperature-scaled posteriors (:func:`trnet.classic.svm.functionals_posteriors`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from trnet.contract import BLEND, ENHANCED, NOISY
from trnet.errors import TrnetError
from trnet.infer.package_format import FUNCTIONALS, Package
from trnet.train.phases import NO_TIMER

Waves = list[np.ndarray]


class Functionals:
    """openSMILE eGeMAPS functionals of one window, as training computed them per utterance
    (:func:`trnet.classic.egemaps.functionals_of`), after checking the package's
    functionals.json: the same settings, and the inputs ``sources`` (noisy, enhanced, in the
    model's order) that the model's config takes."""

    def __init__(self, package: Package, sources: list[str]) -> None:
        from trnet.classic.egemaps import check_settings, smile_extractor

        path = package.root / FUNCTIONALS
        if FUNCTIONALS not in package.files:
            raise TrnetError(
                f"{path}: missing: the model takes eGeMAPS functionals and the package has "
                "no functionals config (export it again with this trnet)"
            )
        record = package.read_json(FUNCTIONALS)
        if not isinstance(record, dict):
            raise TrnetError(f"{path}: not a JSON object")
        check_settings(record.get("settings"), path)
        if record.get("inputs") != sources:
            raise TrnetError(
                f"{path}: functionals of {record.get('inputs')!r}; the model's config takes "
                f"those of {sources}"
            )
        self.sources = sources
        self._smile = smile_extractor()

    def __call__(self, audio: dict[str, Waves | None]) -> np.ndarray:
        """(B, 88) float32 functionals of the windows (one source), or (B, K, 88) (several:
        :func:`trnet.train.data.functionals_array`); ``audio``: source → the windows."""
        from trnet.classic.egemaps import functionals_of
        from trnet.contract import SAMPLE_RATE
        from trnet.train.data import functionals_array

        rows = []
        for source in self.sources:
            waves = audio.get(source)
            if waves is None:
                raise TrnetError(f"the model takes the {source} audio's functionals; no SE here")
            rows.append([functionals_of(w, SAMPLE_RATE, self._smile) for w in waves])
        return np.stack([functionals_array(list(r)) for r in zip(*rows, strict=True)])


class SerRunner:
    """A ser package: SerModel members in torch or onnxruntime (see the module docstring)."""

    timer: Any = NO_TIMER

    def __init__(self, package: Package, device: Any, backend: str) -> None:
        from trnet.feats.fbank import FbankConfig
        from trnet.train.data import model_functionals_sources

        cfg, front = package.config, package.frontend
        self.input_kind: str = front["input"]
        self.max_len = int(front["max_len"])
        self.vad_db = float(front.get("vad_db", 0.0))  # format 1: none, windows cut
        self.full = bool(front.get("eval_full", False))
        self.fbank = FbankConfig(**{**front["fbank"], "dither": 0.0})
        members = front.get("members", ["ser.pt"])
        if not isinstance(members, list) or not members:
            raise TrnetError(f"{package.root / 'frontend.json'}: members must be a list of files")
        sources = model_functionals_sources(cfg)
        self.functionals = Functionals(package, sources) if sources else None
        blend = self.input_kind == BLEND
        if backend == "onnx":
            from trnet.infer.onnx_backend import OrtSer, onnx_name, outside_onnx

            self.nets: list[Any] = [
                OrtSer(package.member(onnx_name(m)), blend, bool(sources), device.type)
                for m in members
            ]
            self.outside_onnx: str | None = outside_onnx(bool(sources), package.has_se)
        else:
            self.nets = [_TorchSer(package.member(m), cfg, device) for m in members]
            self.outside_onnx = None

    def __call__(self, waves: Waves, enhanced: Waves | None) -> tuple[np.ndarray, Any]:
        from trnet.feats.fbank import compute_fbank
        from trnet.train.data import input_span, span_frames
        from trnet.train.ensemble import average_posteriors

        audio = {NOISY: waves, ENHANCED: enhanced}
        order = [NOISY, ENHANCED] if self.input_kind == BLEND else [self.input_kind]
        if any(audio[k] is None for k in order):
            raise TrnetError(f"a {self.input_kind} model needs the SE's output (no se/ here)")
        inputs = []
        with self.timer.phase("fbank"):
            for i in range(len(waves)):
                raw = [compute_fbank(audio[k][i], self.fbank) for k in order]  # type: ignore[index]
                lo, hi = input_span(raw, self.vad_db, self.full)
                inputs.append([span_frames(x, lo, hi, self.max_len, self.full) for x in raw])
        func = None
        if self.functionals is not None:
            with self.timer.phase("functionals"):
                func = self.functionals(audio)
        post = np.zeros((len(waves), 0), np.float32)
        s = np.zeros(len(waves), np.float32) if self.input_kind == BLEND else None
        groups: dict[int, list[int]] = {}
        for i, feats in enumerate(inputs):
            groups.setdefault(len(feats[0]), []).append(i)
        for idx in groups.values():
            x = np.stack([inputs[i][0] for i in idx])
            xe = np.stack([inputs[i][1] for i in idx]) if len(order) == 2 else None
            f = None if func is None else func[idx]
            with self.timer.phase("members"):
                outs = [net(x, xe, f) for net in self.nets]
            p = outs[0][0] if len(outs) == 1 else average_posteriors([o[0] for o in outs])
            if post.shape[1] == 0:
                post = np.zeros((len(waves), p.shape[1]), np.float32)
            post[idx] = p
            if s is not None:
                s[idx] = np.mean([o[1] for o in outs], axis=0)
        return post, s


class _TorchSer:
    """One member's SerModel in torch: ``(x, xe, func) → (posteriors, s)``, numpy in and out."""

    def __init__(self, path: Any, cfg: Any, device: Any) -> None:
        from trnet import checkpoint
        from trnet.models.factory import build_ser_model as build_model

        self.model = build_model(cfg.model)
        state = checkpoint.load(path)  # weights only; a bad file is one line naming it
        try:
            self.model.load_state_dict(state)
        except Exception as err:  # torch raises many types for a bad state dict
            raise TrnetError(f"{path}: cannot load the SER weights ({err})") from None
        self.model.to(device).eval()
        self.device = device

    def __call__(
        self, x: np.ndarray, xe: np.ndarray | None, func: np.ndarray | None = None
    ) -> tuple[np.ndarray, Any]:
        import torch

        def tensor(a: np.ndarray | None) -> Any:
            return None if a is None else torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

        with torch.no_grad():
            out = self.model(tensor(x), tensor(xe), func=tensor(func))
            post = torch.softmax(out["logits"], dim=-1).cpu().numpy()
            s = out["s"].cpu().numpy() if "s" in out else None
        return post, s


class SvmRunner:
    """An egemaps_svm package: the SVM (arrays, numpy) on the noisy window's functionals."""

    timer: Any = NO_TIMER

    def __init__(self, package: Package, device: Any, backend: str) -> None:
        from trnet.classic.svm_model import ARRAYS, META, load_model

        if backend == "onnx":
            raise TrnetError(
                f"{package.root}: an egemaps_svm package has no ONNX network (its SVM runs in "
                "numpy on openSMILE functionals); use --backend torch"
            )
        for name in (ARRAYS, META):
            package.member(name)  # listed in the manifest, so checked
        self.model, meta = load_model(package.root)
        self.temperature = float(meta["temperature"])
        self.functionals = Functionals(package, [package.frontend.get("input", NOISY)])
        self.outside_onnx: str | None = None

    def __call__(self, waves: Waves, enhanced: Waves | None) -> tuple[np.ndarray, Any]:
        from trnet.classic.svm import functionals_posteriors

        with self.timer.phase("functionals"):
            func = self.functionals({NOISY: waves, ENHANCED: enhanced})
        with self.timer.phase("members"):
            post = functionals_posteriors(self.model, self.temperature, func)
        return post, None


RUNNERS: dict[str, Callable[[Package, Any, str], Any]] = {
    "ser": SerRunner,
    "egemaps_svm": SvmRunner,
}
"""Model type (frontend.json ``model``) → its runner, built from (package, device, backend)."""


def load_runner(package: Package, device: Any, backend: str) -> Any:
    """The runner of ``package``'s model type; an unknown type is one line."""
    runner = RUNNERS.get(package.model)
    if runner is None:
        raise TrnetError(
            f"{package.root / 'frontend.json'}: model type {package.model!r} is not one this "
            f"trnet runs ({', '.join(sorted(RUNNERS))}); upgrade trnet"
        )
    return runner(package, device, backend)
