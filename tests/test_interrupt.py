"""Ctrl-C during ``trnet mix``: exit 130 with one line, workers gone, no hang (issue 15)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from trnet.io import write_kv

SR = 16000


def _corpus(root: Path, n: int = 1000) -> tuple[Path, Path]:
    """``n`` one-second utterances and a white-noise set: enough work to be interrupted."""
    rng = np.random.default_rng(0)
    wav = {}
    for i in range(n):
        path = root / "wav" / f"s{i % 4}-u{i:03d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.3 * rng.standard_normal(SR)).astype(np.float32), SR, subtype="PCM_16")
        wav[path.stem] = str(path)
    data = root / "data"
    write_kv(data / "wav.scp", wav)
    write_kv(data / "utt2spk", {u: u.split("-")[0] for u in wav})
    write_kv(data / "utt2emo", {u: "neu" for u in wav})
    noise = root / "noise"
    (noise / "clips").mkdir(parents=True)
    sf.write(noise / "clips" / "white.wav", 0.1 * rng.standard_normal(SR), SR, subtype="PCM_16")
    write_kv(noise / "wav.scp", {"white": str(noise / "clips" / "white.wav")})
    write_kv(noise / "utt2category", {"white": "noise"})
    write_kv(noise / "utt2dur", {"white": "1.000"})
    return data, noise


def _workers(pid: int) -> list[int]:
    """The pool's worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in cmdline:
                found.append(int(child))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("nj", [1, 2])
def test_ctrl_c_during_mix_exits_130_with_one_line(tmp_path, nj):
    data, noise = _corpus(tmp_path)
    cmd = [sys.executable, "-m", "trnet", "mix", str(data), str(tmp_path / "dump")]
    cmd += ["--noise", str(noise), "--snr", "20", "10", "5", "0", "--nj", str(nj)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if nj == 1 or len(_workers(proc.pid)) >= nj:  # the workers are up
            break
        time.sleep(0.1)
    # interrupt in the middle of the work: once the first condition has written something
    dump = tmp_path / "dump"
    while time.monotonic() < deadline and proc.poll() is None:
        if dump.is_dir() and any(p.is_file() for p in dump.rglob("*")):
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    workers = _workers(proc.pid)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole group
    try:
        _, err = proc.communicate(timeout=20)  # generous for CI noise; measured ~0.3 s
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"trnet mix --nj {nj} still running 20 s after Ctrl-C")
    elapsed = time.monotonic() - start
    print(f"nj={nj}: exited {elapsed:.2f} s after SIGINT")
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 130, err.decode()
    assert lines == ["interrupted"], err.decode()
    time.sleep(0.5)
    assert not [w for w in workers if _alive(w)]  # no worker left behind


def _children(pid: int) -> list[int]:
    """Every child of ``pid``: the pool's workers and multiprocessing's resource tracker."""
    return [
        int(c)
        for t in Path(f"/proc/{pid}/task").iterdir()
        for c in (t / "children").read_text().split()
    ]


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_workers_die_with_a_sigkilled_mix(tmp_path):
    """SIGKILL of the main ``trnet mix`` alone (the OOM killer's way: no clean-up runs):
    its workers and the resource tracker must not stay alive, blocked (issue 22)."""
    data, noise = _corpus(tmp_path, n=300)
    cmd = [sys.executable, "-m", "trnet", "mix", str(data), str(tmp_path / "dump")]
    cmd += ["--noise", str(noise), "--snr", "20", "10", "5", "0", "--nj", "2"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and len(_workers(proc.pid)) < 2:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        children = _children(proc.pid)
        assert len(children) >= 3  # two workers and the resource tracker
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 20  # a bound, not a timing: measured well under 1 s
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "workers outlived their SIGKILLed parent"
    finally:
        for child in children:  # the old code leaves them blocked for good
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
