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
        "251fb8449b40733b50f9958ea247284a2e380496472f4d7fc3a24fa57ea1f23c",
        "1b105f4061f9cecd812ac915d6f30ebad6acf688f141e69adc0778b8d4418616",
    ),
    "cpu/baseline_egemaps.yaml": (
        "ae28a72a741c6f2438abb65857f36f00c6f34c55a5a6c9e3c6bcad4db3a7f85c",
        "2d475d407243f3e8a3d8d11b4f0f870987c6e78555369b7241ce4c6e9287c19d",
    ),
    "cpu/baseline_enhanced.yaml": (
        "6fd52db1ef0c93909e099ec846248003952e5aa7698dbb2f0ab8659f2b71188d",
        "222a4742a6072043ee8e8177318a71b9dfad0152130bb34e476463186e8f164d",
    ),
    "cpu/baseline_noisy.yaml": (
        "05e362be204512e386ac76dcc5a9403fc2d6061fa0aad24831e10c9652f1c29e",
        "1baeecb35f0db14dea8fbdb49ed9b84545c16f72ea5cc8fb93f9852460d0a482",
    ),
    "cpu/baseline_enhanced_corrupt.yaml": (
        "ac5667fd829f4bd1e7341faf41a77354d0dbb7a6624ae8e9f0cf87885a5e95d7",
        "eec01e94ed37b7c5b748ed88f4d2dd78e8fdd031550f9c62980a06814a974ef0",
    ),
    "cpu/baseline_noisy_corrupt.yaml": (
        "ebad431838168f004802c8a42a7ecee2091531e4a8c9c173d32881f2c93f2daa",
        "b7e5a59401784e95d83fde445c40b38c6336b456fc06127c2917b43da0e2107f",
    ),
    "cpu/trnet_corrupt.yaml": (
        "8d3ddcfa66592586c96558ab1c9938e8a1a5cafabfddc63bcd71e2f33756950d",
        "91909b3cd1f92cdcf991557ffd07f819cbf0a400dfdd4841c5e34f97c991f3ca",
    ),
    "cpu/trnet_wo_low_corrupt.yaml": (
        "707fa12eb289b14410ac4b61063956d8677d4390ca3112694288d906590a45cf",
        "e75b3174cba927d1272ebe17f86f0f9746c71c5d372cdd5653ab80369d50bcbc",
    ),
    "cpu/se.yaml": (
        "a40c78aff884ddfe47fa56ea2a2f7954e405ecfc86e67a785c8b9af7aaddc196",
        "995fac43a8795694945b3b5290dd571455d4a33793a78b0f60851520a5938bc5",
    ),
    "cpu/trnet.yaml": (
        "8fb782fb45a4495109525546e7a6f9fa766a3e4aad77f35071b36ebde6fd7ba0",
        "c24beb3f71be5dc7b52ff830f8253dfab869fa934a5efe3b66b45367fd543996",
    ),
    "cpu/trnet_abl_cleanbypass.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "beee18b37372628e2a87946e16ec717d5ade105e4de8dff1fd52a035a64d8ae7",
        "2f220acd57700a602b63064f7fc66d5c8665ed7fe2937421466b6dc957429be9",
    ),
    "cpu/trnet_abl_gradnorm.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "73ab68c06fb1fded9980f20b39b93024cb1324036fc99aea5119b1c196c856df",
        "b28b02826d07c0c842d30e610fa47b7878ca5b82c1c034fa267bb6df4a8744b9",
    ),
    "cpu/trnet_abl_nobridge.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "cef8e2e2fe0cf4c7e6fc7644bde298709f0d3b34767b15dd3535c4de17401e5a",
        "4ff354dbc0f7e9bf685204ac2f2d8c196b1bb30685ca0131ba518b598a18a35d",
    ),
    "cpu/trnet_abl_sframe.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "60ad8fe7dce1a70656ba1e0b55629ff15d0d909fc8dcb0612b0715dad26e4670",
        "f45b50b7734f89d9783da0adb111f5410c84c80d0ec5962fc5282fbdf2f26b6d",
    ),
    "cpu/trnet_abl_sraw.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "3860d1faac6715df0827721bd50193e1a59bad12fd1ec4d58892ab13ee8a5caf",
        "3c3542ab4a248c34efed91511ad52eb0a0964c65fdab325fbc4824b443f86744",
    ),
    "cpu/trnet_abl_ssigmoid.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "0f97594f5deb2d563afee3f481c56a4bfdefccd64cccb31558cd20e7c5e1d595",
        "7158584596da8b3cc9c6e4de5be669a71a17c0c77b83706d477523eb1b5f9c20",
    ),
    "cpu/trnet_abl_zcrop.yaml": (  # issue 25: an ablation of trnet_blendfun.yaml
        "a3d1c794a899ea0e060a89b6b261156a97b8f60599441078d821c83c0031bdbc",
        "8c680e62c91398bd0bafe0fcad0ab51aa6dc4bda795aa80eec98c73c46c967fe",
    ),
    "cpu/trnet_blendfun.yaml": (  # added later (issue 25): trnet.yaml + functionals_input
        "12ca9cdd6329f172500d2674c60a04e93450d299f2d015ff0ca7eac6dbd8c798",
        "d83f5a4a1d3bec7cecc6f6a842d245a3fbaec4974414c09e8e7562d65ae408d9",
    ),
    "cpu/trnet_wo_high.yaml": (
        "e99d87a2b29ccb840c9c8b50795df11988e4c33c1c6faa9f2796b7eb82549609",
        "cc14be9fc99804d57e3bb8df7396a1cfac985c31cf8d1ac2703ff4be5b19af57",
    ),
    "cpu/trnet_wo_low.yaml": (
        "1151fc511a6314e20a43fdc7ad466028195754856b9fc8b0593c1b54ebf51c6e",
        "d8cc5b05bfa9be1e1184c685a45d3ab6722d72c466d48de8cae311b55017d4f2",
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
