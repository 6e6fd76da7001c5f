"""Deterministic mode: two CPU code paths give the same model only with the switch on.

One machine stands in for two: the first run forces the generic (non-vectorised) kernels of
ATen, oneDNN and MKL, the second runs the machine's own. Training a baseline and a TRNet
system on the toy layout, then decoding, through the real ``trnet`` command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from ser_toy import make_toy, toy_config

from trnet import determinism
from trnet.train.config import config_to_dict

# what an older CPU (or a library's generic build) would run
GENERIC = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "DNNL_MAX_CPU_ISA": "SSE41",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
}


def _train_and_decode(root: Path, folds: Path, dump: Path, env: dict[str, str]) -> bytes:
    """Posteriors of baseline_clean and trnet, trained and decoded by ``trnet`` under ``env``.

    One process runs the four commands (``trnet.cli.app``), so torch loads once per run.
    """
    root.mkdir(parents=True)
    runs = []
    for system in ("baseline_clean", "trnet"):
        z = str(root / "exp" / "baseline_clean" / "fold{fold}")
        conf = root / f"{system}.yaml"
        cfg = toy_config(system, z_clean_from=z, epochs=2)
        conf.write_text(yaml.safe_dump(config_to_dict(cfg)))
        exp = root / "exp" / system / "fold1"
        common = ["--dump", str(dump), "--device", "cpu"]
        runs.append(
            ["train", "--config", str(conf), "--fold", "1", "--data-root", str(folds)]
            + ["--out", str(exp), *common]
        )
        runs.append(
            ["decode", str(exp), "--test-dir", str(folds / "fold1" / "test")]
            + ["--conditions", "clean esc50_0", "--out", str(root / "dec" / system), *common]
        )
    script = f"from trnet.cli import app\nfor a in {runs!r}:\n    app(a, standalone_mode=False)"
    full = {k: v for k, v in os.environ.items() if k not in (*GENERIC, determinism.SWITCH)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**full, **env}
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return b"".join(
        (root / "dec" / system / cond / "fold1" / "posteriors").read_bytes()
        for system in ("baseline_clean", "trnet")
        for cond in ("clean", "esc50_0")
    )


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_toy(tmp_path_factory.mktemp("toy"))


@pytest.mark.skipif(
    not determinism.is_x86() or torch.backends.cpu.get_cpu_capability() == "DEFAULT",
    reason="needs an x86-64 CPU with at least AVX2 (two code paths to compare)",
)
@pytest.mark.parametrize("switch", ["0", "1"])
def test_two_code_paths_agree_only_with_the_switch(
    toy: tuple[Path, Path], tmp_path: Path, switch: str
) -> None:
    folds, dump = toy
    sw = {determinism.SWITCH: switch}
    generic = _train_and_decode(tmp_path / "generic", folds, dump, {**GENERIC, **sw})
    native = _train_and_decode(tmp_path / "native", folds, dump, sw)
    if switch == "1":
        assert generic == native
    else:
        assert generic != native


def test_switch_pins_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in determinism.PINNED_X86:
        monkeypatch.setenv(name, "bogus")
    monkeypatch.setenv(determinism.SWITCH, "0")
    determinism.apply_env()
    assert os.environ["ATEN_CPU_CAPABILITY"] == "bogus"
    monkeypatch.setenv(determinism.SWITCH, "true")
    determinism.apply_env()
    assert os.environ["OMP_NUM_THREADS"] == "1"
    if determinism.is_x86():
        assert os.environ["ATEN_CPU_CAPABILITY"] == "avx2"
        assert os.environ["MKL_CBWR"] == "COMPATIBLE,STRICT"  # the cross-vendor branch
        assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"


@pytest.mark.parametrize("torch_first", [False, True])
def test_torch_settings_apply_when_torch_loads_not_before(torch_first: bool) -> None:
    """The CLI does not import torch for a command that needs none (``trnet plan`` and the
    like start in a fraction of a second), and torch, whenever it loads (before the CLI or
    after it), runs in deterministic mode: one thread, no oneDNN, deterministic algorithms."""
    script = (
        ("import torch\n" if torch_first else "")
        + "import sys\nimport trnet.cli\nloaded = 'torch' in sys.modules\nimport torch\n"
        + "print(loaded, torch.get_num_threads(), torch.get_num_interop_threads(),"
        + " torch.backends.mkldnn.enabled, torch.are_deterministic_algorithms_enabled(),"
        + " torch.is_deterministic_algorithms_warn_only_enabled())"
    )
    for switch, want in (("1", f"{torch_first} 1 1 False True False"), ("0", f"{torch_first} ")):
        env = {**os.environ, determinism.SWITCH: switch}
        env = {k: v for k, v in env.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith(want), (switch, done.stdout)
        if switch == "0":  # torch's own defaults: oneDNN on
            assert done.stdout.split()[3] == "True"
