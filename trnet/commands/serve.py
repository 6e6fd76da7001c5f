"""``trnet serve``: a model package as a local HTTP service with a web page."""

from __future__ import annotations

from pathlib import Path

import typer

from trnet.commands._shared import bounded


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        package: Path = typer.Argument(..., help="model package (trnet export)"),
        host: str = typer.Option(
            "127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"
        ),
        port: int = typer.Option(8000, "--port", help="TCP port (0: any free one)"),
        max_mb: float = typer.Option(
            50.0, "--max-mb", help="largest upload, MB", callback=bounded(0, above=True)
        ),
        max_seconds: float = typer.Option(
            600.0, "--max-seconds", help="longest audio, s", callback=bounded(0, above=True)
        ),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N]"),
        backend: str = typer.Option("torch", "--backend", help="torch | onnx (onnxruntime)"),
        batch_size: int = typer.Option(
            16, "--batch-size", help="windows per batch", callback=bounded(1)
        ),
    ) -> None:
        """Serve a package: POST /predict (audio → JSON), GET /health, GET / (a page that
        uploads or records audio and draws its timeline). Loads the package once; listens
        on this machine only unless --host says otherwise. Ctrl-C stops it."""
        from rich.console import Console

        from trnet.infer.recognizer import EmotionRecognizer
        from trnet.serve import require_extra
        from trnet.serve.app import create_app
        from trnet.serve.server import is_loopback, listen, make_server, url
        from trnet.serve.upload import Limits

        require_extra()
        limits = Limits(max_bytes=int(max_mb * 2**20), max_seconds=max_seconds)
        sock = listen(host, port)
        rec = EmotionRecognizer.load(package, device, backend, batch_size)
        server = make_server(create_app(rec, limits))
        console = Console(stderr=True)
        console.print(
            f"trnet serve: {rec.system} ({package}) on {url(sock)} (Ctrl-C stops)",
            highlight=False,
            soft_wrap=True,
        )
        if not is_loopback(sock):
            console.print(
                f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this "
                "machine can use the service (no authentication)",
                highlight=False,
            )
        with sock:
            server.run(sockets=[sock])
