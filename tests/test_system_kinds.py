"""System kinds (trnet.systems): a kind registered from outside trnet/ (tests/nearest_mean.py,
one ``register_kind`` line) trains, decodes and is scored through the real commands; a
``model.kind`` that names no kind is one line; the package's import graph has no circle."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_main import run_main

from trnet.contract import CLASSES
from trnet.systems.registry import KINDS, register_kind

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def nearest_mean() -> Iterator[str]:
    from nearest_mean import NearestMean

    kind = register_kind(NearestMean()).kind
    yield kind
    del KINDS[kind]


def test_a_kind_registered_outside_trnet_trains_decodes_and_scores(
    nearest_mean: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    pytest.importorskip("opensmile")
    from voice_toy import make_audio_layout

    folds, dump = make_audio_layout(tmp_path)
    conf = tmp_path / "nearest_mean.yaml"
    raw = {"system": "toy_mean", "model": {"kind": nearest_mean}, "data": {"snrs": [10]}}
    conf.write_text(yaml.safe_dump(raw))
    exp = tmp_path / "exp" / "toy_mean"
    train = ["train", "--config", conf, "--fold", "1", "--data-root", folds, "--dump", dump]
    train += ["--out", exp / "fold1"]
    assert run_main(train, monkeypatch, capsys).code == 0
    assert (exp / "fold1" / ".done").read_text() == "48 examples\n"  # 24 utts, 2 conditions
    again = run_main(train, monkeypatch, capsys)
    assert again.code == 0 and "already trained" in again.stdout
    decode = ["decode", exp / "fold1", "--dump", dump, "--test-dir", folds / "fold1" / "test"]
    decode += ["--conditions", "clean esc50_0", "--out", exp / "decode"]
    assert run_main(decode, monkeypatch, capsys).code == 0
    d = exp / "decode" / "clean" / "fold1"
    hyp = dict(line.split() for line in (d / "hyp").read_text().splitlines())
    ref = dict(line.split() for line in (d / "ref").read_text().splitlines())
    assert len(hyp) == 8 and set(hyp.values()) <= set(CLASSES)
    assert sum(hyp[u] == ref[u] for u in ref) >= 6  # pitch and loudness give the class away
    assert json.loads((d / "info.json").read_text())["system"] == "toy_mean"
    scored = run_main(["score", exp / "decode"], monkeypatch, capsys)
    assert scored.code == 0, scored.stderr
    assert "toy_mean" in scored.stdout and "esc50" in scored.stdout


def test_an_unknown_model_kind_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    conf = tmp_path / "x.yaml"
    conf.write_text(yaml.safe_dump({"system": "x", "model": {"kind": "nope"}, "data": {}}))
    args = ["train", "--config", conf, "--fold", "1", "--data-root", tmp_path, "--dump", tmp_path]
    done = run_main([*args, "--out", tmp_path / "out"], monkeypatch, capsys)
    assert done.code == 1
    assert done.error_line == (
        f"{conf}: model.kind 'nope' is not a system kind (known: egemaps_svm; "
        "none for the deep SER model)"
    )
    assert not (tmp_path / "out").exists()


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module → the package's modules it imports when it runs: at the top and inside
    functions, not under ``if TYPE_CHECKING:`` (annotations only)."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {
            id(node)
            for guard in ast.walk(tree)
            if isinstance(guard, ast.If) and "TYPE_CHECKING" in ast.unparse(guard.test)
            for stmt in guard.body
            for node in ast.walk(stmt)
        }
        deps = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in modules else node.module)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


KNOWN_CIRCLES: list[list[str]] = []
"""Circles in the import graph: none, and none may come."""


def test_the_import_graph_has_no_new_circle() -> None:
    assert circles(import_graph(ROOT / "trnet")) == KNOWN_CIRCLES


def test_the_circle_check_sees_a_circle_through_a_function_level_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from pkg import a\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n"
    )
    (pkg / "d.py").write_text("import pkg.c\n")
    graph = import_graph(pkg)
    assert graph["pkg.c"] == set() and graph["pkg.d"] == {"pkg.c"}
    assert circles(graph) == [["pkg.a", "pkg.b"]]
