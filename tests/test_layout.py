"""One spelling of each shared name (issue 23, items 5 and 8): a name of ``trnet.contract``
is imported from there (or from the module that defines it), never through a module that
imports it; a test module never imports from another test module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_files() -> Iterator[Path]:
    for top in ("trnet", "tests", "tools"):
        yield from (p for p in sorted((ROOT / top).rglob("*.py")) if "venv" not in p.parts)


def imports(path: Path) -> Iterator[ast.ImportFrom]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node


def defined_names(module: str) -> set[str]:
    """The names ``module`` binds itself (not the ones it imports)."""
    parts = module.split(".")
    path = ROOT.joinpath(*parts).with_suffix(".py")
    if not path.is_file():
        path = ROOT.joinpath(*parts, "__init__.py")
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def relayed_contract_names(files: Iterator[Path]) -> list[str]:
    """``file:line name via module`` for each contract name imported through another module."""
    contract = defined_names("trnet.contract")
    found = []
    for path in files:
        for node in imports(path):
            if not node.module.startswith("trnet.") or node.module == "trnet.contract":
                continue
            names = {a.name for a in node.names} & contract
            for name in sorted(names - defined_names(node.module)):
                found.append(f"{shown(path)}:{node.lineno} {name} via {node.module}")
    return found


def test_contract_names_are_imported_from_the_contract() -> None:
    assert relayed_contract_names(python_files()) == []


def test_the_check_sees_a_contract_name_relayed_by_another_module(tmp_path: Path) -> None:
    relayed = tmp_path / "relayed.py"
    relayed.write_text("from trnet.audio import SAMPLE_RATE, read_audio\n")
    assert relayed_contract_names(iter([relayed])) == [
        f"{shown(relayed)}:1 SAMPLE_RATE via trnet.audio"
    ]


def test_no_test_module_imports_another() -> None:
    tests = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    found = [
        f"{path.name}:{node.lineno} {node.module}"
        for path in python_files()
        if path.parent.name == "tests"
        for node in imports(path)
        if node.module.split(".")[-1] in tests
    ]
    assert found == []
