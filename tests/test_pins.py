"""Dependencies CI relies on are bounded, and the versions CI installs are pinned."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _setup_requirements() -> tuple[list[Requirement], dict[str, list[Requirement]]]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    call = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "setup"
    )
    kw = {
        k.arg: ast.literal_eval(k.value)
        for k in call.keywords
        if k.arg in ("install_requires", "extras_require")
    }
    install = [Requirement(r) for r in kw["install_requires"]]
    extras = {name: [Requirement(r) for r in reqs] for name, reqs in kw["extras_require"].items()}
    return install, extras


def _constraints() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "tools/constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = Version(version)
    return pins


def test_every_requirement_has_a_lower_and_an_upper_bound():
    install, extras = _setup_requirements()
    for req in install + [r for reqs in extras.values() for r in reqs]:
        ops = {spec.operator for spec in req.specifier}
        assert ops & {">=", "=="} and ops & {"<", "<=", "=="}, f"{req}: needs both bounds"


def test_ruff_and_hypothesis_are_pinned_exactly_and_torch_is_2_11():
    install, extras = _setup_requirements()
    dev = {r.name: r for r in extras["dev"]}
    for name in ("ruff", "hypothesis"):
        assert [s.operator for s in dev[name].specifier] == ["=="], dev[name]
    torch = {r.name: r for r in install}["torch"]
    assert "2.11.0" in torch.specifier and "2.13.0" not in torch.specifier


def test_constraints_pin_every_requirement_inside_its_range_and_install_uses_them():
    install, extras = _setup_requirements()
    pins = _constraints()
    for req in install + extras["dev"]:
        if req.name in ("torch", "torchaudio"):
            continue  # tools/install.sh pins these (TORCH_VERSION)
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        assert key in pins, f"{req.name}: not in tools/constraints.txt"
        assert pins[key] in req.specifier, f"{req.name}=={pins[key]} outside {req}"
    assert '-c "$root/tools/constraints.txt"' in (ROOT / "tools/install.sh").read_text()
