"""``make_corpus``: the generated IEMOCAP-, ESC-50- and MUSAN-layout corpora under one folder.

    DEST/IEMOCAP_full_release/   DEST/ESC-50-master/   DEST/musan/   DEST/TRNET_GENERATED

``TRNET_GENERATED`` (json: generator, version, size, seed, utts_per_speaker) is written
last; while generating, ``TRNET_GENERATED.partial`` holds the same json, so an interrupted
run is recognised as ours and simply redone. A folder is only ever deleted when a marker
says this generator made it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from trnet.contract import GENERATED_MARKER
from trnet.errors import TrnetError, overwrite_hint
from trnet.io import atomic_write
from trnet.synth_corpus.esc50_layout import TARGETS, write_esc50
from trnet.synth_corpus.iemocap_layout import write_iemocap
from trnet.synth_corpus.musan_layout import write_musan

MARKER = GENERATED_MARKER
CORPUS_VERSION = 1
"""Bumped whenever the generator's output changes for the same size and seed."""
SUBDIRS = {"iemocap": "IEMOCAP_full_release", "esc50": "ESC-50-master", "musan": "musan"}
SIZES = {
    "tiny": {
        "dialogs_per_session": 2,
        "utts_per_speaker": 12,
        "dur_range": (1.0, 2.0),
        "esc50_categories": 8,
        "esc50_clips_per_fold": 1,
        "musan_noise": 9,
        "musan_music": 3,
        "musan_speech": 16,
        "readers": 6,
    },
    "small": {
        "dialogs_per_session": 4,
        "utts_per_speaker": 40,
        "dur_range": (1.5, 3.0),
        "esc50_categories": 11,
        "esc50_clips_per_fold": 2,
        "musan_noise": 18,
        "musan_music": 6,
        "musan_speech": 60,
        "readers": 8,
    },
}


def corpus_paths(dest: Path) -> dict[str, Path]:
    """Where the parts of a generated corpus lie (``iemocap``, ``esc50``, ``musan``, ``marker``)."""
    paths = {key: dest / name for key, name in SUBDIRS.items()}
    paths["marker"] = dest / MARKER
    return paths


def corpus_args(size: str, seed: int, utts_per_speaker: int | None = None) -> dict:
    """The marker's content for these arguments (checks them)."""
    if size not in SIZES:
        raise TrnetError(f"--size: {size!r} is not one of {', '.join(SIZES)}")
    if utts_per_speaker is not None and utts_per_speaker < 5:
        raise TrnetError(f"utts_per_speaker: {utts_per_speaker} is too few (at least 5)")
    per_speaker = utts_per_speaker or SIZES[size]["utts_per_speaker"]
    return {
        "generator": "trnet make-corpus",
        "version": CORPUS_VERSION,
        "size": size,
        "seed": int(seed),
        "utts_per_speaker": per_speaker,
    }


def read_marker(dest: Path, partial: bool = False) -> dict | None:
    """The json of ``DEST/TRNET_GENERATED`` (or of the ``.partial`` one), None if absent."""
    path = dest / (MARKER + (".partial" if partial else ""))
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise TrnetError(f"{path}: not a valid marker file (json expected)") from None


def is_complete(dest: Path, args: dict) -> bool:
    """True when ``dest`` holds a finished corpus made with exactly these arguments."""
    return read_marker(dest) == args


def _describe(marker: dict) -> str:
    return f"size={marker.get('size')} seed={marker.get('seed')} version={marker.get('version')}"


def _make_room(dest: Path, args: dict, overwrite: bool) -> None:
    """Check that ``dest`` may receive the corpus; delete an older generated one if allowed."""
    if dest.exists() and not dest.is_dir():
        raise TrnetError(f"{dest}: exists and is not a directory")
    ours = read_marker(dest) or read_marker(dest, partial=True)
    if ours is not None:
        if ours == args:  # an interrupted run with the same arguments: redo it in place
            return
        if not overwrite:
            raise TrnetError(
                f"{dest}: holds a generated corpus made with {_describe(ours)}, not "
                f"{_describe(args)}; {overwrite_hint()}"
            )
        for name in SUBDIRS.values():
            shutil.rmtree(dest / name, ignore_errors=True)
        for marker in (dest / MARKER, dest / f"{MARKER}.partial"):
            marker.unlink(missing_ok=True)
        return
    if dest.is_dir() and any(dest.iterdir()):
        if not overwrite:
            raise TrnetError(
                f"{dest}: exists and holds files not made by trnet make-corpus; choose an "
                "empty or new folder (--overwrite adds the corpus beside them)"
            )
        taken = [name for name in SUBDIRS.values() if (dest / name).exists()]
        if taken:
            raise TrnetError(
                f"{dest / taken[0]}: exists and was not made by trnet make-corpus; "
                "it will not be deleted, move it away first"
            )


def _write_marker(path: Path, args: dict) -> None:
    with atomic_write(path) as f:
        json.dump(args, f, indent=2, sort_keys=True)
        f.write("\n")


def make_corpus(
    dest: Path,
    size: str = "small",
    seed: int = 0,
    utts_per_speaker: int | None = None,
    overwrite: bool = False,
) -> dict[str, Path]:
    """Generate (or find complete) the corpora under ``dest``; return :func:`corpus_paths`.

    Same arguments give byte-identical files. ``utts_per_speaker`` overrides the size's
    number of 4-class utterances per speaker (tests use it for a quicker corpus).
    """
    dest = Path(dest)
    args = corpus_args(size, seed, utts_per_speaker)
    paths = corpus_paths(dest)
    if is_complete(dest, args):
        return paths
    _make_room(dest, args, overwrite)
    dest.mkdir(parents=True, exist_ok=True)
    _write_marker(dest / f"{MARKER}.partial", args)
    cfg = SIZES[size]
    write_iemocap(
        paths["iemocap"],
        seed,
        cfg["dialogs_per_session"],
        args["utts_per_speaker"],
        cfg["dur_range"],
    )
    categories = list(TARGETS)[: cfg["esc50_categories"]]
    write_esc50(paths["esc50"], seed, categories, cfg["esc50_clips_per_fold"])
    write_musan(
        paths["musan"],
        seed,
        cfg["musan_noise"],
        cfg["musan_music"],
        cfg["musan_speech"],
        cfg["readers"],
    )
    _write_marker(paths["marker"], args)
    (dest / f"{MARKER}.partial").unlink()
    return paths
