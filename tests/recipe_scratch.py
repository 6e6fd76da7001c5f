"""A scratch recipe folder for the recipe tests: its files link to a recipe's (its outputs
are its own), the slim configs cut to a handful of epochs, and a condition dir per utterance
(to compare two runs' dumps whatever the order they were written in)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import kaldiio
import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "egs" / "iemocap"
# the recipes call `trnet`: the one installed beside the python that runs the tests
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
OUTPUTS = {"data", "dump", "exp", "db", "downloads"}


def fast_confs(src: Path, dst: Path) -> None:
    """The slim configs with a handful of epochs (this test checks plumbing, not accuracy)."""
    dst.mkdir(parents=True)
    for path in src.glob("*.yaml"):
        conf = yaml.safe_load(path.read_text())
        if path.name.startswith("se"):  # se.yaml trains; a pretrained front end has no train
            conf.get("train", {}).update(epochs=1, steps_per_epoch=5, dev_size=4)
        else:  # a system, or the defaults file of the systems (_base.yaml)
            conf.setdefault("train", {}).update(max_epochs=2)
        (dst / path.name).write_text(yaml.safe_dump(conf))


def scratch_recipe(src: Path, work: Path, skip: set[str] = OUTPUTS) -> Path:
    """A recipe folder whose files link to those of ``src`` (outputs are its own)."""
    work.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.name not in skip:
            (work / entry.name).symlink_to(entry.resolve())
    return work


def condition_per_key(recipe: Path, cond: str) -> tuple[dict, dict, dict, dict]:
    """A condition dir's tables (scp files aside), waveforms and matrices per utterance;
    cmvn.ark and the markers as bytes (the recipe folder's path in the mix's .done aside, and
    so the enhanced dir's digest of that .done)."""
    from trnet.audio import read_audio
    from trnet.io import read_kv

    d = Path("dump") / "iemocap" / cond
    old = os.getcwd()
    os.chdir(recipe)  # scp paths are relative to the recipe folder
    try:
        tables = {
            p.name: read_kv(p)
            for p in d.iterdir()
            if p.is_file() and "." not in p.name and p.name not in ("wav.scp", "feats.scp")
        }
        waves = {u: read_audio(s).tolist() for u, s in read_kv(d / "wav.scp").items()}
        mats = {u: m.tolist() for u, m in kaldiio.load_scp_sequential(str(d / "feats.scp"))}
    finally:
        os.chdir(old)
    marks = {n: (recipe / d / n).read_bytes() for n in ("cmvn.ark", ".feats.done", ".done")}
    marks[".done"] = marks[".done"].replace(str(recipe).encode(), b"RECIPE")
    if cond.endswith("_enh"):  # the digest of its source's .done, which names the folder
        done = json.loads(marks[".done"])
        assert len(done.pop("source")) == 64
        marks[".done"] = json.dumps(done, sort_keys=True).encode()
    return tables, waves, mats, marks
