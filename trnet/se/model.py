"""Building SE models from a resolved config, loading external weights, saving/loading."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from trnet.errors import TrnetError
from trnet.models.stft import SpectralEnhancer
from trnet.se.config import resolve_config


def build_model(conf: dict) -> SpectralEnhancer:
    """The waveform-to-waveform enhancer of a (resolved or raw) config, with init weights."""
    conf = resolve_config(conf) if "train" not in conf else conf
    if "train" not in conf:  # pretrained (nsnet2, onnx): the package records the weights
        raise TrnetError(f"model {conf['model']}: pretrained; load it with load_model")
    if conf["model"] == "crn":
        from trnet.models.se_crn import CRN

        net = CRN(**conf["model_conf"])
    else:
        from trnet.models.se_cmgan import CMGANGenerator

        net = CMGANGenerator(**conf["model_conf"])
    if conf.get("init_checkpoint"):
        load_generator_weights(net, conf["init_checkpoint"])
    return SpectralEnhancer(net)


def _read_state(path: Path) -> dict:
    if not path.is_file():
        raise TrnetError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise TrnetError(f"{path}: cannot read checkpoint ({err})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TrnetError(f"{path}: not a state dict of tensors")
    return state


def _briefly(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_generator_weights(net: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load a state dict into ``net``; any key or shape mismatch is a :class:`TrnetError`."""
    path = Path(path)
    state = _read_state(path)
    state = {k.removeprefix("module.").removeprefix("net."): v for k, v in state.items()}
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or shapes:
        parts = [
            f"{label}: {_briefly(keys)}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
            if keys
        ]
        raise TrnetError(
            f"{path}: checkpoint does not match the {type(net).__name__} of the config "
            f"({'; '.join(parts)})"
        )
    net.load_state_dict(state)


def save_model(path: str | os.PathLike, model: SpectralEnhancer, conf: dict) -> None:
    """Write ``{"config", "model"}`` atomically (the enhancer is rebuilt from the config)."""
    from trnet.io import atomic_write

    with atomic_write(path, "wb") as f:
        torch.save({"config": conf, "model": model.net.state_dict()}, f)


def model_file(path: str | os.PathLike) -> Path:
    """The file that identifies an SE model dir: ``best.pt``, or a pretrained package's JSON."""
    from trnet.se.pretrained import PACKAGE_FILE, is_package

    path = Path(path)
    if not path.is_dir():
        return path
    return path / PACKAGE_FILE if is_package(path) else path / "best.pt"


def load_model(path: str | os.PathLike) -> tuple[SpectralEnhancer, dict]:
    """Rebuild the enhancer saved by :func:`save_model` (a dir means ``DIR/best.pt``), or the
    frozen ONNX enhancer of a pretrained package (:mod:`trnet.se.pretrained`)."""
    from trnet.se.pretrained import is_package, load_package

    if is_package(path):
        return load_package(path)  # type: ignore[return-value]  # same forward() contract
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise TrnetError(f"{path}: SE model not found (train it with trnet train-se)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        conf = blob["config"]
    except Exception as err:
        raise TrnetError(f"{path}: not an SE model file ({err})") from None
    model = build_model({**conf, "init_checkpoint": None})
    load_generator_weights(model.net, path)
    model.eval()
    return model, conf
