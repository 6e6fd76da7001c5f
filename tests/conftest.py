"""Fixtures more than one test module uses; plain helpers live in modules named for what
they make (``corpus_trees``, ``http_toy``, ``mix_toy``, ``se_toy``, ``ser_toy``, ...), and no
test module imports from another."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from corpus_trees import make_musan
from http_toy import ServerState, make_handler


@pytest.fixture
def musan(tmp_path: Path) -> Path:
    """A tiny MUSAN tree (noise, music, speech) under ``tmp_path/musan``."""
    return make_musan(tmp_path)


@pytest.fixture
def server():
    """A local HTTP server (:class:`http_toy.ServerState`: what it serves, what it logged)."""
    state = ServerState()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
