"""The model package format: its layout, manifest and version, and reading a package back.

Layout (``format_version`` :data:`FORMAT_VERSION`)::

    config.yaml     the system's resolved training config
    ser.pt          SER state dict (CMVN inside, as buffers); torch.load(weights_only=True)
    frontend.json   sample rate, fbank settings, CMVN, input kind, max_len, classes, windows
    se/             what exp/se holds for inference (loaded by trnet.se.model.load_model);
                    absent for systems whose input needs no SE
    ser.onnx, se.onnx   with --onnx (se.onnx only where the SE net exports)
    card.md, card.json  the model card (:mod:`trnet.infer.card`): system, corpus (GENERATED
                    or not), protocol, fold, test UAR/WAR per condition, dates, versions
    manifest.json   format_version and the sha256 of every other file (written last)

Reading checks the manifest first: a missing or altered file, or a newer format, is one
error line. Nothing under ``exp/`` or ``dump/`` is read after export. This module is the
lowest of the package modules: :mod:`.package_writer` writes the layout,
:mod:`.package_export` fills it from a trained fold, :mod:`.recognizer` runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
SER_WEIGHTS = "ser.pt"
FRONTEND = "frontend.json"
CARD_JSON = "card.json"
CARD_MD = "card.md"
SE_DIR = "se"
DEFAULT_WINDOW_S = 4.0
DEFAULT_HOP_S = 2.0
SE_SKIPPED = (".log", ".tmp")
"""exp/se files not carried into a package (training logs, partial writes)."""


@dataclass
class Package:
    """A verified package: its folder, config, front-end settings and card."""

    root: Path
    manifest: dict
    config: Any  # trnet.train.config.Config
    frontend: dict
    card: dict

    @property
    def has_se(self) -> bool:
        return (self.root / SE_DIR).is_dir()

    @property
    def files(self) -> dict[str, str]:
        """Every file of the package but the manifest: relative path → sha256."""
        return dict(self.manifest["files"])

    @property
    def size(self) -> int:
        """Bytes of the package's files (the manifest aside)."""
        return sum((self.root / name).stat().st_size for name in self.files)


def write_json(path: Path, obj: Any) -> None:
    """A package's JSON file: sorted keys, indented, one trailing newline, atomic."""
    with atomic_write(path) as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def se_files(se_dir: Path) -> list[Path]:
    """The files of an SE dir a package carries: its top-level files but logs."""
    if not se_dir.is_dir():
        raise TrnetError(f"{se_dir}: SE model dir not found (the system's input needs the SE)")
    files = [p for p in sorted(se_dir.iterdir()) if p.is_file() and not p.name.endswith(SE_SKIPPED)]
    if not files:
        raise TrnetError(f"{se_dir}: no SE model files")
    return files


def write_manifest(root: Path) -> None:
    """Make every file under ``root`` shareable (0644) and list it with its sha256 in the
    manifest, written last: the mark of a finished package."""
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            p.chmod(0o644)  # a package is for sharing (atomic writes leave 0600)
            files[p.relative_to(root).as_posix()] = file_sha256(p)
    write_json(root / MANIFEST, {"format_version": FORMAT_VERSION, "files": files})
    (root / MANIFEST).chmod(0o644)


def is_package(root: Path) -> bool:
    """Whether ``root`` holds a package's manifest (a json object with format_version and
    files): the mark of a dir that ``export --force`` may replace."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"format_version", "files"} <= manifest.keys()


def verify(root: str | Path) -> dict:
    """The manifest of ``root`` after checking its format version and every checksum."""
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise TrnetError(f"{root}: model package not found (make one with trnet export)")
    if not path.is_file():
        raise TrnetError(f"{root}: not a trnet model package (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        version = int(manifest["format_version"])
        files = dict(manifest["files"])
    except (ValueError, KeyError, TypeError) as err:
        raise TrnetError(f"{path}: unreadable manifest ({err})") from None
    if version > FORMAT_VERSION:
        raise TrnetError(
            f"{root}: package format_version {version} is newer than this trnet reads "
            f"({FORMAT_VERSION}); upgrade trnet"
        )
    for name, digest in sorted(files.items()):
        parts = Path(name).parts
        if Path(name).is_absolute() or not parts or ".." in parts or not isinstance(digest, str):
            # a package is untrusted: its manifest may not make trnet read outside it
            raise TrnetError(f"{path}: file entry {name!r} is not a file inside the package")
        file = root / name
        if not file.is_file():
            raise TrnetError(f"{file}: missing from the package (listed in {MANIFEST})")
        if file_sha256(file) != digest:
            raise TrnetError(f"{file}: checksum mismatch (altered since export)")
    return manifest


def read_package(root: str | Path) -> Package:
    """Verify and read a package (weights are loaded by the recognizer)."""
    import yaml

    from trnet.train.config import config_from_dict

    root = Path(root)
    manifest = verify(root)
    cfg = config_from_dict(yaml.safe_load((root / CONFIG).read_text()), str(root))
    frontend = json.loads((root / FRONTEND).read_text(encoding="utf-8"))
    card = json.loads((root / CARD_JSON).read_text(encoding="utf-8"))
    return Package(root, manifest, cfg, frontend, card)
