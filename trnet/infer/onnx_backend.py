"""ONNX export of a package's networks and their onnxruntime backend.

``ser.onnx`` maps raw log-Mel ``x`` (and ``xe`` for blend systems), ``(batch, frames, 80)``,
(and a hybrid's raw eGeMAPS functionals ``func``, ``(batch, 88)``, or ``(batch, 2, 88)``
with ``model.functionals_input`` blend or both) to ``posteriors`` and
``s``; CMVN, deltas, compensation, bridge, the functionals' standardisation and kernel
machine are inside. An ensemble has one per member (``ser0.onnx`` ..., named as its
``ser0.pt`` ...); the recognizer averages them as in torch. What runs outside onnxruntime:
fbank and resampling (torch), the SE's STFT (torch), a hybrid's eGeMAPS functionals
(openSMILE): :func:`outside_onnx` says it in one line. ``se.onnx``
is the SE *network* (compressed complex spectrum → its estimate); the STFT, its inverse
and the normalisation around it stay in torch (:class:`trnet.models.stft.SpectralEnhancer`
wraps the onnxruntime session), as do fbank and resampling. Each export is checked at
export time against torch on inputs of another batch size and length than the traced
ones (max |difference| ≤ :data:`EXPORT_TOL`); an SE net that fails the check (fixed
shapes baked in, as CMGAN's reshapes) gets no se.onnx and runs in torch.

onnxruntime and onnx are the optional extra ``trnet[onnx]``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from trnet.contract import BLEND
from trnet.errors import TrnetError
from trnet.infer.package_format import SE_DIR

EXPORT_TOL = 1e-4
OPSET = 17
EXTRA_HINT = "pip install 'trnet[onnx]'"


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise TrnetError(f"the onnx backend needs onnxruntime: {EXTRA_HINT}") from None
    return onnxruntime


def onnx_deltas(x: Any) -> Any:
    """torchaudio's ``compute_deltas`` (win_length 5, replicate padding) of ``(B, F, T)``
    written with slices: its grouped conv builds a kernel of data-dependent shape, which
    the ONNX exporter rejects."""
    import torch

    p = torch.nn.functional.pad(x, (2, 2), mode="replicate")
    t = x.shape[-1]
    return (-2 * p[..., 0:t] - p[..., 1 : t + 1] + p[..., 3 : t + 3] + 2 * p[..., 4 : t + 4]) / 10


def _onnx_with_deltas(x: Any, lengths: Any = None) -> Any:
    """:func:`trnet.models.ser.with_deltas` of an unpadded batch (the ONNX graph takes no
    lengths: the recognizer runs windows of one length together)."""
    import torch

    assert lengths is None, "the ONNX graph takes unpadded batches"

    xt = x.transpose(1, 2)
    d1 = onnx_deltas(xt)
    d2 = onnx_deltas(d1)
    return torch.stack([xt, d1, d2], dim=1).transpose(2, 3)


def _ser_module(model: Any, names: list[str], blend: bool) -> Any:
    """The model as a module of its ONNX inputs ``names`` (x, xe, func) → posteriors (, s)."""
    import torch

    class Posteriors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args: torch.Tensor) -> tuple:
            given = dict(zip(names, args, strict=True))
            out = self.model(given["x"], given.get("xe"), func=given.get("func"))
            post = torch.softmax(out["logits"], dim=-1)
            return (post, out["s"]) if blend else (post,)

    return Posteriors().eval()


def ser_inputs(blend: bool, hybrid: bool) -> list[str]:
    """The input names of a ser.onnx."""
    return ["x", *(["xe"] if blend else []), *(["func"] if hybrid else [])]


def onnx_name(member: str) -> str:
    """The ONNX file of a member's state dict file (``ser0.pt`` → ``ser0.onnx``)."""
    return member.removesuffix(".pt") + ".onnx"


def outside_onnx(hybrid: bool, with_se: bool) -> str:
    """What of a package still runs outside onnxruntime with the onnx backend (one line)."""
    parts = ["fbank and resampling (torch)"]
    if with_se:
        parts.append("the SE's STFT and its inverse (torch)")
    if hybrid:
        parts.append("eGeMAPS functionals (openSMILE)")
    return "outside onnxruntime: " + ", ".join(parts)


def _export(
    module: Any,
    args: tuple,
    path: Path,
    names: list[str],
    outputs: list[str],
    time_axis: int,
) -> None:
    import torch

    dynamic = {n: {0: "batch", **({} if n == "func" else {time_axis: "frames"})} for n in names}
    with _quiet_warnings():
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=OPSET,
            dynamo=False,
        )


@contextlib.contextmanager
def _quiet_warnings() -> Any:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _session(path: Path, device: str = "cpu") -> Any:
    ort = _ort()
    providers = ["CPUExecutionProvider"]
    if device.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=providers)


