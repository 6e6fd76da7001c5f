"""Strict configs: a YAML mapping → a dataclass, checked key by key (SER and SE configs alike).

A key that is not a field, a missing required field or a value of the wrong type raises
:class:`TrnetError` naming the file, the section and the allowed keys: ``epochs: "8"`` is
refused, never read as a string. Numbers are coerced only from int to float (and from a
string YAML 1.1 leaves unparsed, such as ``1e-3``, to float).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import field, make_dataclass
from typing import Any

from trnet.errors import TrnetError


def convert(value: Any, tp: Any, where: str) -> Any:
    """Check (and for numbers, coerce) ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise TrnetError(f"{where}: expected a mapping, got {value!r}")
        return build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise TrnetError(f"{where}: expected a list, got {value!r}")
        (item,) = typing.get_args(tp)
        return [convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise TrnetError(f"{where}: expected a mapping, got {value!r}")
        key_tp, item = typing.get_args(tp)
        return {
            convert(k, key_tp, f"{where} key {k!r}"): convert(v, item, f"{where}.{k}")
            for k, v in value.items()
        }
    if tp is bool:
        if not isinstance(value, bool):
            raise TrnetError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and not isinstance(value, bool):
        try:  # YAML 1.1 reads 1e-3 as a string
            return float(value)
        except (TypeError, ValueError):
            pass
    if tp is str and isinstance(value, str):
        return value
    raise TrnetError(f"{where}: expected {getattr(tp, '__name__', tp)}, got {value!r}")


def build(cls: type, raw: dict, where: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    allowed = ", ".join(fields)
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise TrnetError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {allowed})")
    missing = [
        name
        for name, f in fields.items()
        if name not in raw
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise TrnetError(f"{where}: missing key(s) {', '.join(missing)} (allowed: {allowed})")
    return cls(**{k: convert(v, hints[k], f"{where}.{k}") for k, v in raw.items()})


def dataclass_of(name: str, defaults: dict[str, Any]) -> type:
    """A dataclass whose fields are the keys of ``defaults``, typed as their default values
    (a list as ``list[<type of its first item>]``)."""
    fields = []
    for key, value in defaults.items():
        tp: Any = type(value)
        if isinstance(value, list):
            tp = list[type(value[0])] if value else list
        fields.append((key, tp, field(default_factory=lambda v=value: _copy(v))))
    return make_dataclass(name, fields)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value
