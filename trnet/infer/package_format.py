"""The model package format: its layout, manifest and version, and reading a package back.

Layout (``format_version`` :data:`FORMAT_VERSION`)::

    config.yaml     the system's resolved training config (the kind's: a deep SER model's
                    or baseline_egemaps's; read back by the kind that ``model.kind`` names)
    frontend.json   model (the model type: ser | egemaps_svm), input (noisy, enhanced,
                    blend), classes, sample rate, windows; a ser model also: fbank settings,
                    CMVN, max_len, vad_db, eval_full and members (its state dict files)
    ser.pt          a ser model's state dict (CMVN, a hybrid's functionals standardisation
                    and kernel features inside, as buffers); an ensemble: ser0.pt ..
                    ser<K-1>.pt, one per member (their log-posteriors are averaged, as
                    trnet decode does); each read with trnet.checkpoint.load (weights only)
    model.npz, model.json   an egemaps_svm model: the scaler and SVM as plain arrays
                    (np.load without pickle) and its scalars (trnet.classic.svm_model)
    functionals.json    a model on eGeMAPS functionals (hybrid, SVM): the openSMILE
                    settings (trnet.classic.egemaps.smile_settings) and whose audio's
                    functionals, in the model's order (inputs: [noisy], [enhanced] or
                    [noisy, enhanced] for model.functionals_input blend | both)
    se/             what exp/se holds for inference (loaded by trnet.se.model.load_model);
                    a pretrained front end (NSNet2, a user's ONNX model) with its ONNX file
                    beside pretrained.json; absent for systems whose input needs no SE
    ser.onnx, se.onnx   with --onnx: each ser*.pt as ser*.onnx (a hybrid's takes the
                    functionals as an input), se.onnx where the SE net exports
    card.md, card.json  the model card (:mod:`trnet.infer.card`): system, corpus (GENERATED
                    or not), protocol, fold, test UAR/WAR per condition, dates, versions
    manifest.json   format_version and the sha256 of every other file (written last)

Format 1 (read still): one ser model (``ser.pt``), no vad_db/eval_full/members in
frontend.json (each window repeated or cut to max_len), no functionals.

Reading checks the manifest first: a missing or altered file, or a newer format, is one
error line. Nothing under ``exp/`` or ``dump/`` is read after export. This module is the
lowest of the package modules: :mod:`.package_writer` writes the layout,
:mod:`.package_export` fills it from a trained fold (the kind's export hook,
:meth:`trnet.systems.base.System.package`), :mod:`.package_models` runs each model type and
:mod:`.recognizer` runs the package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.io import atomic_write, file_sha256

FORMAT_VERSION = 2
MANIFEST = "manifest.json"
CONFIG = "config.yaml"
SER_WEIGHTS = "ser.pt"
FRONTEND = "frontend.json"
FUNCTIONALS = "functionals.json"
SER_MODEL = "ser"
"""The model type of SerModel state dicts (format 1's only one)."""
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
    config: Any  # the kind's config: trnet.train.config.Config, trnet.classic.svm.SvmConfig
    frontend: dict
    card: dict

    @property
    def has_se(self) -> bool:
        return (self.root / SE_DIR).is_dir()

    @property
    def version(self) -> int:
        return int(self.manifest["format_version"])

    @property
    def model(self) -> str:
        """The model type (frontend.json ``model``; format 1: ``ser``)."""
        return str(self.frontend.get("model", SER_MODEL))

    def member(self, name: object) -> Path:
        """The package file ``name`` that frontend.json names (a member's weights): one the
        manifest lists, so that an edited frontend.json cannot point outside the package."""
        if not isinstance(name, str) or name not in self.files:
            raise TrnetError(
                f"{self.root / FRONTEND}: names {name!r}, which is not a file of the package"
            )
        return self.root / name

    def read_json(self, name: str) -> Any:
        """A JSON file of the package; unreadable: one line naming it."""
        path = self.root / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise TrnetError(f"{path}: unreadable ({err})") from None

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
    """Verify and read a package (weights are loaded by the recognizer); its config is read
    by the system kind that its ``model.kind`` names."""
    from trnet.systems.registry import system_of_config

    root = Path(root)
    manifest = verify(root)
    cfg = system_of_config(root / CONFIG).load_config(root / CONFIG)
    package = Package(root, manifest, cfg, {}, {})
    package.frontend, package.card = package.read_json(FRONTEND), package.read_json(CARD_JSON)
    if not isinstance(package.frontend, dict) or not isinstance(package.card, dict):
        raise TrnetError(f"{root}: frontend.json and card.json must be JSON objects")
    return package
