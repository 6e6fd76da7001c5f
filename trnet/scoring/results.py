"""Systems × conditions comparison and ESPnet-style ``RESULTS.md`` for an ``exp/`` dir; what
``trnet score``, ``compare`` and ``results`` do (the commands parse options and print)."""

from __future__ import annotations

import datetime
import os
import subprocess
from pathlib import Path

from trnet.contract import CLEAN, generated_what
from trnet.errors import TrnetError
from trnet.scoring.bootstrap import Diff, compare_to_reference
from trnet.scoring.decode_dir import DecodeDir, find_decode_dirs, load_all
from trnet.scoring.spread import paired_spread_table, spread_table
from trnet.scoring.tables import (
    Cell,
    TextTable,
    aggregate,
    grid_tables,
    score_decode_dir,
    systems_table,
    table_columns,
    write_grid,
    write_text,
)
from trnet.stage import lock

SYSTEM_ORDER = (
    "baseline_clean",
    "baseline_noisy",
    "baseline_enhanced",
    "trnet",
    "trnet_wo_low",
    "trnet_wo_high",
)
DEFAULT_REF = "baseline_noisy"
NOISE_SPLIT = (
    "matched noise ESC-50: folds 1-3 train, fold 4 dev, fold 5 test; "
    "unmatched noise MUSAN noise (never seen in training)"
)


def group_by_system(dirs: list[DecodeDir]) -> dict[str, list[DecodeDir]]:
    """Decode dirs by system, the paper's systems first in the paper's order."""
    groups: dict[str, list[DecodeDir]] = {}
    for d in dirs:
        groups.setdefault(d.system, []).append(d)

    def key(name: str) -> tuple[int, str]:
        return (SYSTEM_ORDER.index(name), "") if name in SYSTEM_ORDER else (len(SYSTEM_ORDER), name)

    return {name: groups[name] for name in sorted(groups, key=key)}


def corpus_tag(dirs: list[DecodeDir]) -> str:
    """A prefix for every caption: ``GENERATED corpus: `` when any decode says its speech is
    generated, else ``GENERATED noise: `` when any says its noise is."""
    what = generated_what(any(d.generated for d in dirs), any(d.noise_generated for d in dirs))
    return f"{what}: " if what else ""


def resolve_ref(ref: str | None, systems: list[str]) -> str:
    """The reference system by name (a path's last part is accepted too)."""
    if ref is None:
        return DEFAULT_REF if DEFAULT_REF in systems else systems[0]
    name = ref if ref in systems else Path(ref.rstrip("/")).name
    if name not in systems:
        raise TrnetError(
            f"--ref: system {ref!r} not among the scored systems ({' '.join(systems)})"
        )
    return name


def fmt_diff(diff: Diff | None) -> str:
    if diff is None:
        return "-"
    star = " *" if diff.significant else ""
    return f"{100 * diff.delta:+.2f} [{100 * diff.low:+.2f}, {100 * diff.high:+.2f}]{star}"


def bootstrap_table(
    groups: dict[str, list[DecodeDir]], ref: str, n_boot: int, seed: int, tag: str = ""
) -> TextTable:
    """ΔUAR of each system to ``ref`` per condition and noisy average, with 95% CIs."""
    columns = table_columns([d.condition for dirs in groups.values() for d in dirs])
    averages = [(name, group) for name, group in columns if name.endswith(" avg")]
    header = ["system", *(name for name, _ in columns)]
    rows = []
    for name, dirs in groups.items():
        if name == ref:
            continue
        diffs = compare_to_reference(dirs, groups[ref], averages, n_boot, seed)
        rows.append([name, *(fmt_diff(diffs.get(c)) for c in header[1:])])
    caption = (
        f"{tag}UAR difference to {ref} in % points, paired bootstrap 95% CI "
        f"({n_boot} resamples of utterances within each fold, seed {seed}); * = CI excludes 0"
    )
    return TextTable(header, rows, caption=caption)


def comparison_tables(
    groups: dict[str, list[DecodeDir]],
    cells: dict[str, dict[str, Cell]],
    ref: str,
    n_boot: int,
    seed: int,
    tag: str = "",
) -> list[TextTable]:
    """The paper's Table 1 (UAR, WAR), the bootstrap comparison to ``ref``, then the spread
    between folds: UAR mean ± std, and the fold-paired difference to ``ref``."""
    tables = [systems_table(cells, m, tag) for m in ("uar", "war")]
    if len(groups) > 1:
        tables.append(bootstrap_table(groups, ref, n_boot, seed, tag))
    tables.append(spread_table(cells, "uar", tag))
    if len(groups) > 1:
        tables.append(paired_spread_table(cells, ref, "uar", tag))
    return tables