def export_ser(dest: Path, cfg: Any, state: dict, name: str = "ser.onnx") -> None:
    """Write ``dest/<name>`` of a member's state dict and check it against torch."""
    import torch
    import torchaudio.functional  # noqa: F401  (imported before tracing: its import fails inside)

    from trnet.classic.egemaps import N_FUNCTIONALS
    from trnet.models import ser as ser_module
    from trnet.models.factory import build_ser_model as build_model
    from trnet.train.data import model_functionals_sources

    model = build_model(cfg.model)
    model.load_state_dict(state)
    model.eval()
    blend = cfg.data.input == BLEND
    rows = len(model_functionals_sources(cfg))  # func: (B, 88), or (B, rows, 88)
    names = ser_inputs(blend, rows > 0)
    outputs = ["posteriors", "s"] if blend else ["posteriors"]
    gen = torch.Generator().manual_seed(0)
    func_shape = (N_FUNCTIONALS,) if rows == 1 else (rows, N_FUNCTIONALS)

    def inputs(batch: int, frames: int) -> tuple:
        return tuple(
            torch.randn(batch, *(func_shape if n == "func" else (frames, 80)), generator=gen) * 3
            for n in names
        )

    trace = inputs(2, cfg.data.max_len)
    module = _ser_module(model, names, blend)
    original = ser_module.with_deltas
    ser_module.with_deltas = _onnx_with_deltas
    try:
        _export(module, trace, dest / name, names, outputs, 1)
    finally:
        ser_module.with_deltas = original
    module.eval()
    check = inputs(3, cfg.data.max_len + 7)
    feeds = {n: a.numpy() for n, a in zip(names, check, strict=True)}
    got = _session(dest / name).run(None, feeds)
    with torch.no_grad():
        want = module(*check)
    diff = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want, strict=True))
    if diff > EXPORT_TOL:
        raise TrnetError(f"{dest / name}: onnxruntime differs from torch by {diff:.2e}")


def export_se(dest: Path) -> str:
    """Write ``dest/se.onnx`` from ``dest/se`` if the net exports and checks; says which."""
    import torch

    from trnet.se.model import load_model

    enhancer, _ = load_model(dest / SE_DIR)
    net = enhancer.net.eval()
    gen = torch.Generator().manual_seed(0)
    trace = torch.randn(1, 2, 40, 201, generator=gen)
    path = dest / "se.onnx"
    try:
        _export(net, (trace,), path, ["spec"], ["estimate"], 2)
        check = torch.randn(3, 2, 57, 201, generator=gen)
        got = _session(path).run(None, {"spec": check.numpy()})[0]
        with torch.no_grad():
            diff = float(np.abs(got - net(check).numpy()).max())
    except Exception as err:  # exporter and runtime raise many types; the SE then stays torch
        path.unlink(missing_ok=True)
        return f"not exported ({type(err).__name__}); the SE runs in torch"
    if diff > EXPORT_TOL:
        path.unlink(missing_ok=True)
        return f"not exported (onnxruntime differs by {diff:.1e}); the SE runs in torch"
    return "se.onnx"


def export_onnx(dest: Path, parts: Any, with_se: bool) -> dict:
    """Export a ser model's members (:class:`trnet.systems.base.PackageParts`) into a
    package being written; returns the card's ``onnx`` entry."""
    _ort()
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it)
    except ImportError:
        raise TrnetError(f"--onnx needs the onnx package: {EXTRA_HINT}") from None
    files = []
    for member, state in parts.states.items():
        export_ser(dest, parts.config, state, onnx_name(member))
        files.append(onnx_name(member))
    info: dict = {"ser": ", ".join(files), "opset": OPSET}
    if with_se:
        from trnet.se.pretrained import is_package

        pretrained = is_package(dest / SE_DIR)  # an ONNX model already: onnxruntime runs it
        info["se"] = "pretrained ONNX in se/ (onnxruntime)" if pretrained else export_se(dest)
    info["outside"] = outside_onnx(parts.functionals is not None, with_se)
    return info


class OrtSer:
    """``(x, xe, func) → (posteriors, s)`` with onnxruntime (numpy in, numpy out)."""

    def __init__(self, path: Path, blend: bool, hybrid: bool = False, device: str = "cpu") -> None:
        if not path.is_file():
            raise TrnetError(f"{path.parent}: no {path.name} (export with trnet export --onnx)")
        self.session = _session(path, device)
        self.blend, self.names = blend, ser_inputs(blend, hybrid)

    def __call__(
        self, x: np.ndarray, xe: np.ndarray | None, func: np.ndarray | None = None
    ) -> tuple[np.ndarray, Any]:
        given = {"x": x, "xe": xe, "func": None if func is None else func.astype(np.float32)}
        out = self.session.run(None, {n: given[n] for n in self.names})
        return out[0], (out[1] if self.blend else None)


def ort_enhancer(package_root: Path, device: str = "cpu") -> Any:
    """The package's SE with its network in onnxruntime, or None without se.onnx."""
    import torch

    from trnet.models.stft import SpectralEnhancer

    path = package_root / "se.onnx"
    if not path.is_file():
        return None
    session = _session(path, device)

    class OrtNet(torch.nn.Module):
        def forward(self, spec: torch.Tensor) -> torch.Tensor:
            out = session.run(None, {"spec": spec.detach().cpu().numpy()})[0]
            return torch.from_numpy(out).to(spec.device)

    return SpectralEnhancer(OrtNet()).eval()
