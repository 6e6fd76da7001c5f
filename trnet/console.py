"""The rich console of command output: full width when piped, so tables keep their headers.

Rich renders at 80 columns when stdout is not a terminal, so ``trnet mix | tee log`` would
wrap or cut a wide table's headers and cells. Piped, with no ``COLUMNS`` set, the console
is as wide as :data:`PIPED_WIDTH` (a table takes only the width it needs).
"""

from __future__ import annotations

import os

from rich.console import Console

PIPED_WIDTH = 1000


def console(**options: object) -> Console:
    """A :class:`rich.console.Console` with ``options``; wide when not on a terminal."""
    out = Console(**options)  # type: ignore[arg-type]
    if not out.is_terminal and "COLUMNS" not in os.environ and "width" not in options:
        out = Console(width=PIPED_WIDTH, **options)  # type: ignore[arg-type]
    return out
