"""The issue-25 ablations of TRNet (``conf/cpu/trnet_abl_*.yaml``): each is
trnet_blendfun.yaml (the TRNet kept in item 1) with exactly the keys it names changed, and
each trains in the recipe after Baseline-c."""

from __future__ import annotations

from pathlib import Path

from trnet.plan import describe_system, train_jobs, train_order
from trnet.train.config import config_to_dict, load_config

CPU = Path(__file__).resolve().parents[1] / "egs" / "emodb" / "conf" / "cpu"

ABLATIONS = {
    "trnet_abl_gradnorm": {"loss.weighting": "gradnorm"},
    "trnet_abl_nobridge": {"model.bridge": False},
    "trnet_abl_sraw": {"model.s_features": "raw"},
    "trnet_abl_ssigmoid": {"model.s_clamp": "sigmoid"},
    "trnet_abl_sframe": {"model.s_window": 31},
    "trnet_abl_cleanbypass": {"data.clean_through_se": False},
    "trnet_abl_zcrop": {"loss.z_clean_on": "crop"},
}
"""Ablation → the resolved keys (``section.key``) it changes from trnet_blendfun.yaml, and to
what."""


def flat(path: Path) -> dict[str, object]:
    """The resolved config (as training writes it) as ``section.key`` → value, no system."""
    raw = config_to_dict(load_config(path))
    del raw["system"]
    return {f"{s}.{k}": v for s, keys in raw.items() for k, v in keys.items()}


def test_each_ablation_is_trnet_blendfun_but_for_the_keys_it_names() -> None:
    assert {p.stem for p in CPU.glob("trnet_abl_*.yaml")} == set(ABLATIONS)
    assert len(ABLATIONS) <= 7
    trnet = flat(CPU / "trnet_blendfun.yaml")
    for name, changed in ABLATIONS.items():
        mine = flat(CPU / f"{name}.yaml")
        differ = {k for k in trnet.keys() | mine.keys() if trnet.get(k) != mine.get(k)}
        assert differ == set(changed), name
        assert {k: mine[k] for k in changed} == changed, name
        assert load_config(CPU / f"{name}.yaml").system == name


def test_ablations_train_after_baseline_c_with_the_se() -> None:
    systems = list(ABLATIONS)
    order = train_order(CPU, systems)
    assert order == ["baseline_clean", *systems]
    jobs = train_jobs(CPU, systems, [1, 2], ensemble=3)
    for name in systems:
        plan = describe_system(CPU, name)  # validated as training validates it
        assert plan.input == "blend" and plan.needs_se and plan.deps == ("baseline_clean",)
        mine = [job for job in jobs if job.system == name and job.fold == 2]
        assert len(mine) == 3  # one job per member of the 3-seed ensemble
        for job in mine:  # after every member of Baseline-c's same fold, nothing else
            waits = [jobs[i] for i in job.after]
            assert {(w.system, w.fold) for w in waits} == {("baseline_clean", 2)}
            assert len(waits) == 3
