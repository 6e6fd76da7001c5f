"""Configs as defaults + what differs (issue 23): the recipe configs resolve exactly as before.

``RESOLVED`` holds, for every config file of the shared recipe config tree (the paper-size
systems, ``slim/``, ``cpu/`` and the SE configs), the sha256 of the resolved config that
training writes into ``exp/<system>/fold<K>/config.yaml`` and of the signature its fold is
signed with (the config part of it; the data part given as nothing). The list was made from
the configs of main at 667e183 (whose resolved configs are those of 2229928) before they were
rewritten as ``defaults: _base.yaml`` plus what makes each system: the rewrite changes no
byte of what training sees, through every recipe's ``conf`` link. A system added later has
its digests from its first commit (``cpu/trnet_blendfun.yaml`` and the ablations
``cpu/trnet_abl_*.yaml``: issue 25); a new config key at its default changes none of the
others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOWHERE = Path("/nonexistent")
Capture = pytest.CaptureFixture[str]

RESOLVED = {
    "baseline_clean.yaml": (
        "348aa11a0ebb30841c43241a91da562fd64b620d2a2a0a20e7aaaa5fa65c26ef",
        "b52f368cfe56359b0d58026abbf95b1a5b0996ff1e2a57e2246977612b6eeb8b",
    ),
    "baseline_enhanced.yaml": (
        "8a64f85fefc16179c0b32e40750f9f16595bb036a5f367c83328c6ba381269a4",
        "e92a9d2089aff64070dded7f14d0eae45c732ba84445bb3c26d943eb4823649d",
    ),
    "baseline_noisy.yaml": (
        "730112008724e891184ed98231f41da01787093150f5da7e46709fd0fa9aec6b",
        "c3b31debb9de28df2899d6f4dd00b3ae80c2654b0deb85f792d9a1c2098484ef",
    ),
    "cpu/baseline_clean.yaml": (
        "b618033941f2a864112f637ec2105f8c703a3c5abdd19831a8a5f82cdfb1e780",
        "6ab325e8541e6cfcd32e18cd7ed61addb0d2356a28104ee9f87cc6672b2b236c",
    ),
    "cpu/baseline_egemaps.yaml": (
        "ae28a72a741c6f2438abb65857f36f00c6f34c55a5a6c9e3c6bcad4db3a7f85c",
        "2d475d407243f3e8a3d8d11b4f0f870987c6e78555369b7241ce4c6e9287c19d",
    ),
    "cpu/baseline_enhanced.yaml": (
        "41fe0205a4081d305b91b6b9cdf23ebb0844347faeac52cc7c301b690b2ad57d",
        "5946cc52d959fc91786fb704b3354e953c26bc3f253766b8daacf2e5167491e9",
    ),
    "cpu/baseline_noisy.yaml": (
        "b3180175efa01a9ed1f745791ceb68a980da1274f1c9f14e52f59a49c42e6674",
        "bba403d34c5d6a0d5008b42b092384f1f6a62d64bce610c0aaceeb4ace84d986",
    ),
    "cpu/baseline_enhanced_corrupt.yaml": (
        "7d55613d5cfcf706525f9a5d9ff5aea2f72bced5b5f0b1fffe64314a134d29c9",
        "191af532303c4dabb394e8754abb281ba9ea81197f28dba17801ba5121be83e2",
    ),
    "cpu/baseline_noisy_corrupt.yaml": (
        "cd8bcc730678ddb322b9f8dff36d019ab0f0c6626c49c344174b2a21e1c8763c",
        "b7506885ba98824bb6602530ea2ab8c26903a7ffcaafc98cd3c1ef488560ec1e",
    ),
    "cpu/trnet_corrupt.yaml": (
        "5feb58f740ea7480bd86d9ec771bc293b760168087cef01c07d35a7aab0b305e",
        "afd9564b099ba9f24629f2b207bc9307e6b98268baedf9151aac50ad9cc11b9a",
    ),
    "cpu/trnet_wo_low_corrupt.yaml": (
        "66c60a86fe8b9ae4804b313e780348c19858989fe3c8db77a97341ae57b4d037",
        "079f990b1c40d4c9a9b2000c7010e0082209e95ea1947d5d4a30e49473960d6c",
    ),
    "cpu/se.yaml": (
        "a40c78aff884ddfe47fa56ea2a2f7954e405ecfc86e67a785c8b9af7aaddc196",
        "995fac43a8795694945b3b5290dd571455d4a33793a78b0f60851520a5938bc5",
    ),
    "cpu/trnet.yaml": (
        "fbbfae287b9e32e9c91ead144f286486e1d18a71ec58892b8ecace642b76ca25",
        "1c58d22d1fdcbfbb9fa25ab39bbd18ad4e9161c3c48c0b040d5a6fb84442e340",
    ),
    "cpu/trnet_abl_cleanbypass.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "15c90fc7da567662a4bbdf3c6e7345f8db55eb4011bf40c22814436927dc9610",
        "c405a1a82c7a1ebfa36f51a36ce2b86ad5776c8f7cbf46886a346c3075242fad",
    ),
    "cpu/trnet_abl_gradnorm.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "02290077bb50225bf827ffbe738b9d927fccba140160d48e3a722895c3ef51b1",
        "e17bd721b622aec81b186c0f7f283094d45e6fc37faef04f7f58ec00b5b441c6",
    ),
    "cpu/trnet_abl_nobridge.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "c3d2f5f163ee1d98d5bbec96c9998b8d9a268f97162ffa208b8a2ca980622ee8",
        "4c147f73f045aeda3924fe284f79c82b0beb23e68e01ce3407edaec539535118",
    ),
    "cpu/trnet_abl_sframe.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "6602db1dc0b67f5bb312d6b2d21394e5bcf8397593af58c5255a8e43962788d4",
        "d4bb69794f0601d9b05ba82fb13eedce21b188f11ac0922eb37e36508eb75715",
    ),
    "cpu/trnet_abl_sraw.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "8567a5cc93a04866b5b87d37448912afb768861150eb6052593232d58f698699",
        "786ec9724221a99e0361fa848ab9870738633e9c9da7ae36d16f0aff7b0ec301",
    ),
    "cpu/trnet_abl_ssigmoid.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "e5bf062b664e8a9a44f100897c5081ad48261faca98dcac672c1352f6d4bad8a",
        "31065b27b3955f3a3bfb123169080a44ecf3a61f5c7286cd839475fcf43e52b0",
    ),
    "cpu/trnet_abl_zcrop.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "22dd19fa841677a06230d021fe715c5203dd92996ef4a543ca279cc2103892e5",
        "147025c0e5121d09602fb43f9f2c8d32b7dea2be1971eb88f990560fcacd82bd",
    ),
    "cpu/trnet_blendfun.yaml": (  # added later (issue 25): trnet.yaml + functionals_input
        "19dc24f9a80f2935fafc7f3d9431cd5787ee3e20d74f1c625eaaa90d76588ea9",
        "e98f476d357df6c0e7ea1ea2ec22164009b3c5fa4f8211c0ea0051f4930efbee",
    ),
    "cpu/trnet_wo_high.yaml": (
        "6df3c136dd5994f485b35b40d1b2b39b19676cb059ddc3b2c5dca65550d3373a",
        "56593affac6ad79e26315d63bcb2aabc70a29372865ba6d839bfc57b98e843f1",
    ),
    "cpu/trnet_wo_low.yaml": (
        "96f82e4dc082082817f23374ba0efb8d3f8945ebfc90eb64be7a9d1027b4b67a",
        "db035bfc344378f136477db3cc304faec8ce52b5489681e0a6458e2a45cde7d9",
    ),
    "se.yaml": (
        "6f42590891b9ebc2253bb2dd899bebfc12aec7fe8f83a160341b7fe7341c73d6",
        "9127134deae8d327d8bf6a7a64c170c46eda7016f901e522f5ab2150c7ef5688",
    ),
    "se_nsnet2.yaml": (
        "d351bca1fd240a6fe0a2cd82db713ca0f9d9c88b2be5a3b68cf392dce82a1b68",
        "b74946f9e2b396024b350da1d907f3aee1ea07b1eefa4e215924b29134852ef6",
    ),
    "slim/baseline_clean.yaml": (
        "51d6a4f3b1ff69623654dea4c10066928cfbd9c48b4c6948ae9fe585aec9873d",
        "3d3b9a416ce916d23c5c1c376d437b89033b0f99ab9f32d836bac5cade73bdd3",
    ),
    "slim/baseline_enhanced.yaml": (
        "b63c754f717a1b8e0f14ce8c49c008932396fc1959e09bcc8401d31ecdcdd1ab",
        "befcd9be9216efe5c0fd647d013b49a874b1fbd42b49a287e4eb6871fb582471",
    ),
    "slim/baseline_noisy.yaml": (
        "a674ec376398d60ea876e7761651515cee8e6f389f257eeb2cdead0dc598ebe2",
        "2316633fd38054e8f4852b4bc7a1ba3c1b6304dc6e4d8457881023c7452e6cb4",
    ),
    "slim/se.yaml": (
        "a40c78aff884ddfe47fa56ea2a2f7954e405ecfc86e67a785c8b9af7aaddc196",
        "995fac43a8795694945b3b5290dd571455d4a33793a78b0f60851520a5938bc5",
    ),
    "slim/se_nsnet2.yaml": (
        "d351bca1fd240a6fe0a2cd82db713ca0f9d9c88b2be5a3b68cf392dce82a1b68",
        "b74946f9e2b396024b350da1d907f3aee1ea07b1eefa4e215924b29134852ef6",
    ),
    "slim/trnet.yaml": (
        "1b075974935e35eb08af22ea71511f717931c24154f9c2b33f3e96c159a3bd58",
        "dc10ea75c614b965bc9de5d08e0cdedeeddb995e049b22a94b25c0aed6a4da87",
    ),
    "slim/trnet_inward.yaml": (
        "98eee8ec77a9b7f44e904c72176f2745a43b4387e69ab9821be0fb23ebbefbd3",
        "335cbe8d0a111c91de1f69199f96de6f6d86769d5440e85db98215244300fcf4",
    ),
    "slim/trnet_wo_high.yaml": (
        "3d47207bca70ac6b1b57cc918490f4542506ba72a6378409c0644cefa1cbd817",
        "7681fdaaf15cbb617334acc73e6758a22114910364583253bbc40b598807dad1",
    ),
    "slim/trnet_wo_low.yaml": (
        "6f15de54c799ae796dd9050ecd6c252ccfbbd02d768cc70372d3a46d67c2ad74",
        "d1167ff81514eaa439dc45b83ee0eb22fdfab7b0bdc89d1bd6d9344586da7286",
    ),
    "trnet.yaml": (
        "6095ed0a0c90758da6ebd65705a4a93865f305a4b850d520ad0dab8556d2b81a",
        "d2a68b76076d66cf227f4a8e51cc26cb4d8368af126de9b3bc76f39066b07bec",
    ),
    "trnet_wo_high.yaml": (
        "04f99e95fcf352d69c7fecf46d750dbb1e5d92d359cff88230a26eb1d7a46a40",
        "4307bb10f091930323d7bf460f4dcc7c0d73081fd781bd8bd30e12f55d861251",
    ),
    "trnet_wo_low.yaml": (
        "067e82e358de6498a08f7f1303f858d221a428d9093e2e95d48a83c6bc9a33f6",
        "9b8757573c3d68588ff2e0801b0d1193eef85e1cfc6405643bbf95866683b15f",
    ),
}
"""conf file → (sha256 of the resolved config.yaml, sha256 of the training signature).

