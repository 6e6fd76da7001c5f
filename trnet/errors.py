"""The one exception type the CLI turns into a one-line message instead of a traceback."""

import os

OVERWRITE_HINT_ENV = "TRNET_OVERWRITE_HINT"
"""A recipe (egs/*/path.sh) sets this: run.sh has no ``--overwrite`` to suggest."""


def overwrite_hint() -> str:
    """How to replace an output made with other settings, as the caller can do it."""
    return os.environ.get(OVERWRITE_HINT_ENV) or "use --overwrite"


class TrnetError(Exception):
    """A user-facing error: bad input, a missing file, a wrong path.

    The message must name the file (or option) and what is wrong with it.
    """