def write_comparison(tables: list[TextTable], prefix: Path) -> tuple[Path, Path]:
    """``<prefix>.tsv`` (tables one after another, each under ``# caption``) and ``.md``."""
    tsv = "\n".join(f"# {t.caption}\n{t.to_tsv()}" for t in tables)
    md = "\n".join(t.to_markdown() for t in tables)
    return (
        write_text(prefix.with_suffix(".tsv"), tsv),
        write_text(prefix.with_suffix(".md"), md),
    )


def git_hash() -> str:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "-"
    return out.stdout.strip() or "-"


def _environment_md() -> list[str]:
    from trnet import determinism
    from trnet.versions import environment

    env = environment()
    numerics = determinism.describe()
    return [
        "## Environments",
        f"- date: `{datetime.datetime.now().astimezone().strftime('%a %b %d %H:%M:%S %Z %Y')}`",
        f"- python version: `{env['python']}`",
        f"- torch version: `{env['torch']}`",
        f"- torchaudio version: `{env['torchaudio']}`",
        f"- trnet version: `{env['trnet']}`",
        f"- Git hash: `{git_hash()}`",
        f"- deterministic mode (`{determinism.SWITCH}`, the recipe's `--deterministic`): "
        f"`{numerics.pop('deterministic')}`",
        *(f"- {name}: `{value}`" for name, value in numerics.items()),
        "",
    ]


def _protocol_md(dirs: list[DecodeDir]) -> list[str]:
    corpora = sorted({d.corpus for d in dirs})
    folds = sorted({d.fold for d in dirs}, key=lambda f: (len(f), f))
    noisy = [d for d in dirs if not d.corruption]
    snrs = sorted({d.snr for d in noisy if d.snr != CLEAN}, key=lambda s: -float(s))
    noises = sorted({d.noise for d in noisy if d.noise != CLEAN})
    corrupted = sorted({d.condition for d in dirs if d.corruption})
    noise_generated = any(d.noise_generated for d in dirs)
    if any(d.generated for d in dirs):
        generated = (
            "**GENERATED corpus** (synthetic speech in IEMOCAP's layout, not IEMOCAP: "
            "numbers are not comparable to the paper)"
        )
    else:
        generated = (
            "real speech corpus (not generated)"
            if noise_generated
            else "real corpus (not generated)"
        )
    if noise_generated:
        generated += "; noise: **GENERATED** (synthetic ESC-50/MUSAN-layout noise corpora)"
    return [
        "## Protocol",
        f"- corpus: {', '.join(corpora)}; {generated}",
        f"- classes: {' '.join(dirs[0].classes)}",
        f"- folds scored: {', '.join(folds)}",
        f"- noise: {NOISE_SPLIT}; scored noise sets: {', '.join(noises) or '-'}",
        f"- SNRs (dB): clean, {', '.join(snrs)}",
        *(
            [f"- corruption conditions (not in the noisy averages): {', '.join(corrupted)}"]
            if corrupted
            else []
        ),
        "- metrics: UAR = unweighted average recall (macro recall over classes present), "
        "WAR = accuracy, in %; Table: mean over folds; grids: mean ± std over folds "
        "(std ddof=0) and pooled over folds (all utterances of all folds together)",
        "",
    ]


def score_tree(roots: list[str | os.PathLike], allow_partial: bool = False) -> list[DecodeDir]:
    """Load and score every decode dir under ``roots`` (writes scores.json, summary...)."""
    dirs = load_all(roots, allow_partial)
    for d in dirs:
        score_decode_dir(d)
    return dirs


def score_roots(
    roots: list[Path], allow_partial: bool = False
) -> tuple[list[DecodeDir], list[str]]:
    """``trnet score``/``compare``: score the decode dirs under ``roots``, and what was
    skipped. With one root, a root holding no decode dir is the error; with several, such a
    root is only skipped (its error returned, one line each) unless all are."""
    kept, skipped = [], []
    for root in roots:
        try:
            find_decode_dirs(root)
            kept.append(root)
        except TrnetError as err:
            if len(roots) == 1:
                raise
            skipped.append(f"skipped: {err}")
    if not kept:
        raise TrnetError(f"{' '.join(map(str, roots))}: no decode dirs found (no 'hyp' file)")
    return score_tree(kept, allow_partial), skipped


