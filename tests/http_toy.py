"""A local HTTP server that supports Range requests (and can cut a transfer short), and the
archives it serves."""

from __future__ import annotations

import io
import re
import socket
import tarfile
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import numpy as np


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # close the socket after this many body bytes...
    cut_requests: int = 1  # ...on this many first requests
    ignore_range: bool = False
    log: list[tuple[str, str | None, int]] = field(default_factory=list)
    base: str = ""


def make_handler(state: ServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            body = state.files.get(self.path)
            range_header = self.headers.get("Range")
            if body is None:
                state.log.append((self.path, range_header, 404))
                self.send_error(404)
                return
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
            if match and not state.ignore_range:
                start = int(match.group(1))
                if start >= len(body):
                    state.log.append((self.path, range_header, 416))
                    self.send_error(416)
                    return
            status = 206 if start else 200
            state.log.append((self.path, range_header, status))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            self.end_headers()
            payload = body[start:]
            if state.cut_after is not None and len(state.log) <= state.cut_requests:
                self.wfile.write(payload[: state.cut_after])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(payload)

    return Handler


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def make_zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def make_targz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()
