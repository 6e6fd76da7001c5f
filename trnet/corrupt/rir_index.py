"""The RIR index: a folder of room impulse responses as a Kaldi-style dir with each RIR's
*measured* RT60 and DRR (:mod:`trnet.corrupt.rir`) and its RT60 bin.

Sources: the OpenSLR RIRS_NOISES layout (a folder holding ``simulated_rirs/`` and/or
``real_rirs_isotropic_noises/``) or any folder of wavs. In the OpenSLR layout each part's
``rir_list`` files name the RIRs (``--rir-id ID --room-id ROOM ... PATH``, PATH relative
to the folder above RIRS_NOISES; the isotropic noises beside the real RIRs are in
``noise_list`` and are left out); a part without a ``rir_list`` contributes all its wavs.
Elsewhere every ``*.wav`` below the folder is an RIR, its id the path below the folder
without ``.wav`` and with ``/`` as ``-``, its room the folder it is in.

The dir holds ``wav.scp`` (id → absolute path), ``utt2spk`` (id → room, so ``spk2utt``
groups an RIR's room), ``rir2rt60`` (s), ``rir2drr`` (dB), ``rir2bin`` (:data:`RT60_BINS`,
``below-0.2`` / ``above-1.2`` outside them), ``rir2stamp`` (the file's size and mtime when
measured) and ``rir.json`` (how the values were measured). A multi-channel RIR is measured
and used by its first channel, at 16 kHz.

Resumable: measured values are saved beside the dir every :data:`CHECKPOINT_EVERY` RIRs
(``.<name>.partial``) and an RIR whose file has the stamp it was measured with is not
measured again, on a rerun after a kill or of a finished index; the dir is replaced in one
step when complete, and left untouched when nothing changed.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from trnet.contract import SAMPLE_RATE
from trnet.corrupt.rir import DIRECT_MS, FIT_DB, read_rir
from trnet.data.datadir import ID_RULE, DataDir, check_utf8_name, confined, is_valid_id
from trnet.errors import TrnetError
from trnet.io import atomic_write, read_kv
from trnet.noise.index import Skipped, _same_files

OPENSLR_PARTS = ("simulated_rirs", "real_rirs_isotropic_noises")
RT60_BINS = ((0.2, 0.4), (0.4, 0.7), (0.7, 1.2))
"""RT60 bins in seconds, each ``[low, high)``."""
RIR_JSON = "rir.json"
CHECKPOINT_EVERY = 200
METHOD = {
    "rt60": f"T20: Schroeder EDC fit {FIT_DB[0]:g}..{FIT_DB[1]:g} dB, x3; noise-floor cut",
    "drr": f"direct path +-{DIRECT_MS:g} ms around the peak / the rest",
    "channel": 0,
    "sample_rate": SAMPLE_RATE,
    "bins": [list(b) for b in RT60_BINS],
}
_console = Console(stderr=True)


@dataclass(frozen=True)
class Source:
    """An RIR file to index: its id, path and room."""

    id: str
    path: Path
    room: str


@dataclass(frozen=True)
class Measured:
    """An indexed RIR: its source, the file's stamp and what was measured."""

    source: Source
    stamp: str
    rt60: float
    drr: float

    @property
    def bin(self) -> str:
        return rt60_bin(self.rt60)


def rt60_bin(rt60: float) -> str:
    """``"0.4-0.7"`` for 0.55 s; ``"below-0.2"``, ``"above-1.2"`` outside :data:`RT60_BINS`."""
    for lo, hi in RT60_BINS:
        if lo <= rt60 < hi:
            return f"{lo:g}-{hi:g}"
    return f"below-{RT60_BINS[0][0]:g}" if rt60 < RT60_BINS[0][0] else f"above-{RT60_BINS[-1][1]:g}"


