"""A request's audio, bounded and on disk; everything wrong with it is an :class:`UploadError`
(an HTTP 4xx status and one line naming the upload).

An upload is the raw request body (its name from the query, ``?name=talk.wav``) or the one
file of a ``multipart/form-data`` body. The body is read in chunks and refused as soon as
it passes :attr:`Limits.max_bytes` (413); the audio's duration comes from its header before
any decoding and is refused past :attr:`Limits.max_seconds` (422). The file is written under
a name made here (never the client's path) in a temporary dir; messages name the upload,
not that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trnet.errors import TrnetError
from trnet.infer.source import AUDIO_SUFFIXES, file_source

MAX_NAME = 100
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_bytes: int = 50 * 2**20
    """Largest request body (413 past it)."""
    max_seconds: float = 600.0
    """Longest audio (422 past it; the header's duration, before decoding)."""

    def as_dict(self) -> dict[str, float]:
        return {"max_mb": self.max_bytes / 2**20, "max_seconds": self.max_seconds}


class UploadError(Exception):
    """A bad upload: ``status`` (4xx) and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(one_line(message))
        self.status = status


def one_line(text: object) -> str:
    return " ".join(str(text).split())


def upload_name(raw: str | None) -> str:
    """The client's file name as messages and results show it: its last path component,
    printable, at most :data:`MAX_NAME` characters; ``upload`` when there is none."""
    last = re.split(r"[/\\]", raw or "")[-1]
    name = _UNPRINTABLE.sub("", last).strip()[:MAX_NAME]
    return name or "upload"


def _mb(n: int) -> str:
    return f"{n / 2**20:.3g} MB"


async def read_upload(request: Any, limits: Limits) -> tuple[str, bytes]:
    """``(name, bytes)`` of the request's audio (a Starlette request)."""
    from starlette.datastructures import UploadFile
    from starlette.requests import Request

    limit = limits.max_bytes
    too_big = f"request body over {_mb(limit)}, the limit (trnet serve --max-mb)"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadError(413, f"{too_big}: {_mb(int(declared))}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise UploadError(413, too_big)
        chunks.append(chunk)
    body = b"".join(chunks)
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        name = upload_name(request.query_params.get("name"))
        if not body:
            raise UploadError(400, f"{name}: empty upload (no bytes in the request body)")
        return name, body

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=16)
    except Exception as err:  # starlette's parse errors (HTTPException, MultiPartException)
        why = getattr(err, "detail", err)
        raise UploadError(400, f"malformed multipart body ({why})") from None
    try:
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not files:
            raise UploadError(400, "multipart body without a file (send the audio as 'file')")
        name = upload_name(files[0].filename)
        data = await files[0].read()
    finally:
        await form.close()
    if not data:
        raise UploadError(400, f"{name}: empty upload (the file has no bytes)")
    return name, data


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/upload<suffix>``: the suffix of ``name`` when it is an
    audio one (a hint for the format), nothing of the client's name otherwise."""
    suffix = Path(name).suffix.lower()
    path = folder / f"upload{suffix if suffix in AUDIO_SUFFIXES else ''}"
    path.write_bytes(data)
    return path


def as_upload_error(err: TrnetError, path: Path, name: str) -> UploadError:
    """A reader's or the recogniser's error about ``path`` as the upload's: 415 for what
    is not audio, 422 for audio that cannot be used."""
    message = str(err).replace(str(path), name)
    status = 415 if "not a readable audio file" in message else 422
    return UploadError(status, message)


def check_audio(path: Path, name: str, limits: Limits) -> float:
    """The upload's duration in seconds (from its header); not audio or too long is an
    :class:`UploadError`."""
    try:
        duration = file_source(path, name).duration
    except TrnetError as err:
        raise as_upload_error(err, path, name) from None
    if duration > limits.max_seconds:
        raise UploadError(
            422,
            f"{name}: {duration:.1f} s of audio, over the {limits.max_seconds:g} s limit "
            "(trnet serve --max-seconds)",
        )
    return duration
