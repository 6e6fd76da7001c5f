"""Reproducible CPU numerics: the same trained models and tables on any x86-64 machine.

PyTorch and the math libraries under it choose their CPU kernels by what the processor
supports (ATen: ``default`` / ``avx2`` / ``avx512``; MKL, oneDNN, numpy and OpenBLAS: their
own dispatch), and how a float sum is rounded depends on the vector width, the blocking and
the number of threads that split it. Training turns a last-bit difference into a different
model, so two machines give different tables from the same inputs and seed.

Deterministic mode (``TRNET_DETERMINISTIC=1``; the recipe's ``--deterministic true``) puts
every library on a code path that is the same on Intel and AMD processors:

- ATen's vectorised kernels: ``avx2`` (plain IEEE arithmetic, the same on every AVX2 CPU);
- MKL (torch's FFT, hence fbank, and its matrix products): ``MKL_CBWR=COMPATIBLE``, the
  branch MKL documents as reproducible on Intel *and* Intel-compatible CPUs. Its ``AVX2``
  branch, pinned until 2026-12, is honoured on Intel CPUs only (MKL's docs: elsewhere its
  ``AUTO`` dispatch runs), the likely reason the main command's tables differed between an
  AMD EPYC and an Intel Xeon: the first output MKL writes is the fbank features
  (``dump/<corpus>/clean/feats.ark``; egs/iemocap/RESULTS.md, "Across CPU vendors");
- oneDNN (torch's convolutions) is switched off: its JIT kernels size their blocking from
  the CPU's caches, so torch's own convolution runs instead: NNPACK for a batch of 16 or
  more, else im2col + MKL's matrix product. NNPACK sizes its blocks from the caches too, but
  per its source only the block over input channels orders a sum: 128 channels with a 32 KB
  L1 per thread, 64 where two threads share it, so the conf/slim and conf/cpu CNNs (64 input
  channels at most, counting ``model.conv_input_grad: forward``'s gradients) sum in one
  block on any such CPU; the paper-size CNN (up to 512) may not;
- numpy: its AVX-512 loops off (``NPY_DISABLE_CPU_FEATURES``: AVX-512 Intel and AMD Zen 4
  would otherwise run other loops than AVX2-only CPUs); its OpenBLAS on the Haswell kernels;
- one intra-op thread everywhere, and torch's deterministic algorithms.

Not covered: onnxruntime (the pretrained NSNet2 front end) picks AVX-512 or AVX2 kernels by
CPU with no switch to pin them, so NSNet2's enhanced audio may differ between an AVX-512
machine and an AVX2-only one (the generated corpus's main command trains its own SE and does
not use it).

The libraries read their variables when they load, so :func:`apply_env` must run before
``torch`` or ``numpy`` is imported: ``trnet.cli`` calls it first thing, and worker processes
inherit the environment and call :func:`apply_torch`. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import platform

SWITCH = "TRNET_DETERMINISTIC"

# x86-64 only: other architectures have one code path per build already.
PINNED_X86 = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorised kernels
    # MKL's conditional numerical reproducibility: COMPATIBLE is its one branch that is the
    # same on non-Intel CPUs (a named ISA branch runs AUTO there)
    "MKL_CBWR": "COMPATIBLE,STRICT",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (convolutions)
    "DNNL_MAX_CPU_ISA": "AVX2",  # its older name
    # numpy 2.x's AVX-512 dispatch targets (older names are ignored by numpy 2.4, and these
    # by older numpy): AVX2 loops on every machine
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR AVX512F AVX512CD AVX512_SKX "
    "AVX512_CLX AVX512_CNL",
    "OPENBLAS_CORETYPE": "Haswell",  # numpy's and scipy's OpenBLAS: AVX2 kernels
}
# everywhere: one thread, so no reduction is split differently on a machine with more cores
PINNED_THREADS = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
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
    """In deterministic mode, one torch thread, deterministic algorithms and no oneDNN, in
    every process that computes (the CLI and its worker processes): now if torch is loaded,
    else as soon as it is (:class:`_AfterImport`), so that a command that never touches
    torch (``trnet plan``, ``validate``, a rerun that finds its work done) does not pay the
    seconds its import takes."""
    if not enabled():
        return
    import sys

    if "torch" in sys.modules:
        _set_torch(sys.modules["torch"])
    elif not any(isinstance(f, _AfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("torch", _set_torch))


def _set_torch(torch) -> None:  # noqa: ANN001 (the torch module)
    torch.set_num_threads(1)
    # oneDNN sizes its convolution blocking from the CPU's caches (differs between vendors)
    torch.backends.mkldnn.enabled = False
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any parallel work started
        pass
    # torch.use_deterministic_algorithms(True) sets this flag and imports torch._inductor's
    # config to set its flag too: 0.9 s (sympy, 880 modules) in every process, for a
    # compiler trnet never runs (no torch.compile); the flag eager kernels read is this one
    flag = getattr(torch._C, "_set_deterministic_algorithms", None)
    if flag is None:  # another torch than the pinned one: the public call
        torch.use_deterministic_algorithms(True)
    else:
        flag(True, warn_only=False)


class _AfterImport:
    """A ``sys.meta_path`` finder that lets the usual finders find module ``name``, and runs
    ``then(module)`` once the module has executed (a post-import hook): the first
    ``import name`` anywhere returns the module with ``then`` applied."""

    def __init__(self, name: str, then: object) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        import importlib.util
        import sys

        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once; and the usual finders below find the real spec
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module, then = spec.loader.exec_module, self.then

        def exec_then(module: object) -> None:
            exec_module(module)
            then(module)

        spec.loader.exec_module = exec_then  # this spec's own loader instance
        return spec


def cpu_model() -> str:
    """``vendor / model name`` of the CPU (``/proc/cpuinfo``; ``platform.processor()`` says
    only x86_64 on Linux), e.g. ``GenuineIntel / Intel(R) Xeon(R) Processor``."""
    vendor = model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "vendor_id" and not vendor:
                    vendor = value.strip()
                elif key == "model name" and not model:
                    model = value.strip()
                if vendor and model:
                    break
    except OSError:
        pass
    fallback = platform.processor() or platform.machine()
    return f"{vendor} / {model}" if vendor or model else fallback


def describe() -> dict[str, str]:
    """The numerics this process runs with, for RESULTS.md and model cards."""
    import torch

    info = {
        "deterministic": "on" if enabled() else "off",
        "cpu": cpu_model(),
        "cpu capability": torch.backends.cpu.get_cpu_capability(),
        "oneDNN": "on" if torch.backends.mkldnn.enabled else "off",
        "torch threads": str(torch.get_num_threads()),
        "interop threads": str(torch.get_num_interop_threads()),
    }
    for name in REPORTED:
        if name != SWITCH:
            info[name] = os.environ.get(name, "(unset)")
    return info
