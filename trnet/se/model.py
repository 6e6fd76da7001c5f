"""Building SE models from a resolved config, loading external weights, saving, and the one
loader of every SE kind (:func:`load_model`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from trnet import checkpoint
from trnet.errors import TrnetError
from trnet.models.stft import SpectralEnhancer
from trnet.se.config import SeConfig, resolve_config
from trnet.se.enhancer import Enhancer


def build_model(conf: dict | SeConfig) -> SpectralEnhancer:
    """The waveform-to-waveform enhancer of a (resolved or raw) config of a trainable kind,
    with its init weights."""
    conf = resolve_config(conf)
    if conf.pretrained:  # nsnet2, onnx: the package records the weights
        raise TrnetError(f"model {conf.model}: pretrained; load it with load_model")
    assert conf.kind.net is not None
    net = conf.kind.net(conf.model_conf)
    if conf.init_checkpoint:
        load_generator_weights(net, conf.init_checkpoint)
    return SpectralEnhancer(net, kind=conf.model)


def _state_dict(blob: dict, path: Path) -> dict:
    """The network's state dict of a checkpoint: ``blob["model"]`` or ``blob`` itself."""
    state = blob["model"] if isinstance(blob.get("model"), dict) else blob
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise TrnetError(f"{path}: not a state dict of tensors")
    return state


def _briefly(keys: list[str], n: int = 3) -> str:
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_generator_weights(net: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load a state dict into ``net``; any key or shape mismatch is a :class:`TrnetError`."""
    path = Path(path)
    _load_state(net, _state_dict(checkpoint.load(path), path), path)


def _load_state(net: torch.nn.Module, state: dict, path: Path) -> None:
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


def save_model(path: str | os.PathLike, model: SpectralEnhancer, conf: dict | SeConfig) -> None:
    """Write ``{"config", "model"}`` atomically (the enhancer is rebuilt from the config)."""
    from trnet.io import atomic_write

    with atomic_write(path, "wb") as f:
        torch.save({"config": resolve_config(conf).to_dict(), "model": model.net.state_dict()}, f)


def model_file(path: str | os.PathLike) -> Path:
    """The file that identifies an SE model dir: ``best.pt``, or a pretrained package's JSON."""
    from trnet.se.pretrained import PACKAGE_FILE, is_package

    path = Path(path)
    if not path.is_dir():
        return path
    return path / PACKAGE_FILE if is_package(path) else path / "best.pt"


def load_model(path: str | os.PathLike) -> tuple[Enhancer, SeConfig]:
    """The one loader of every SE kind: the enhancer of ``path`` (an SE model dir, its
    ``best.pt`` as :func:`save_model` writes it, or a pretrained package's
    ``pretrained.json``, :mod:`trnet.se.pretrained`) and its config."""
    from trnet.se.pretrained import is_package, load_front_end_package

    if is_package(path):
        return load_front_end_package(path)
    path = model_file(path)
    if not path.is_file():
        raise TrnetError(f"{path}: SE model not found (train it with trnet train-se)")
    blob = checkpoint.load(path)
    if not isinstance(blob.get("config"), dict):
        raise TrnetError(f"{path}: not an SE model file (no config inside)")
    conf = resolve_config(blob["config"], f"{path}: config")
    if conf.pretrained:
        raise TrnetError(f"{path}: holds a pretrained kind ({conf.model}); not an SE model file")
    model = build_model(dataclasses.replace(conf, init_checkpoint=None))
    _load_state(model.net, _state_dict(blob, path), path)
    model.eval()
    return model, conf
