#!/usr/bin/env python3
"""sha256 of a recipe run's stage outputs, and where two runs part.

    python tools/stage_hashes.py hash egs/iemocap > run.sha256
    python tools/stage_hashes.py compare run_a.sha256 egs/iemocap   # a hash file or a recipe dir

``hash`` lists, in pipeline order, every output that decides the tables: the mixed waveform
and feature arks with their CMVN (stage 2), the SE checkpoint (stage 3) and the enhanced
dumps, the SER checkpoints and clean embeddings (stage 4), the posteriors and hyps (stage 5),
the exported SE (stage 7); paths relative to the recipe dir (as in
``shared/repro/main-command-intel-*.sha256``). The header records the machine: CPU vendor and
model, Python, numpy and torch versions.

``compare`` prints, per stage, how many files agree and differ, and the first file (in
pipeline order) that differs: the first operation to look at is the one that wrote it.
Standard library only, so it runs with any Python.
"""

from __future__ import annotations

import hashlib
import platform
import re
import sys
from pathlib import Path

OUTPUTS = ("utt2snr", "wav.scp", "wav.ark", "feats.ark", "cmvn.ark")
"""A dump dir's files that hold numbers (clean has no utt2snr)."""
# (stage label, glob relative to the recipe dir); the order is the pipeline's
GROUPS: list[tuple[str, list[str]]] = [
    ("2 mix: clean", [f"dump/*/clean/{n}" for n in OUTPUTS[1:]]),
    (
        "2 mix: noisy",
        ["dump/*/*[0-9]/" + n for n in ("utt2snr", "wav.scp", "wav.ark", "feats.ark", "cmvn.ark")],
    ),
    ("3 SE model", ["exp/se/best.pt"]),
    (
        "3 enhance",
        ["dump/*/*_enh/" + n for n in ("utt2snr", "wav.scp", "wav.ark", "feats.ark", "cmvn.ark")],
    ),
    ("4 train: baseline_clean", ["exp/baseline_clean/fold*/best.pt"]),
    ("4 train: clean embeddings", ["exp/*/fold*/emb_clean.ark"]),
    ("4 train: other systems", ["exp/*/fold*/best.pt", "exp/*/fold*/member*/best.pt"]),
    ("5 decode", ["exp/*/decode/*/fold*/posteriors", "exp/*/decode/*/fold*/hyp"]),
    ("7 export", ["exp/*/package/se/best.pt"]),
]


def cpu_model() -> str:
    """Vendor and model name from /proc/cpuinfo (platform.processor() says only x86_64)."""
    vendor = model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "vendor_id" and not vendor:
                vendor = value.strip()
            elif key.strip() == "model name" and not model:
                model = value.strip()
    except OSError:
        pass
    return f"{vendor or '?'} / {model or platform.processor() or platform.machine()}"


def _versions() -> str:
    out = [f"Python {platform.python_version()}"]
    for name in ("numpy", "torch"):
        try:
            from importlib.metadata import version

            out.append(f"{name} {version(name)}")
        except Exception:  # noqa: BLE001 - a missing package is just not listed
            pass
    return ", ".join(out)


def ordered_files(root: Path) -> list[tuple[str, str]]:
    """(group, relative path) of the run's stage outputs, in pipeline order, each once."""
    seen: set[str] = set()
    out = []
    for group, patterns in GROUPS:
        for pattern in patterns:
            for path in sorted(root.glob(pattern)):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and rel not in seen:
                    seen.add(rel)
                    out.append((group, rel))
    return out


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_run(root: Path) -> dict[str, str]:
    return {rel: sha256(root / rel) for _, rel in ordered_files(root)}


def read_hashes(path: Path) -> dict[str, str]:
    """A hash file (``sha256  path`` lines, # comments) or a recipe dir (hashed now)."""
    if path.is_dir():
        return hash_run(path)
    table = {}
    for line in path.read_text().splitlines():
        m = re.fullmatch(r"([0-9a-f]{64})\s+(\S.*)", line.strip())
        if m:
            table[m.group(2)] = m.group(1)
    return table


def position(rel: str) -> tuple[int, int, str]:
    """Where a path comes in the pipeline: its group's index, its pattern's index in the
    group (a dump's audio before its features before its CMVN), and its group's label."""
    for i, (group, patterns) in enumerate(GROUPS):
        for j, pattern in enumerate(patterns):
            if Path(rel).match(pattern):
                return i, j, group
    return len(GROUPS), 0, "other"


def compare(a: dict[str, str], b: dict[str, str]) -> int:
    rows: dict[tuple[int, str], list[int]] = {}
    first = None
    for rel in sorted(set(a) | set(b), key=lambda r: (*position(r)[:2], r)):
        key = position(rel)[0], position(rel)[2]
        row = rows.setdefault(key, [0, 0, 0])
        if rel not in a or rel not in b:
            row[2] += 1
        elif a[rel] == b[rel]:
            row[0] += 1
        else:
            row[1] += 1
            first = first or rel
    print(f"{'stage':28} {'same':>6} {'differ':>7} {'in one only':>12}")
    for (_, group), (same, differ, one) in sorted(rows.items()):
        print(f"{group:28} {same:6d} {differ:7d} {one:12d}")
    print(f"first differing output: {first}" if first else "all shared outputs identical")
    return 1 if first else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "hash":
        root = Path(argv[1])
        print("# sha256 of a recipe run's stage outputs (tools/stage_hashes.py hash)")
        print(f"# machine: {cpu_model()}; {_versions()}")
        for rel, digest in hash_run(root).items():
            print(f"{digest}  {rel}")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(read_hashes(Path(argv[1])), read_hashes(Path(argv[2])))
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