def find_rirs(root: str | os.PathLike) -> tuple[list[Source], list[Skipped]]:
    """The RIRs under ``root`` (see the module doc), each id valid and once; the rest skipped."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise TrnetError(f"{root}: RIR folder not found")
    parts = [root / p for p in OPENSLR_PARTS if (root / p).is_dir()]
    found: list[tuple[str, Path, str]] = []
    skipped: list[Skipped] = []
    for folder in parts or [root]:
        lists = sorted(folder.rglob("rir_list")) if parts else []
        if lists:
            for rir_list in lists:
                found += _read_rir_list(rir_list, root, folder.name, skipped)
        else:
            found += [_by_path(p, root) for p in sorted(folder.rglob("*.wav"))]
    sources: dict[str, Source] = {}
    for rir_id, path, room in found:
        if not is_valid_id(rir_id) or not is_valid_id(room):
            skipped.append(Skipped(path, f"id {rir_id!r} or room {room!r} not allowed ({ID_RULE})"))
        elif rir_id in sources:
            skipped.append(Skipped(path, f"duplicate RIR id {rir_id} ({sources[rir_id].path})"))
        else:
            sources[rir_id] = Source(rir_id, path, room)
    return list(sources.values()), skipped


def _by_path(path: Path, root: Path) -> tuple[str, Path, str]:
    rel = check_utf8_name(path).relative_to(root).with_suffix("")
    room = "-".join(rel.parent.parts) or rel.name
    return "-".join(rel.parts), path, room


def _read_rir_list(
    rir_list: Path, root: Path, part: str, skipped: list[Skipped]
) -> list[tuple[str, Path, str]]:
    """``(id, path, room)`` per line of a Kaldi ``rir_list``; a line without ``--rir-id`` or
    a path, or whose path is outside ``root``, is skipped."""
    found = []
    text = rir_list.read_text(encoding="utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        opts = dict(zip(fields[:-1:2], fields[1:-1:2], strict=True)) if len(fields) % 2 else {}
        rir_id, listed = opts.get("--rir-id"), Path(fields[-1])
        if not rir_id or listed.suffix != ".wav":
            why = "expected --rir-id ID [--opt value ...] PATH.wav"
            skipped.append(Skipped(Path(f"{rir_list}:{lineno}"), why))
            continue
        # PATH is relative to the folder above RIRS_NOISES: take what follows the part
        after = listed.parts[listed.parts.index(part) + 1 :] if part in listed.parts else None
        try:
            path = (
                confined(root / part, str(Path(*after))) if after else confined(root, str(listed))
            )
        except TrnetError:
            skipped.append(Skipped(Path(f"{rir_list}:{lineno}"), f"{listed} is outside {root}"))
            continue
        found.append((rir_id, path, opts.get("--room-id", rir_id)))
    return found


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.partial")


Known = dict[tuple[str, str], tuple[float, float]]
"""(path, stamp) → (rt60, drr)."""


def _known(dest: Path) -> Known:
    """What was measured before with today's :data:`METHOD`: in a finished index at
    ``dest`` and in the checkpoint of an interrupted one."""
    known: Known = {}
    names = ("wav.scp", "rir2stamp", "rir2rt60", "rir2drr")
    if all((dest / n).is_file() for n in (*names, RIR_JSON)):
        if _read_json(dest / RIR_JSON) == METHOD:
            scp, stamp, rt60, drr = (read_kv(dest / n) for n in names)
            for rid in scp.keys() & stamp.keys() & rt60.keys() & drr.keys():
                known[scp[rid], stamp[rid]] = float(rt60[rid]), float(drr[rid])
    partial = _read_json(_partial(dest))
    if partial.get("method") == METHOD:
        for path, (stamp, rt60, drr) in partial.get("measured", {}).items():
            known[path, stamp] = float(rt60), float(drr)
    return known


def _read_json(path: Path) -> dict:
    """A JSON object, or ``{}`` for a missing or damaged file (then nothing is reused)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _checkpoint(done: list[Measured], dest: Path) -> None:
    measured = {str(m.source.path): [m.stamp, m.rt60, m.drr] for m in done}
    with atomic_write(_partial(dest)) as f:
        json.dump({"method": METHOD, "measured": measured}, f)


