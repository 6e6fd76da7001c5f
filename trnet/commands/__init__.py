"""CLI command modules.

One module per command, named as the command (``trnet train-se`` → ``train_se.py``; a
group such as ``trnet prep <corpus>`` or ``trnet data <op>`` is one module). Every module
here defines ``register(app: typer.Typer) -> None`` and is discovered by ``trnet.cli``;
``_shared.py`` (skipped) holds helpers several commands use. Commands parse options and
print; the work is done by the library module each one names. Modules keep heavy imports
(torch, torchaudio) inside the command functions so that ``trnet --help`` stays fast.
"""
