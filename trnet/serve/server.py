"""The socket and the uvicorn server of ``trnet serve``.

The socket is bound here, before uvicorn starts, so that an address in use or not of this
machine is one line (not uvicorn's log and exit), and so that ``--port 0`` (any free port)
can say which port it got.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from trnet.errors import TrnetError
from trnet.serve import EXTRA_HINT

MAX_CONNECTIONS = 16
"""Connections served at once; more get 503 (each may hold an upload in memory)."""


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port`` 0: any free one)."""
    if not 0 <= port <= 65535:
        raise TrnetError(f"--port {port}: not a TCP port (0-65535)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise TrnetError(f"--host {host}: not an address to listen on ({err.strerror})") from None
    family, kind, proto, _, addr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as err:
        sock.close()
        raise TrnetError(f"--host {host} --port {port}: cannot listen ({err.strerror})") from None
    return sock


def is_loopback(sock: socket.socket) -> bool:
    return ipaddress.ip_address(sock.getsockname()[0]).is_loopback


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return (
        f"http://[{host}]:{port}/" if sock.family == socket.AF_INET6 else f"http://{host}:{port}/"
    )


def make_server(app: Any, log_level: str = "info") -> Any:
    """A uvicorn server of ``app``; ``server.run(sockets=[listen(...)])`` serves until
    ``server.should_exit`` (or Ctrl-C in the main thread)."""
    try:
        import uvicorn
    except ImportError:
        raise TrnetError(f"trnet serve needs uvicorn: {EXTRA_HINT}") from None
    config = uvicorn.Config(
        app,
        log_level=log_level,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return uvicorn.Server(config)
