"""The one exception type the CLI turns into a one-line message instead of a traceback."""


class TrnetError(Exception):
    """A user-facing error: bad input, a missing file, a wrong path.

    The message must name the file (or option) and what is wrong with it.
    """
