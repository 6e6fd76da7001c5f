"""``trnet score``, ``trnet compare``, ``trnet results``: UAR/WAR of decode dirs, RESULTS.md."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from trnet.errors import TrnetError

ALLOW_PARTIAL = typer.Option(
    False, "--allow-partial", help="Score a hyp that covers only part of ref (on the overlap)."
)
N_BOOT = typer.Option(
    1000, "--n-boot", help="Bootstrap resamples for the CI of the UAR difference."
)
SEED = typer.Option(0, "--seed", help="Seed of the bootstrap (and of t-SNE).")


def _collect(dirs: list[Path], allow_partial: bool):
    """Decode dirs under ``dirs``; with several arguments, one without any is only noted."""
    from rich.console import Console

    from trnet.scoring.decode_dir import find_decode_dirs
    from trnet.scoring.results import score_tree

    roots = []
    for d in dirs:
        try:
            find_decode_dirs(d)
            roots.append(d)
        except TrnetError as err:
            if len(dirs) == 1:
                raise
            Console(stderr=True).print(f"skipped: {err}", highlight=False)
    if not roots:
        raise TrnetError(f"{' '.join(map(str, dirs))}: no decode dirs found (no 'hyp' file)")
    return score_tree(roots, allow_partial)


def _compare(dirs, ref: str | None, n_boot: int, seed: int, out: Path | None, console) -> None:
    from trnet.scoring.results import (
        comparison_tables,
        corpus_tag,
        group_by_system,
        resolve_ref,
        write_comparison,
    )
    from trnet.scoring.tables import aggregate

    groups = group_by_system(dirs)
    cells = {name: aggregate(ds) for name, ds in groups.items()}
    ref = resolve_ref(ref, list(groups))
    tables = comparison_tables(groups, cells, ref, n_boot, seed, corpus_tag(dirs))
    for table in tables:
        console.print(table.for_terminal(console.width))
    if out is None:
        system_roots = [Path(os.path.commonpath([d.path for d in ds])) for ds in groups.values()]
        out = Path(os.path.commonpath(system_roots)) / "compare"
    tsv, md = write_comparison(tables, out)
    console.print(f"wrote {tsv} and {md}", highlight=False)


def _grids(dirs, console) -> None:
    from trnet.scoring.results import corpus_tag, group_by_system
    from trnet.scoring.tables import aggregate, grid_tables, write_grid

    tag = corpus_tag(dirs)
    for name, ds in group_by_system(dirs).items():
        if len(ds) < 2:
            continue
        cells = aggregate(ds)
        for table in grid_tables(cells, name, tag):
            console.print(table.for_terminal(console.width))
        tsv, js = write_grid(cells, name, Path(os.path.commonpath([d.path for d in ds])))
        console.print(f"wrote {tsv} and {js}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def score(
        dirs: list[Path] = typer.Argument(
            ..., help="Decode dirs, or dirs holding them at any depth."
        ),
        allow_partial: bool = ALLOW_PARTIAL,
        ref: str = typer.Option(
            None, "--ref", help="Reference system of the comparison (default baseline_noisy)."
        ),
        n_boot: int = N_BOOT,
        seed: int = SEED,
        out: Path = typer.Option(None, "--out", help="Prefix of the comparison files (.tsv, .md)."),
    ) -> None:
        """Score decode dirs: one in detail, a system as noise × SNR grid, systems as a table."""
        from rich.console import Console

        from trnet.scoring.results import group_by_system
        from trnet.scoring.tables import decode_dir_tables, score_decode_dir, summary_line

        console = Console()
        scored = _collect(dirs, allow_partial)
        if len(scored) == 1:
            scores = score_decode_dir(scored[0])
            for table in decode_dir_tables(scored[0], scores):
                console.print(table.for_terminal(console.width))
            console.print(summary_line(scored[0].path, scores), highlight=False)
            return
        _grids(scored, console)
        if len(group_by_system(scored)) > 1:
            _compare(scored, ref, n_boot, seed, out, console)

    @app.command()
    def compare(
        dirs: list[Path] = typer.Argument(
            ..., help="One dir per system (e.g. exp/baseline_noisy exp/trnet)."
        ),
        ref: str = typer.Option(
            "baseline_noisy", "--ref", help="Reference system (name or its dir)."
        ),
        allow_partial: bool = ALLOW_PARTIAL,
        n_boot: int = N_BOOT,
        seed: int = SEED,
        out: Path = typer.Option(None, "--out", help="Prefix of the output files (.tsv, .md)."),
    ) -> None:
        """Systems × conditions table (UAR, WAR) and bootstrap CIs of ΔUAR to a reference."""
        from rich.console import Console

        _compare(_collect(dirs, allow_partial), ref, n_boot, seed, out, Console())

    @app.command()
    def results(
        exp_dir: Path = typer.Argument(..., help="The exp/ dir of a recipe."),
        out: Path = typer.Option(None, "--out", help="Default: EXP_DIR/RESULTS.md."),
        ref: str = typer.Option(None, "--ref", help="Reference system (default baseline_noisy)."),
        allow_partial: bool = ALLOW_PARTIAL,
        n_boot: int = N_BOOT,
        seed: int = SEED,
        figures: bool = typer.Option(
            True, "--figures/--no-figures", help="Draw exp/figures/*.png."
        ),
    ) -> None:
        """Score every decode dir under EXP_DIR and write RESULTS.md (tables, grids, figures)."""
        from rich.console import Console

        from trnet.scoring.results import build_results

        console = Console()
        path, tables = build_results(exp_dir, out, ref, n_boot, seed, allow_partial, figures)
        for table in tables:
            console.print(table.for_terminal(console.width))
        console.print(f"RESULTS: {path}", highlight=False)
