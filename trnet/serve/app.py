"""The FastAPI app of ``trnet serve``: one loaded package, three routes.

- ``POST /predict``: an audio file (raw body, or multipart field ``file``) → JSON: ``name``,
  ``label``, ``note`` (``no speech``), ``probabilities``, ``s``, ``snr_db``, ``duration``,
  ``windows`` (``start``, ``end``, ``label``, ``probabilities``, ``s``, ``snr_db``,
  ``speech``), ``classes``, ``system``. What ``trnet infer`` gives for the same file.
- ``GET /health``: the package (system, input, classes, SE, corpus) and the limits.
- ``GET /``: the page (``page.html``: upload, microphone, timeline; nothing from elsewhere,
  which its Content-Security-Policy enforces).

Every error is JSON ``{"error": one line}``: a bad upload 4xx (:mod:`.upload`), an unknown
route 404/405, and a bug 500 without a traceback (the traceback goes to the server's log).
Inference runs in a worker thread, one request at a time: the event loop stays free for
``/health`` and for reading the next upload.
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations at run
# time, and ``Request`` is imported inside create_app (the extra may be missing).
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.infer.recognizer import EmotionRecognizer, Prediction
from trnet.serve import EXTRA_HINT
from trnet.serve.upload import (
    Limits,
    UploadError,
    as_upload_error,
    check_audio,
    one_line,
    read_upload,
    save_upload,
)

PAGE_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; media-src blob:; base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: inline script and style, requests to this server
only; a CDN or any other origin is blocked by the browser."""


def prediction_json(pred: Prediction, rec: EmotionRecognizer, name: str) -> dict[str, Any]:
    """The JSON of ``POST /predict`` for one prediction."""
    return {
        "name": name,
        "label": pred.label,
        "note": pred.note,
        "probabilities": pred.probs,
        "s": pred.s,
        "snr_db": pred.snr_db,
        "duration": pred.duration,
        "windows": [
            {
                "start": w.start,
                "end": w.end,
                "label": w.label,
                "probabilities": w.probs,
                "s": w.s,
                "snr_db": w.snr_db,
                "speech": w.speech,
            }
            for w in pred.windows
        ],
        "classes": list(rec.classes),
        "system": rec.system,
    }


def health_json(rec: EmotionRecognizer, limits: Limits) -> dict[str, Any]:
    card = rec.card
    return {
        "status": "ok",
        "system": rec.system,
        "fold": card.get("fold"),
        "corpus": card.get("corpus"),
        "generated": card.get("generated"),
        "input": rec.input_kind,
        "se": bool(rec.package.has_se),
        "classes": list(rec.classes),
        "backend": rec.backend,
        "window_s": rec.window_s,
        "hop_s": rec.hop_s,
        "limits": limits.as_dict(),
    }


def page_html() -> str:
    return resources.files("trnet.serve").joinpath("page.html").read_text(encoding="utf-8")


def create_app(rec: EmotionRecognizer, limits: Limits | None = None) -> Any:
    """The ASGI app serving ``rec`` (loaded once, by the caller) within ``limits``."""
    try:
        from fastapi import FastAPI, Request
        from fastapi.concurrency import run_in_threadpool
        from fastapi.responses import HTMLResponse, JSONResponse
        from starlette.exceptions import HTTPException
    except ImportError as err:
        raise TrnetError(f"trnet serve needs {err.name}: {EXTRA_HINT}") from None

    limits = limits or Limits()
    one_at_a_time = threading.Lock()
    page = page_html()
    app = FastAPI(title="trnet", docs_url=None, redoc_url=None, openapi_url=None)

    def error(status: int, message: str, headers: dict | None = None) -> Any:
        return JSONResponse({"error": one_line(message)}, status_code=status, headers=headers)

    @app.exception_handler(UploadError)
    async def _bad_upload(request: Request, err: UploadError) -> Any:
        return error(err.status, str(err))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, err: HTTPException) -> Any:
        return error(err.status_code, str(err.detail), getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, err: Exception) -> Any:
        return error(500, f"internal error ({type(err).__name__}); see the server's log")

    def predict_upload(name: str, data: bytes) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="trnet-serve-") as tmp:
            path = save_upload(Path(tmp), name, data)
            check_audio(path, name, limits)
            with one_at_a_time:
                try:
                    pred = rec.predict_file(path)
                except TrnetError as err:
                    raise as_upload_error(err, path, name) from None
        return prediction_json(pred, rec, name)

    @app.post("/predict")
    async def predict(request: Request) -> Any:
        name, data = await read_upload(request, limits)
        return JSONResponse(await run_in_threadpool(predict_upload, name, data))

    @app.get("/health")
    async def health() -> Any:
        return JSONResponse(health_json(rec, limits))

    @app.get("/")
    async def index() -> Any:
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_POLICY})

    return app
