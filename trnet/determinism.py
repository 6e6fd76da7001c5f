"""Reproducible CPU numerics: the same trained models and tables on any x86-64 machine.

PyTorch and the math libraries under it choose their CPU kernels by what the processor
supports (ATen: ``default`` / ``avx2`` / ``avx512``; MKL and oneDNN: their own dispatch), and
how a float sum is rounded depends on the vector width and on the number of threads that
split it. Training turns a last-bit difference into a different model, so an AVX-512 machine
and an AVX2 one give different tables from the same inputs and seed.

Deterministic mode (``TRNET_DETERMINISTIC=1``; the recipe's ``--deterministic true``) pins
every library to its AVX2 code path, which every x86-64 server and laptop of the last decade
runs, uses one intra-op thread, and turns on torch's deterministic algorithms.

The libraries read their variables when they load, so :func:`apply_env` must run before
``torch`` is imported: ``trnet.cli`` calls it first thing. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import platform

SWITCH = "TRNET_DETERMINISTIC"

# x86-64 only: other architectures have one code path per build already.
PINNED_X86 = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels
    "MKL_CBWR": "AVX2,STRICT",  # MKL's conditional numerical reproducibility
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (convolutions)
    "DNNL_MAX_CPU_ISA": "AVX2",  # its older name
}
# everywhere: one thread, so no reduction is split differently on a machine with more cores
PINNED_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
REPORTED = (*PINNED_X86, *PINNED_THREADS, SWITCH)


def enabled() -> bool:
    """Whether deterministic mode is on (``TRNET_DETERMINISTIC`` is 1/true/yes)."""
    return os.environ.get(SWITCH, "").strip().lower() in ("1", "true", "yes", "on")


def is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


def apply_env() -> None:
    """In deterministic mode, pin the libraries' code paths (before torch is imported).

    Values already in the environment are overridden: the point is that two machines whose
    defaults differ end up on the same path.
    """
    if not enabled():
        return
    pinned = {**(PINNED_X86 if is_x86() else {}), **PINNED_THREADS}
    os.environ.update(pinned)


def apply_torch() -> None:
    """In deterministic mode, one torch thread and deterministic algorithms (after import)."""
    if not enabled():
        return
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any parallel work started
        pass
    torch.use_deterministic_algorithms(True)


def describe() -> dict[str, str]:
    """The numerics this process runs with, for RESULTS.md and model cards."""
    import torch

    info = {
        "deterministic": "on" if enabled() else "off",
        "cpu": platform.processor() or platform.machine(),
        "cpu capability": torch.backends.cpu.get_cpu_capability(),
        "torch threads": str(torch.get_num_threads()),
        "interop threads": str(torch.get_num_interop_threads()),
    }
    for name in REPORTED:
        if name != SWITCH:
            info[name] = os.environ.get(name, "(unset)")
    return info
