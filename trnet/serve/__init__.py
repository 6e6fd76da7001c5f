"""``trnet serve``: a model package behind a local HTTP service and a web page.

:mod:`.upload` turns a request into an audio file on disk (bounded size, multipart or raw
body) and every way it can be wrong into a 4xx with one line; :mod:`.app` is the FastAPI
app (``create_app``: one loaded :class:`~trnet.infer.recognizer.EmotionRecognizer`,
``POST /predict``, ``GET /health``, ``GET /`` the page of ``page.html``); :mod:`.server`
binds the socket and runs uvicorn. FastAPI, uvicorn and python-multipart are the optional
extra ``trnet[serve]``.
"""

from __future__ import annotations

import importlib

from trnet.errors import TrnetError

EXTRA_HINT = "pip install 'trnet[serve]'"
MODULES = {"fastapi": "fastapi", "uvicorn": "uvicorn", "python-multipart": "python_multipart"}


def require_extra() -> None:
    """A one-line error naming the extra when a module of the service does not import."""
    missing = []
    for name, module in MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(name)
    if missing:
        raise TrnetError(f"trnet serve needs {', '.join(missing)}: {EXTRA_HINT}")
