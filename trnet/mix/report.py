"""The rich table printed at the end of ``trnet mix``."""

from __future__ import annotations

from rich.table import Table

from trnet.console import console


def _db(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_summary(summaries: list[dict]) -> None:
    table = Table(
        "condition",
        "utts",
        "skipped",
        "hours",
        "SNR mean",
        "SNR min",
        "SNR max",
        "seconds",
        "status",
        title="trnet mix",
    )
    for s in summaries:
        table.add_row(
            s["condition"],
            str(s["utterances"]),
            str(s["skipped"]),
            f"{s['hours']:.3f}",
            _db(s["snr_mean"]),
            _db(s["snr_min"]),
            _db(s["snr_max"]),
            f"{s['seconds']:.1f}",
            s["status"],
        )
    console().print(table)
