"""``trnet infer --plot DIR``: one PNG per input, its windows over time.

Panels, top to bottom: the four class probabilities of each window (points at the window's
centre; the file's probabilities in the legend), speech activity (each window's fraction
of active frames, its weight in the file's average), the SE's SNR estimate and s, each
only where the system has them (an SE; a blend input), with the file's value as a dashed
line. The title holds the input's name and its overall emotion.

File names come from the inputs' names (:func:`png_names`): the last path component
without its suffix, other characters than letters, digits and ``_.+-`` replaced, so a
name can never leave DIR; names that collide (case-insensitively) get a hash of the whole
input name. A PNG carries one metadata field, ``Software: trnet infer --plot``, and no
version or date: the same inputs give the same bytes. A file in DIR under a plot's name
that is not such a PNG is the user's: it is never replaced (:func:`plot_paths` refuses).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from trnet.errors import TrnetError
from trnet.infer.recognizer import Prediction

SOFTWARE = "trnet infer --plot"
"""The PNG's ``Software`` field: the mark of a plot that a later run may replace."""

MAX_STEM_BYTES = 160
"""Longest stem in UTF-8 bytes (a file name may hold 255)."""
_UNSAFE = re.compile(r"[^\w.+-]+")


def _stem(name: str) -> str:
    last = re.split(r"[/\\]", name.rstrip("/\\"))[-1]
    stem = last.rsplit(".", 1)[0] if "." in last.lstrip(".") else last
    stem = _UNSAFE.sub("_", stem).lstrip(".-")
    while len(stem.encode("utf-8")) > MAX_STEM_BYTES:
        stem = stem[:-1]
    return stem or "input"


def png_names(names: Sequence[str]) -> list[str]:
    """A PNG file name per input name (same order): plain characters only, unique among
    them whatever the case (a case-insensitive file system keeps them apart); a collision
    adds 8 hex digits of the name's sha1, a repeated name ``-2``, ``-3``, … in order."""
    stems = [_stem(n) for n in names]
    count = Counter(s.lower() for s in stems)
    out: list[str] = []
    taken: set[str] = set()
    for name, stem in zip(names, stems, strict=True):
        if count[stem.lower()] > 1:
            stem = f"{stem}-{hashlib.sha1(name.encode('utf-8', 'replace')).hexdigest()[:8]}"
        unique, k = stem, 2
        while unique.lower() in taken:
            unique, k = f"{stem}-{k}", k + 1
        taken.add(unique.lower())
        out.append(f"{unique}.png")
    return out


def is_timeline_png(path: Path) -> bool:
    """Whether ``path`` is a plain file written by ``trnet infer --plot`` (its PNG
    ``tEXt`` chunk ``Software``, which comes before the image data)."""
    if path.is_symlink() or not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.startswith(b"\x89PNG\r\n\x1a\n") and b"Software\x00" + SOFTWARE.encode() in head


def plot_paths(out_dir: Path, names: Sequence[str]) -> list[Path]:
    """The PNG path of each input in ``out_dir``; a file there under one of these names that
    ``trnet infer --plot`` did not write is a one-line error (checked before any work)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TrnetError(f"--plot {out_dir}: exists and is not a directory")
    paths = [out_dir / n for n in png_names(names)]
    for p in paths:
        if (p.exists() or p.is_symlink()) and not is_timeline_png(p):
            raise TrnetError(
                f"{p}: exists and is not a plot of {SOFTWARE}; not replaced (move it, or "
                "choose another --plot dir)"
            )
    return paths


def _short(name: str, width: int = 70) -> str:
    return name if len(name) <= width else "…" + name[-(width - 1) :]


def _tiles(pred: Prediction) -> list[float]:
    """Edges of each window's own span: the windows overlap, so each one is drawn from
    halfway to its neighbours' centres (the first from its start, the last to its end)."""
    wins = pred.windows
    centres = [(w.start + w.end) / 2 for w in wins]
    inner = [(a + b) / 2 for a, b in zip(centres, centres[1:], strict=False)]
    return [wins[0].start, *inner, wins[-1].end] if wins else []


