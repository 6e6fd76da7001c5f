"""Figures of RESULTS.md (matplotlib Agg, PNG); a figure whose inputs are missing is skipped.

- ``s_dist_<system>.png``: distribution of the SNR coefficient s per noise set and SNR
  (paper Fig. 2), for systems that write ``utt2s``;
- ``tsne.png``: t-SNE of utterance embeddings, clean and 20/10/0 dB, for Baseline-c,
  Baseline-e and TRNet (paper Fig. 3), one panel per system × SNR, the first fold only
  (each fold has its own model, hence its own embedding space);
- ``confusion_<system>.png``: row-normalised confusion matrices at clean and 0 dB, pooled
  over folds;
- ``uar_vs_snr.png``: UAR (mean ± std over folds) against SNR per noise set and system.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trnet.contract import CLEAN, condition_name
from trnet.scoring.decode_dir import DecodeDir
from trnet.scoring.metrics import row_normalise
from trnet.scoring.tables import (
    Cell,
    fold_key,
    is_corrupted,
    noise_key,
    snr_key,
    sort_conditions,
    split,
)

TSNE_SYSTEMS = ("baseline_clean", "baseline_enhanced", "trnet")
TSNE_SNRS = (CLEAN, "20", "10", "0")


@dataclass
class Figure:
    title: str
    path: Path | None
    note: str = ""


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: Path, software: str | None = None) -> Path:
    """Write a PNG (atomically) whose only metadata is ``software`` (none by default): no
    matplotlib version stamp, so that reruns give the same bytes."""
    from trnet.io import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100, metadata={"Software": software}, bbox_inches="tight")
    pyplot().close(fig)
    return path


def _noises(cells_or_dirs) -> list[str]:
    return sorted({n for n in cells_or_dirs if n != CLEAN}, key=noise_key)


def s_distribution(system: str, dirs: list[DecodeDir], out_dir: Path, tag: str) -> Figure:
    title = f"distribution of s, {system}"
    values: dict[tuple[str, str], list[float]] = {}
    for d in dirs:
        s = None if d.corruption else d.utt2s()  # noise × SNR only
        if s:
            values.setdefault((d.noise, d.snr), []).extend(s[u] for u in d.utts if u in s)
    noises = _noises({n for n, _ in values})
    if not noises:
        return Figure(title, None, "no utt2s in noisy decode dirs")
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(noises), figsize=(4.5 * len(noises), 3.5), squeeze=False, layout="constrained"
    )
    for ax, noise in zip(axes[0], noises, strict=True):
        snrs = sorted({snr for n, snr in values if n == noise}, key=snr_key)
        data = [values[(noise, snr)] for snr in snrs]
        labels = [f"{snr} dB" for snr in snrs]
        if (CLEAN, CLEAN) in values:
            data, labels = [values[(CLEAN, CLEAN)], *data], ["clean", *labels]
        ax.boxplot(data, showfliers=False)
        ax.set_xticks(range(1, len(labels) + 1), labels)
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{noise}")
        ax.set_ylabel("s")
    fig.suptitle(f"{tag}{title}")
    return Figure(title, save_png(fig, out_dir / f"s_dist_{system}.png"))


def _tsne_points(d: DecodeDir, seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    from sklearn.manifold import TSNE

    emb = d.embeddings()
    if not emb:
        return None
    keep = [i for i, u in enumerate(d.utts) if u in emb]
    if len(keep) < 5:
        return None
    x = np.stack([emb[d.utts[i]] for i in keep]).astype(np.float64)
    perplexity = float(min(30.0, max(2.0, (len(keep) - 1) / 3)))
    # exact gradients: faster than Barnes-Hut below a few thousand points, and deterministic
    method = "exact" if len(keep) <= 2000 else "barnes_hut"
    tsne = TSNE(2, perplexity=perplexity, init="pca", method=method, random_state=seed)
    y = tsne.fit_transform(x)
    return y, d.ref[keep]


def _has_emb(dirs: list[DecodeDir]) -> bool:
    return any((d.path / "emb.scp").is_file() for d in dirs)


def tsne(groups: dict[str, list[DecodeDir]], out_dir: Path, tag: str, seed: int) -> Figure:
    title = "t-SNE of utterance embeddings"
    systems = [s for s in TSNE_SYSTEMS if s in groups]
    if not any(_has_emb(groups[s]) for s in systems):
        return Figure(title, None, f"no emb.scp for {', '.join(TSNE_SYSTEMS)}")
    missing = [s for s in TSNE_SYSTEMS if s not in groups or not _has_emb(groups[s])]
    noisy = _noises({d.noise for s in systems for d in groups[s] if not d.corruption})
    noise = noisy[0] if noisy else CLEAN
    plt = pyplot()
    fig, axes = plt.subplots(
        len(systems),
        len(TSNE_SNRS),
        figsize=(3.2 * len(TSNE_SNRS), 3.0 * len(systems)),
        squeeze=False,
        layout="constrained",
    )
    classes = groups[systems[0]][0].classes
    colours = plt.get_cmap("tab10")
    for row, system in zip(axes, systems, strict=True):
        first: dict[str, DecodeDir] = {}
        for d in sorted(groups[system], key=lambda d: fold_key(d.fold)):
            first.setdefault(d.condition, d)
        for ax, snr in zip(row, TSNE_SNRS, strict=True):
            cond = condition_name(CLEAN if snr == CLEAN else noise, snr)
            points = _tsne_points(first[cond], seed) if cond in first else None
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{system}, {cond}", fontsize=9)
            if points is None:
                ax.text(0.5, 0.5, "no embeddings", ha="center", va="center", transform=ax.transAxes)
                continue
            y, labels = points
            for k, name in enumerate(classes):
                sel = labels == k
                ax.scatter(y[sel, 0], y[sel, 1], s=6, color=colours(k), label=name)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="outside right upper", fontsize=8)
    fig.suptitle(f"{tag}{title} ({noise} noise, first fold)")
    note = f"no embeddings for {', '.join(missing)}" if missing else ""
    return Figure(title, save_png(fig, out_dir / "tsne.png"), note)


def confusion(
    system: str, cells: dict[str, Cell], classes: tuple[str, ...], out_dir: Path, tag: str
) -> Figure:
    title = f"confusion matrices, {system}"
    conds = [
        c
        for c in sort_conditions(cells)
        if not is_corrupted(c) and (c == CLEAN or split(c)[1] == "0")
    ]
    if not conds:
        return Figure(title, None, "no clean or 0 dB decode")
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(conds), figsize=(3.6 * len(conds), 3.4), squeeze=False, layout="constrained"
    )
    for ax, cond in zip(axes[0], conds, strict=True):
        norm = row_normalise(cells[cond].confusion)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        for i, j in np.ndindex(norm.shape):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.5 else "black",
            )
        ax.set_xticks(range(len(classes)), classes)
        ax.set_yticks(range(len(classes)), classes)
        ax.set_xlabel("hypothesis")
        ax.set_ylabel("reference")
        ax.set_title(cond)
    fig.suptitle(f"{tag}{title} (row-normalised, pooled over folds)")
    return Figure(title, save_png(fig, out_dir / f"confusion_{system}.png"))


def uar_vs_snr(cells: dict[str, dict[str, Cell]], out_dir: Path, tag: str) -> Figure:
    title = "UAR vs SNR"
    noises = _noises({split(c)[0] for sc in cells.values() for c in sc if not is_corrupted(c)})
    if not noises:
        return Figure(title, None, "no noisy decode")
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(noises), figsize=(5 * len(noises), 3.6), squeeze=False, layout="constrained"
    )
    for ax, noise in zip(axes[0], noises, strict=True):
        snrs = sorted(
            {
                split(c)[1]
                for sc in cells.values()
                for c in sc
                if split(c)[0] == noise and not is_corrupted(c)
            },
            key=snr_key,
        )
        ticks = [CLEAN, *snrs]
        for system, sc in cells.items():
            xs = [
                i
                for i, snr in enumerate(ticks)
                if condition_name(CLEAN if snr == CLEAN else noise, snr) in sc
            ]
            picked = [
                sc[condition_name(CLEAN if ticks[i] == CLEAN else noise, ticks[i])] for i in xs
            ]
            if picked:
                ax.errorbar(
                    xs,
                    [100 * c.mean("uar") for c in picked],
                    yerr=[100 * c.std("uar") for c in picked],
                    marker="o",
                    capsize=3,
                    label=system,
                )
        ax.set_xticks(range(len(ticks)), [t if t == CLEAN else f"{t} dB" for t in ticks])
        ax.set_ylabel("UAR (%)")
        ax.set_title(noise)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=8)
    fig.suptitle(f"{tag}{title} (mean ± std over folds)")
    return Figure(title, save_png(fig, out_dir / "uar_vs_snr.png"))


def make_figures(
    groups: dict[str, list[DecodeDir]],
    cells: dict[str, dict[str, Cell]],
    out_dir: Path,
    tag: str = "",
    seed: int = 0,
) -> list[Figure]:
    """Every figure of RESULTS.md; missing inputs give a skipped entry with the reason."""
    figures = [s_distribution(name, dirs, out_dir, tag) for name, dirs in groups.items()]
    with_s = [f for f in figures if f.path]
    figures = with_s or [Figure("distribution of s", None, "no system wrote utt2s")]
    figures.append(tsne(groups, out_dir, tag, seed))
    figures += [
        confusion(name, cells[name], groups[name][0].classes, out_dir, tag) for name in groups
    ]
    figures.append(uar_vs_snr(cells, out_dir, tag))
    return figures
