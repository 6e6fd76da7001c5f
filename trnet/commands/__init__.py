"""CLI command modules.

Every module here defines ``register(app: typer.Typer) -> None`` and is discovered by
``trnet.cli``. Modules keep heavy imports (torch, torchaudio) inside the command
functions so that ``trnet --help`` stays fast.
"""
