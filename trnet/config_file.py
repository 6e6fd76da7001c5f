"""Config files that hold only what differs: ``defaults: <file>`` and one level of merging.

A config YAML (a training system, an eGeMAPS SVM, an SE front end) may name a base file at
its top level, ``defaults: _base.yaml``. The base is read first and the config's own keys are
merged into it, mappings key by key, lists and scalars replaced; the result is then validated
as strictly as a file that spells everything out. So a system file reads as what makes it
that system, and the resolved config (``config.yaml`` of an exp dir) is complete as before.

One level only: a base may not name defaults itself (no chains, hence no cycles). The path is
relative to the config's own dir and stays inside it (neither absolute nor ``..``): a config
names its base beside it, it does not reach elsewhere. Base files are named ``_*.yaml`` so
that no one takes them for a system.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from trnet.errors import TrnetError
from trnet.io import read_text, read_yaml

DEFAULTS = "defaults"


def read_config(path: str | os.PathLike) -> tuple[Any, str]:
    """The YAML of config file ``path`` merged over its defaults (if it names any), and how
    errors about it name it: ``path``, or ``path (defaults <base>)`` when a base was merged,
    since a wrong key may sit in either file."""
    raw = read_yaml(path)
    if not isinstance(raw, dict) or DEFAULTS not in raw:
        return raw, str(path)
    base_path = _base_path(Path(path), raw[DEFAULTS])
    base = read_yaml(base_path)
    if not isinstance(base, dict):
        raise TrnetError(f"{base_path}: expected a mapping at the top level (defaults of {path})")
    if DEFAULTS in base:
        raise TrnetError(
            f"{_at(base_path)}: a defaults file may not name defaults itself "
            f"(one level only; it is the defaults of {path})"
        )
    own = {key: value for key, value in raw.items() if key != DEFAULTS}
    return merge(base, own), f"{path} (defaults {base_path})"


def merge(base: dict, own: dict) -> dict:
    """``own`` over ``base``: mappings merged key by key, anything else replaced (a list
    too: ``snrs: []`` means no SNR, not the base's SNRs)."""
    merged = dict(base)
    for key, value in own.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _base_path(path: Path, value: Any) -> Path:
    """The base file ``value`` names, relative to ``path``'s dir and confined to it."""
    plain = isinstance(value, str) and value.strip() and value.isprintable() and "\\" not in value
    rel = PurePosixPath(value) if plain else None
    if rel is None or rel.is_absolute() or ".." in rel.parts:
        raise TrnetError(
            f"{_at(path)}: defaults must be a file name relative to {path.parent} and inside "
            f"it (no absolute path, no '..'), got {value!r}"
        )
    base = path.parent / rel
    try:
        found = base.is_file()
    except OSError:  # a name too long for the file system
        found = False
    if not found:
        raise TrnetError(f"{_at(path)}: defaults file {base} not found")
    return base


def _at(path: Path) -> str:
    """``path:line:col`` of the value of its top-level ``defaults`` key (``path`` alone when
    the parser cannot tell), as YAML syntax errors are named (:func:`trnet.io.read_yaml`)."""
    import yaml

    try:
        node = yaml.compose(read_text(path), Loader=yaml.SafeLoader)
    except (TrnetError, yaml.YAMLError):
        return str(path)
    for key, value in getattr(node, "value", None) or []:
        if isinstance(key, yaml.ScalarNode) and key.value == DEFAULTS:
            mark = value.start_mark
            return f"{path}:{mark.line + 1}:{mark.column + 1}"
    return str(path)


_EXP_DIR = re.compile(r"exp/([A-Za-z0-9_.-]+)/")


def config_deps(path: str | os.PathLike) -> list[str]:
    """The systems a config depends on: each ``exp/<system>/`` its keys and values point at
    (TRNet's ``loss.z_clean_from: exp/baseline_clean/fold{fold}``), its defaults' included,
    in order, once each. The config is read, not validated (training does that)."""
    raw, _ = read_config(path)
    deps: list[str] = []
    for text in _strings(raw):
        for name in _EXP_DIR.findall(text):
            if name not in deps:
                deps.append(name)
    return deps


def fold_wise_deps(path: str | os.PathLike) -> list[str]:
    """The systems of :func:`config_deps` that every pointer at names by fold (``{fold}``
    in the same string): a fold of this config reads the same fold of them only."""
    raw, _ = read_config(path)
    wise: dict[str, bool] = {}
    for text in _strings(raw):
        for name in _EXP_DIR.findall(text):
            wise[name] = wise.get(name, True) and "{fold}" in text
    return [name for name, ok in wise.items() if ok]


def _strings(value: Any) -> list[str]:
    """Every key and scalar of a parsed YAML document, as text, in document order."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [] if value is None else [str(value)]
