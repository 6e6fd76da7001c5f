"""The SE front end behind one interface: the kind registry, the one loader of every kind,
and what ``trnet train-se`` says of a pretrained config."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cli_main import run_main
from onnx_toy import half_gain_onnx

from trnet.errors import TrnetError
from trnet.se.config import SeConfig, load_config, resolve_config
from trnet.se.enhancer import KINDS, Enhancer, se_kind
from trnet.se.model import build_model, load_model, save_model

TEMPLATE_CONF = Path(__file__).resolve().parents[1] / "egs" / "TEMPLATE" / "ser1" / "conf"
TINY = {
    "crn": {"model": "crn", "model_conf": {"channels": [4, 8], "hidden": 16, "layers": 1}},
    "cmgan": {
        "model": "cmgan",
        "model_conf": {"channels": 8, "n_blocks": 1, "heads": 2, "dense_depth": 2, "ff_mult": 2},
    },
}


def test_an_unknown_kind_is_one_line_naming_the_file_and_the_kinds(tmp_path, monkeypatch, capsys):
    with pytest.raises(TrnetError) as err:
        se_kind("unet", "se.yaml")
    assert str(err.value) == "se.yaml: model 'unet' unknown; allowed: crn, cmgan, nsnet2, onnx"
    path = tmp_path / "se.yaml"
    path.write_text("model: unet\n")
    with pytest.raises(TrnetError, match=rf"^{path}: model 'unet' unknown; allowed: crn,"):
        load_config(path)
    done = run_main(["plan", "--se-config", path, "--field", "se_pretrained"], monkeypatch, capsys)
    assert done.code == 1 and done.error_line.startswith(f"{path}: model 'unet' unknown")


def test_the_registry_alone_decides_what_is_pretrained(monkeypatch, capsys):
    assert {name for name, kind in KINDS.items() if kind.pretrained} == {"nsnet2", "onnx"}
    for name in ("crn", "cmgan"):
        conf = resolve_config({"model": name})
        assert not conf.pretrained and conf.train is not None and "train" in conf.to_dict()
    conf = resolve_config({"model": "nsnet2"})
    assert conf.pretrained and conf.to_dict() == {"model": "nsnet2", "model_conf": conf.model_conf}
    for name, want in (("se_nsnet2.yaml", "true"), ("slim/se.yaml", "false")):
        done = run_main(
            ["plan", "--se-config", TEMPLATE_CONF / name, "--field", "se_pretrained"],
            monkeypatch,
            capsys,
        )
        assert done.code in (0, None) and done.stdout == f"{want}\n"


def test_every_kind_loads_through_the_one_loader(tmp_path):
    pytest.importorskip("onnxruntime")
    from trnet.se.pretrained import write_package

    dirs = {}
    for name, raw in TINY.items():  # trainable: best.pt as training writes it
        conf = resolve_config(raw)
        torch.manual_seed(0)
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        save_model(dirs[name] / "best.pt", build_model(conf).eval(), conf)
    for name, raw in (  # pretrained: the package train-se writes
        ("nsnet2", {"model": "nsnet2"}),
        ("onnx", {"model": "onnx", "model_conf": {"path": str(half_gain_onnx(tmp_path / "h.onnx")),
                                                  "io": "waveform"}}),
    ):  # fmt: skip
        dirs[name] = write_package(resolve_config(raw), tmp_path / name).parent
    assert set(dirs) == set(KINDS)  # a new kind needs a line here
    batch = torch.rand(2, 4000, generator=torch.Generator().manual_seed(1)) - 0.5
    batch[1, 2500:] = 0  # the second utterance is 2500 samples long, zero-padded
    for name, path in dirs.items():
        enhancer, conf = load_model(path)
        assert isinstance(enhancer, Enhancer) and isinstance(conf, SeConfig)
        assert conf.model == name and enhancer.describe()["kind"] == name
        out = enhancer.enhance(batch, torch.tensor([4000, 2500]))
        assert out.shape == batch.shape and not out.requires_grad
        assert torch.all(out[1, 2500:] == 0) and torch.any(out[1, :2500] != 0)
    half, _ = load_model(dirs["onnx"])
    torch.testing.assert_close(half.enhance(batch), batch / 2)


def test_train_se_on_a_pretrained_config_names_the_options_it_ignored(
    tmp_path, monkeypatch, capsys
):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "exp" / "se"
    args = ["train-se", "--config", TEMPLATE_CONF / "se_nsnet2.yaml", "--out", out]
    done = run_main([*args, "--speech", "x", "--resume", "--device", "cpu"], monkeypatch, capsys)
    assert done.code in (0, None), done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        f"prepared the pretrained front end (nsnet2, nothing to train): {out}/pretrained.json"
    )
    assert (
        lines[1] == "ignored (a pretrained front end trains nothing): --speech, --resume, --device"
    )
    assert (out / "pretrained.json").is_file() and not (out / "best.pt").exists()
    done = run_main(args, monkeypatch, capsys)  # no training option given: none is named
    assert done.code in (0, None) and "ignored" not in done.stdout
    assert "already written with these settings" in done.stdout