The ``cpu/*_corrupt.yaml`` entries were added with those configs (issue 27), whose
``data.train_corruptions`` key left every other entry as it was.

The ``cpu/`` deep systems' entries changed twice: when ``cpu/_base.yaml`` gained
``train.stop_lr: 1.0e-4`` (issue 24: a number-changing speed-up, egs/emodb/RESULTS.md), and
again when it gained ``model.conv_input_grad: forward`` (issue 24, the same way).

The SE configs' signature digests were updated once, when train-se's signature stopped
recording its sources' paths: each old digest is that of the new signature plus
``"sources": {}``, checked when they were replaced."""


def resolved(path: Path) -> tuple[str, dict]:
    """What training writes as config.yaml for ``path`` and the signature it signs (with no
    data): SE configs by ``trnet train-se``, eGeMAPS-SVM and deep systems by ``trnet train``."""
    from trnet.classic.svm import KIND, dump_svm_config, load_svm_config
    from trnet.se.config import load_config as load_se_config
    from trnet.se.train import se_signature
    from trnet.systems.registry import system_of_config
    from trnet.train.config import config_to_dict, dump_config, load_config
    from trnet.train.signature import fold_signature

    if path.name.startswith("se"):
        conf = load_se_config(path)
        return yaml.safe_dump(conf.to_dict(), sort_keys=False), se_signature(conf, {})
    if system_of_config(path).kind == KIND:
        svm = load_svm_config(path)
        signed = dataclasses.asdict(svm)
        return dump_svm_config(svm), fold_signature(signed, 1, NOWHERE, NOWHERE, {})
    cfg = load_config(path)
    return dump_config(cfg), fold_signature(config_to_dict(cfg), 1, NOWHERE, NOWHERE, {})


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def conf_files(conf: Path) -> list[str]:
    """The config files of a conf tree, base files (``_*.yaml``) left out."""
    names = (p.relative_to(conf) for p in conf.rglob("*.yaml") if not p.name.startswith("_"))
    return sorted(str(name) for name in names)


RECIPES = ["TEMPLATE/ser1", "cremad", "emodb", "iemocap", "msppodcast", "ravdess"]
"""The shared config tree (egs/TEMPLATE/ser1/conf) and each recipe's link to it."""


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_configs_resolve_byte_identical(recipe: str) -> None:
    conf = ROOT / "egs" / recipe / "conf"
    assert conf_files(conf) == sorted(RESOLVED)
    for name, (config_sha, signature_sha) in RESOLVED.items():
        text, signature = resolved(conf / name)
        assert sha256(text) == config_sha, f"{conf / name}: resolved config.yaml changed"
        signed = json.dumps(signature, sort_keys=True)
        assert sha256(signed) == signature_sha, f"{conf / name}: signature changed"


def test_every_system_file_holds_only_what_differs_from_its_dir_defaults() -> None:
    """The deep systems of each size name ``_base.yaml`` and restate none of its values
    (the resolved configs above show that what they resolve to is unchanged)."""
    conf = ROOT / "egs" / "TEMPLATE" / "ser1" / "conf"
    for size in (".", "slim", "cpu"):
        base = yaml.safe_load((conf / size / "_base.yaml").read_text())
        for path in (conf / size).glob("*.yaml"):
            own = yaml.safe_load(path.read_text())
            if path.name.startswith(("se", "_")) or own.get("model", {}).get("kind"):
                continue  # SE front ends, defaults files, the eGeMAPS SVM: their own schemas
            assert own.pop("defaults") == "_base.yaml" and own.pop("system") == path.stem
            restated = [
                f"{section}.{key}"
                for section, values in own.items()
                for key, value in values.items()
                if base[section].get(key) == value
            ]
            assert not restated, f"{path}: {restated} as in _base.yaml"


SLIM = ROOT / "egs" / "TEMPLATE" / "ser1" / "conf" / "slim"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_merge_mappings_key_by_key_and_replace_lists_and_scalars(tmp_path: Path) -> None:
    from trnet.train.config import config_from_dict, config_to_dict, dump_config, load_config

    base_text = (SLIM / "_base.yaml").read_text()
    _write(tmp_path / "_base.yaml", base_text)
    own = {
        "defaults": "_base.yaml",
        "system": "mine",
        "model": {"channels": [2, 4]},  # a list: replaced, not appended to
        "data": {"snrs": []},  # an empty list: no SNR, not the base's
        "optim": {"lr": 0.01},  # one key of a section: the others are the base's
    }
    cfg = load_config(_write(tmp_path / "mine.yaml", yaml.safe_dump(own)))
    spelled = yaml.safe_load(base_text)
    spelled["system"] = "mine"
    spelled["model"]["channels"], spelled["data"]["snrs"] = [2, 4], []
    spelled["optim"]["lr"] = 0.01
    expected = config_from_dict(spelled, "spelled.yaml")
    assert config_to_dict(cfg) == config_to_dict(expected)
    assert dump_config(cfg) == dump_config(expected)  # the config.yaml training writes
    assert cfg.optim.lr_patience == 4 and cfg.train.max_epochs == 12 and cfg.data.snrs == []
    assert "defaults" not in dump_config(cfg)


def test_svm_and_se_configs_take_defaults_too(tmp_path: Path) -> None:
    from trnet.classic.svm import KIND, load_svm_config
    from trnet.se.config import load_config as load_se_config
    from trnet.systems.registry import system_of_config

    _write(tmp_path / "_svm.yaml", "model:\n  kind: egemaps_svm\n  c_grid: [1.0]\n")
    svm = _write(tmp_path / "svm.yaml", "defaults: _svm.yaml\nsystem: s\ndata:\n  snrs: [5]\n")
    assert system_of_config(svm).kind == KIND  # model.kind is in the defaults file
    assert load_svm_config(svm).model.c_grid == [1.0]
    _write(tmp_path / "_se.yaml", (SLIM / "se.yaml").read_text())
    se = _write(tmp_path / "se.yaml", "defaults: _se.yaml\ntrain:\n  epochs: 2\n")
    conf = load_se_config(se)
    assert conf.train is not None and (conf.train.epochs, conf.train.steps_per_epoch) == (2, 50)


def _train_error(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> str:
    """The one-line error of ``trnet train --config path``; nothing is written."""
    from cli_main import run_main

    out = tmp_path / "exp" / "fold1"
    args = ["train", "--config", path, "--fold", "1", "--data-root", tmp_path]
    done = run_main([*args, "--dump", tmp_path, "--out", out], monkeypatch, capsys)
    assert done.code == 1 and not out.exists()
    return done.error_line


def test_a_missing_defaults_file_is_named_with_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    path = _write(tmp_path / "mine.yaml", "system: mine\ndefaults: _gone.yaml\n")
    line = _train_error(path, tmp_path, monkeypatch, capsys)
    assert line == f"{path}:2:11: defaults file {tmp_path / '_gone.yaml'} not found"


@pytest.mark.parametrize(
    ("files", "named"),
    [  # a defaults file with defaults of its own (a chain), and the shortest cycle
        ({"_base.yaml": "defaults: _more.yaml\n", "_more.yaml": "system: x\n"}, "_base.yaml"),
        ({"_base.yaml": "defaults: _base.yaml\n"}, "_base.yaml"),
        ({}, "mine.yaml"),  # mine.yaml names itself
    ],
)
def test_defaults_are_one_level_so_no_chain_and_no_cycle(
    files: dict[str, str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Capture,
) -> None:
    for name, text in files.items():
        _write(tmp_path / name, text)
    own = "_base.yaml" if files else "mine.yaml"
    path = _write(tmp_path / "mine.yaml", f"defaults: {own}\nsystem: mine\n")
    line = _train_error(path, tmp_path, monkeypatch, capsys)
    assert line == (
        f"{tmp_path / named}:1:11: a defaults file may not name defaults itself "
        f"(one level only; it is the defaults of {path})"
    )


@pytest.mark.parametrize(
    "value",
    ["../_base.yaml", "sub/../../_base.yaml", "/etc/passwd", "'\\\\x\\\\_base.yaml'", "''", "[a]"],
)
def test_a_defaults_path_must_stay_in_the_configs_dir(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    _write(tmp_path / "_base.yaml", (SLIM / "_base.yaml").read_text())  # what '..' would reach
    path = _write(tmp_path / "conf" / "mine.yaml", f"system: mine\ndefaults: {value}\n")
    line = _train_error(path, tmp_path, monkeypatch, capsys)
    assert line.startswith(f"{path}:2:11: defaults must be a file name relative to {path.parent}")


def test_a_defaults_file_in_a_subdir_is_allowed_and_errors_name_both_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Capture
) -> None:
    from trnet.train.config import load_config

    base = _write(tmp_path / "common" / "_base.yaml", (SLIM / "_base.yaml").read_text())
    path = _write(tmp_path / "mine.yaml", "defaults: common/_base.yaml\nsystem: mine\n")
    assert load_config(path).model.channels == [4, 8, 16, 32]
    _write(base, base.read_text().replace("  hidden: 32\n", "  hiden: 32\n"))
    line = _train_error(path, tmp_path, monkeypatch, capsys)
    assert line.startswith(f"{path} (defaults {base}).model: unknown key(s) hiden (allowed: ")


def test_loading_and_checking_every_config_imports_no_torch() -> None:
    """`trnet plan` and a training that finds its work done load and check configs only:
    the lists of allowed values live in trnet/contract.py, so this needs no torch (whose
    import costs more than a second per process)."""
    import subprocess
    import sys

    conf = ROOT / "egs" / "TEMPLATE" / "ser1" / "conf"
    deep = [
        str(conf / name)
        for name in conf_files(conf)
        if not Path(name).name.startswith("se") and "egemaps" not in name
    ]
    assert len(deep) >= 30  # paper-size, slim and cpu systems
    script = (
        "import sys\nfrom trnet.train.config import load_config\n"
        f"for p in {deep!r}:\n    load_config(p)\n"
        "print(len(sys.argv), 'torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "False"], done.stdout