def timeline_figure(pred: Prediction, classes: Sequence[str], system: str):
    """The matplotlib figure of one prediction (panels as in the module docstring)."""
    from trnet.scoring.figures import pyplot

    wins = pred.windows
    centres = [(w.start + w.end) / 2 for w in wins]
    has_snr = any(w.snr_db is not None for w in wins)
    has_s = any(w.s is not None for w in wins)
    panels = ["probs", "speech", *(["snr"] if has_snr else []), *(["s"] if has_s else [])]
    heights = {"probs": 3.0, "speech": 1.0, "snr": 1.4, "s": 1.1}
    plt = pyplot()
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(8.0, 1.2 + 0.9 * sum(heights[p] for p in panels)),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [heights[p] for p in panels]},
        layout="constrained",
    )
    ax_of = dict(zip(panels, axes[:, 0], strict=True))
    style = {"marker": "o", "markersize": 3, "linewidth": 1.2}

    ax = ax_of["probs"]
    colours = plt.get_cmap("tab10")
    if pred.note:
        ax.text(0.5, 0.5, pred.note, ha="center", va="center", transform=ax.transAxes)
    else:
        for k, c in enumerate(classes):
            ys = [w.probs[c] for w in wins]
            overall = pred.probs[c]
            ax.plot(centres, ys, color=colours(k), label=f"{c} {overall:.2f}", **style)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="file")
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("probability")

    ax = ax_of["speech"]
    edges = _tiles(pred)
    lefts, widths = edges[:-1], [b - a for a, b in zip(edges, edges[1:], strict=False)]
    ax.bar(lefts, [w.speech for w in wins], widths, align="edge", color="grey", alpha=0.5)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("speech")

    for key, label, overall in (("snr", "SNR est. (dB)", pred.snr_db), ("s", "s", pred.s)):
        if key not in ax_of:
            continue
        ax = ax_of[key]
        vals = [getattr(w, "snr_db" if key == "snr" else "s") for w in wins]
        pts = [(x, v) for x, v in zip(centres, vals, strict=True) if v is not None]
        ax.plot([x for x, _ in pts], [v for _, v in pts], color="tab:purple", **style)
        if overall is not None:
            ax.axhline(overall, color="tab:purple", linestyle="--", linewidth=0.8)
        if key == "s":
            ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(label)

    last = axes[-1, 0]
    last.set_xlim(0, max(pred.duration, centres[-1] if centres else 0.0))
    n = len(wins)
    last.set_xlabel(f"time (s); points at window centres ({n} window{'s' if n != 1 else ''})")
    for ax in axes[:, 0]:
        ax.grid(alpha=0.3)
    best = "" if pred.note else f" ({pred.probs[pred.label]:.2f})"
    headline = f"{_short(pred.name)}: {pred.label}{best}"
    fig.suptitle(f"{headline}\n{system}, {pred.duration:.1f} s", fontsize=10)
    return fig


def draw_timeline(pred: Prediction, classes: Sequence[str], path: Path, system: str) -> Path:
    """Write the timeline of one prediction to ``path`` (PNG); returns ``path``."""
    from trnet.scoring.figures import save_png

    return save_png(timeline_figure(pred, classes, system), path, SOFTWARE)


def write_timelines(
    paths: Sequence[Path],
    results: Sequence[Prediction | TrnetError],
    classes: Sequence[str],
    system: str,
) -> list[Path]:
    """The PNG of each input that has a prediction, at its path of :func:`plot_paths`
    (failed inputs have none); returns the paths written."""
    written = []
    for path, res in zip(paths, results, strict=True):
        if isinstance(res, Prediction):
            written.append(draw_timeline(res, classes, path, system))
    return written