def measure_rirs(sources: list[Source], dest: Path) -> tuple[list[Measured], list[Skipped]]:
    """Each source measured (RT60 to ms, DRR to 0.01 dB), or reused from an earlier run
    (:func:`_known`); new values checkpointed beside ``dest`` every
    :data:`CHECKPOINT_EVERY` RIRs."""
    known = _known(dest)
    done: list[Measured] = []
    skipped: list[Skipped] = []
    fresh = 0
    for src in sources:
        try:
            stamp = _stamp(src.path)
        except OSError:
            skipped.append(Skipped(src.path, "missing"))
            continue
        if (str(src.path), stamp) in known:
            rt60, drr = known[str(src.path), stamp]
        else:
            try:
                rir = read_rir(src.path)
            except TrnetError as err:
                skipped.append(Skipped(src.path, str(err).removeprefix(f"{src.path}: ")))
                continue
            rt60, drr = round(rir.rt60, 3), round(rir.drr, 2)
            fresh += 1
            if fresh % CHECKPOINT_EVERY == 0:
                _checkpoint(done, dest)
        done.append(Measured(src, stamp, rt60, drr))
    return done, skipped


def write_rir_index(measured: list[Measured], dest: Path) -> None:
    """The index dir at ``dest``, replaced in one step once complete, and only when it
    differs from what is there (a rerun leaves it untouched)."""
    tables = {
        "wav.scp": {m.source.id: str(m.source.path) for m in measured},
        "utt2spk": {m.source.id: m.source.room for m in measured},
        "rir2rt60": {m.source.id: f"{m.rt60:.3f}" for m in measured},
        "rir2drr": {m.source.id: f"{m.drr:.2f}" for m in measured},
        "rir2bin": {m.source.id: m.bin for m in measured},
        "rir2stamp": {m.source.id: m.stamp for m in measured},
    }
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    DataDir(tables=tables).write(tmp)
    with atomic_write(tmp / RIR_JSON) as f:
        f.write(json.dumps(METHOD, indent=1) + "\n")
    if _same_files(tmp, dest):
        shutil.rmtree(tmp)
        return
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)


def build_rir_index(
    root: str | os.PathLike, out: str | os.PathLike
) -> tuple[list[Measured], list[Skipped]]:
    """Index the RIRs under ``root`` into the dir ``out``; each skipped file is one warning."""
    dest = Path(out)
    if dest.exists() and not (dest / RIR_JSON).is_file() and any(dest.iterdir()):
        raise TrnetError(
            f"{dest}: exists and is not an RIR index (no {RIR_JSON}); give a new --out"
        )
    sources, skipped = find_rirs(root)
    measured, bad = measure_rirs(sources, dest)
    skipped += bad
    for skip in skipped:
        _console.print(f"[yellow]warning:[/] skipped {skip.path}: {skip.why}", highlight=False)
    if not measured:
        raise TrnetError(f"{root}: no usable RIRs, nothing to index")
    write_rir_index(measured, dest)
    _partial(dest).unlink(missing_ok=True)
    return measured, skipped


def summary_rows(measured: list[Measured]) -> list[tuple[str, int, float, float]]:
    """(bin, RIRs, mean RT60 s, mean DRR dB) per RT60 bin present, shortest first."""
    by_bin: dict[str, list[Measured]] = {}
    for m in sorted(measured, key=lambda m: m.rt60):
        by_bin.setdefault(m.bin, []).append(m)
    rows = []
    for name, group in by_bin.items():
        drrs = [m.drr for m in group if math.isfinite(m.drr)]
        mean_drr = sum(drrs) / len(drrs) if drrs else math.nan
        rows.append((name, len(group), sum(m.rt60 for m in group) / len(group), mean_drr))
    return rows