def compare_systems(
    dirs: list[DecodeDir], ref: str | None, n_boot: int, seed: int, out: Path | None = None
) -> tuple[list[TextTable], tuple[Path, Path]]:
    """The comparison of the systems of ``dirs`` to ``ref`` (:func:`comparison_tables`),
    written to ``<out>.{tsv,md}`` (default: ``compare`` in the dir holding every system's
    decode dirs); returns the tables and the two files."""
    groups = group_by_system(dirs)
    cells = {name: aggregate(ds) for name, ds in groups.items()}
    ref = resolve_ref(ref, list(groups))
    tables = comparison_tables(groups, cells, ref, n_boot, seed, corpus_tag(dirs))
    if out is None:
        system_roots = [Path(os.path.commonpath([d.path for d in ds])) for ds in groups.values()]
        out = Path(os.path.commonpath(system_roots)) / "compare"
    return tables, write_comparison(tables, out)


def system_grids(dirs: list[DecodeDir]) -> list[tuple[list[TextTable], tuple[Path, Path]]]:
    """Each system of ``dirs`` with two decode dirs or more: its noise × SNR grid tables,
    written as ``scores_grid.{tsv,json}`` in the dir holding its decode dirs."""
    tag = corpus_tag(dirs)
    grids = []
    for name, ds in group_by_system(dirs).items():
        if len(ds) < 2:
            continue
        cells = aggregate(ds)
        tables = grid_tables(cells, name, tag)
        grids.append(
            (tables, write_grid(cells, name, Path(os.path.commonpath([d.path for d in ds]))))
        )
    return grids


def _figure_line(fig, md_dir: Path) -> str:
    if fig.path is None:
        return f"- {fig.title}: skipped ({fig.note})"
    note = f" ({fig.note})" if fig.note else ""
    return f"- {fig.title}{note}: ![{fig.title}]({os.path.relpath(fig.path, md_dir)})"


def build_results(
    exp_dir: Path,
    out: Path | None = None,
    ref: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    allow_partial: bool = False,
    figures: bool = True,
) -> tuple[Path, list[TextTable]]:
    """Score everything under ``exp_dir`` and write RESULTS.md; returns it and Table 1."""
    exp_dir = Path(exp_dir)
    if not exp_dir.is_dir():  # nothing to lock: the scoring names what is missing
        return _build_results(exp_dir, out, ref, n_boot, seed, allow_partial, figures)
    with lock(exp_dir):
        return _build_results(exp_dir, out, ref, n_boot, seed, allow_partial, figures)


def _build_results(
    exp_dir: Path,
    out: Path | None,
    ref: str | None,
    n_boot: int,
    seed: int,
    allow_partial: bool,
    figures: bool,
) -> tuple[Path, list[TextTable]]:
    out = out or exp_dir / "RESULTS.md"
    dirs = score_tree([exp_dir], allow_partial)
    groups = group_by_system(dirs)
    cells = {name: aggregate(ds) for name, ds in groups.items()}
    for name, ds in groups.items():
        write_grid(cells[name], name, Path(os.path.commonpath([d.path for d in ds])))
    ref = resolve_ref(ref, list(groups))
    tag = corpus_tag(dirs)
    tables = comparison_tables(groups, cells, ref, n_boot, seed, tag)
    write_comparison(tables, exp_dir / "compare")
    title = "# RESULTS" + (f" — {tag.removesuffix(': ')}" if tag else "")
    if any(d.generated for d in dirs):
        title += " (not IEMOCAP)"
    lines = [title, "", *_environment_md(), *_protocol_md(dirs)]
    lines += ["## Systems × conditions", ""]
    lines += [t.to_markdown() for t in tables[:2]]
    n_main = 2
    if len(groups) > 1:
        lines += [f"## Comparison to {ref}", "", tables[2].to_markdown()]
        n_main = 3
    lines += ["## Spread between folds", "", *(t.to_markdown() for t in tables[n_main:])]
    heading = "## Noise × SNR grids per system"
    if any(d.corruption for d in dirs):
        heading = "## Noise × SNR grids and corruption × level tables per system"
    lines += [heading, ""]
    for name in groups:
        lines += [f"### {name}", ""] + [
            t.to_markdown() for t in grid_tables(cells[name], name, tag)
        ]
    if figures:
        from trnet.scoring.figures import make_figures

        lines += ["## Figures", ""]
        lines += [
            _figure_line(f, out.parent)
            for f in make_figures(groups, cells, exp_dir / "figures", tag, seed)
        ]
        lines.append("")
    write_text(out, "\n".join(lines))
    return out, tables[:2]
