"""``trnet bench``: throughput measurements, each against a bare loop where there is one.

``mix-feats``: mixing + fbank; throughput is audio seconds per wall-clock second (× real
time). The bare loop reads each source file with soundfile and runs torchaudio's Kaldi fbank
on it, nothing else; the ratio (ours / bare) says how much mixing, noise reading, int16
writing and CMVN cost. ``infer``: the real-time factor of ``trnet infer`` and where its
time goes (:data:`trnet.infer.recognizer.INFER_PHASES`). ``train``: the
trainer's training examples per second against a bare training loop over the same batches,
and where the rest of a training run's time goes (:mod:`trnet.train.phases`).
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from trnet.contract import SAMPLE_RATE, needs_se
from trnet.io import read_kv, write_kv

if TYPE_CHECKING:
    import torch

    from trnet.train.config import Config

SR = SAMPLE_RATE


def generate_bench_set(root: Path, n_utts: int = 200, seconds: float = 3.0, seed: int = 0) -> tuple:
    """A generated data dir of harmonic 'utterances' and a 44.1 kHz stereo noise set."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    wav: dict[str, str] = {}
    t = np.arange(int(seconds * SR)) / SR
    for i in range(n_utts):
        f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
        phase = 2 * np.pi * np.cumsum(f0) / SR
        x = sum(np.sin(k * phase) / k for k in range(1, 10)) + 0.05 * rng.standard_normal(t.size)
        path = root / "wav" / f"utt{i:04d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.3 * x / np.abs(x).max()).astype(np.float32), SR, subtype="PCM_16")
        wav[f"bench-utt{i:04d}"] = str(path)
    data = root / "data"
    write_kv(data / "wav.scp", wav)
    write_kv(data / "utt2spk", {u: "bench" for u in wav})
    noise = root / "noise"
    clips = {}
    for i in range(5):
        path = noise / "clips" / f"clip{i}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, 0.1 * rng.standard_normal((5 * 44100, 2)), 44100, subtype="PCM_16")
        clips[f"clip{i}"] = str(path)
    write_kv(noise / "wav.scp", clips)
    write_kv(noise / "utt2category", {c: "noise" for c in clips})
    write_kv(noise / "utt2dur", {c: "5.0" for c in clips})
    return data, noise


def bare_read_fbank(specs: list[str]) -> tuple[float, float]:
    """(audio seconds, wall seconds) of soundfile read + Kaldi fbank, single-threaded."""
    import soundfile as sf
    import torch
    from torchaudio.compliance import kaldi

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    audio = 0.0
    start = time.perf_counter()
    for spec in specs:
        wave, sr = sf.read(spec, dtype="float32")
        audio += len(wave) / sr
        x = torch.from_numpy(wave * 32768).unsqueeze(0)
        kaldi.fbank(x, num_mel_bins=80, window_type="hamming", dither=0.0, energy_floor=0.0)
    wall = time.perf_counter() - start
    torch.set_num_threads(threads)
    return audio, wall


def best_walls(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The shortest wall time of each run over ``repeat`` rounds. Rounds interleave the runs,
    so a slow spell of a shared machine hits all of them alike; the minimum is timeit's rule
    (longer runs measured the machine's other work too)."""
    walls: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            walls[name].append(time.perf_counter() - start)
    return {name: min(times) for name, times in walls.items()}


def bench_mix_feats(
    data_dir: Path | None,
    noise_dir: Path | None,
    nj: int,
    snr: float,
    n_utts: int = 200,
    repeat: int = 3,
) -> dict:
    """Rows ``name → (audio s, best wall s)``: the bare loop, ``trnet mix --feats`` and
    ``trnet feats``, each the best of ``repeat`` rounds in this process (so workers of
    ``nj > 1`` start once, as in one ``trnet mix`` call over several SNRs)."""
    from trnet.data.datadir import DataDir
    from trnet.feats.extract import make_feats
    from trnet.mix.conditions import MixOptions, condition_of, mix_condition
    from trnet.mix.noiseset import NoiseSet

    with tempfile.TemporaryDirectory(prefix="trnet-bench-") as tmp:
        tmp = Path(tmp)
        generated = data_dir is None or noise_dir is None
        if generated:
            gen_data, gen_noise = generate_bench_set(tmp / "gen", n_utts)
            data_dir, noise_dir = data_dir or gen_data, noise_dir or gen_noise
        specs = list(read_kv(Path(data_dir) / "wav.scp").values())
        audio = bare_read_fbank(specs)[0]
        src, noise = DataDir.load(data_dir), NoiseSet.load(noise_dir)
        cond = tmp / "out" / condition_of(noise, snr)

        def mix() -> None:
            mix_condition(src, tmp / "out", noise, snr, MixOptions(nj=nj, overwrite=True))

        def feats() -> None:
            (cond / ".feats.done").unlink(missing_ok=True)
            make_feats(cond, nj=nj)

        walls = best_walls(
            {
                "bare: soundfile read + fbank": lambda: bare_read_fbank(specs),
                f"trnet mix --feats (nj {nj})": mix,
                f"trnet feats on the mixed ark (nj {nj})": feats,
            },
            repeat,
        )
    return {
        "rows": {name: (audio, wall) for name, wall in walls.items()},
        "generated": generated,
        "utterances": len(specs),
        "repeat": repeat,
    }


# ---- trnet bench infer --------------------------------------------------------------------

INFER_SYSTEMS = ("baseline_noisy", "trnet")
"""Without SE (noisy input) and with SE (blend: SE + both inputs), of a size's config dir."""

CPU_CONFIG = Path("egs/emodb/conf/cpu/trnet_blendfun.yaml")
CPU_SE = Path("egs/emodb/conf/se_nsnet2.yaml")
CPU_MEMBERS = 3
"""The ``cpu`` size: the real-speech system the EmoDB recipe packages (a hybrid: CNN and
eGeMAPS kernel machine, blended functionals), behind the pretrained NSNet2, an ensemble of
the recipe's ``--ensemble 3`` members (``conf/cpu/_base.yaml`` leaves ``train.ensemble`` 1;
``egs/emodb/run.sh`` passes 3)."""

LONG, SHORT = "long", "short"
"""The audio sets: ``n_files`` files of ``seconds`` (several windows each, so the SE's
blocks and the windows' overlap count) and EmoDB-like utterances of 2-3 s (one window each:
per-file costs count)."""


@dataclass
class InferTarget:
    """One package to measure: how the table names it and the package dir (made by
    :func:`infer_targets`' builders in a temporary dir, or a real package)."""

    size: str
    system: str
    se: str
    members: int
    package: Path
    functionals_inputs: int = 0
    """How many inputs' eGeMAPS functionals the model takes (its functionals.json)."""


def _peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux); False if unavailable."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_mb(field: str) -> float:
    """VmRSS / VmHWM of this process in MB (Linux), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _infer_child(
    pkg: str, files: list[str], batch: int, repeat: int, threads: int, queue: object
) -> None:
    """One row, in a fresh process so that its peak memory is its own. Every run is timed
    per phase (a PhaseTimer reads two clocks around each phase: microseconds against the
    milliseconds of a window); the phases of the fastest run are reported."""
    import torch

    from trnet.infer.recognizer import EmotionRecognizer
    from trnet.train.phases import PhaseTimer

    if threads:
        torch.set_num_threads(threads)
    try:
        rec = EmotionRecognizer.load(pkg, device="cpu", batch_size=batch)
        rec.predict_batch(files[:1])  # warm-up (first-call allocations, kernels, sessions)
        loaded = _rss_mb("VmRSS")
        reset = _peak_rss_reset()
        runs = []
        for _ in range(repeat):
            rec.timer = timer = PhaseTimer()
            start, cpu = time.perf_counter(), time.process_time()
            rec.predict_batch(files)
            runs.append((time.perf_counter() - start, time.process_time() - cpu, timer))
        wall, cpu, timer = min(runs, key=lambda r: r[0])
        peak = _rss_mb("VmHWM") if reset else _rss_mb("ru_maxrss")
        queue.put(
            {
                "wall": wall,
                "cpu": cpu,
                "phases": dict(timer.wall),
                "loaded_mb": loaded,
                "peak_mb": peak,
                "threads": torch.get_num_threads(),
            }
        )
    except Exception as err:  # reported as the row's error
        queue.put({"error": f"{type(err).__name__}: {err}"})


def untrained_package(
    dest: Path, cfg: Config, se_conf: dict | None, onnx: bool = False, seed: int = 0
) -> Path:
    """A package of randomly initialised networks (speed does not depend on the weights):
    one member per ``cfg.train.ensemble`` (seeds ``seed``, ``seed + 1`` ...), as an
    ensemble's export writes them, and the SE of ``se_conf`` (a trainable one untrained, a
    pretrained one, NSNet2, as the recipe packages it). Its card says ``untrained``."""
    import torch

    from trnet.feats.fbank import FbankConfig
    from trnet.infer.card import se_card, versions
    from trnet.infer.package_writer import write_package
    from trnet.models.factory import build_ser_model as build_model
    from trnet.se.config import resolve_config
    from trnet.se.model import build_model as build_se
    from trnet.se.model import save_model
    from trnet.systems.deep import ser_package_parts

    states = []
    for k in range(max(1, cfg.train.ensemble)):
        torch.manual_seed(seed + k)
        model = build_model(cfg.model)
        model.eval()
        states.append(model.state_dict())
    se_dir = None
    if se_conf is not None and needs_se(cfg.data.input):
        conf = resolve_config(se_conf)
        se_dir = Path(dest).with_name(f".{Path(dest).name}.se")
        if conf.pretrained:
            from trnet.se.pretrained import write_package as write_pretrained

            write_pretrained(conf, se_dir)
        else:
            save_model(se_dir / "best.pt", build_se(conf), conf)
    parts = ser_package_parts(cfg, states, FbankConfig().as_dict())
    card = {
        "system": cfg.system,
        "fold": 0,
        "protocol": "none",
        "corpus": "untrained",
        "generated": None,
        "input": cfg.data.input,
        "se": se_card(se_dir) if se_dir is not None else None,
        "best_epoch": 0,
        "dev_uar": float("nan"),
        "test": {},
        "trained": "untrained",
        "fbank_from": "defaults",
        "versions": versions(),
        **parts.card,
    }
    try:
        return write_package(Path(dest), parts, se_dir, card, onnx, True)
    finally:
        if se_dir is not None:
            shutil.rmtree(se_dir, ignore_errors=True)


def infer_targets(
    tmp: Path,
    conf_dirs: dict[str, Path],
    cpu: tuple[Path, Path, int] | None = None,
    packages: Iterable[Path] = (),
) -> list[InferTarget]:
    """The packages to measure: for each size of ``conf_dirs`` (name → config dir holding
    ``baseline_noisy.yaml``, ``trnet.yaml``, ``se.yaml``) both :data:`INFER_SYSTEMS`; the
    ``cpu`` size (system config, SE config, members; :data:`CPU_CONFIG`); then each real
    package of ``packages`` (read only). The untrained ones are written under ``tmp``."""
    from trnet.se.config import load_config as load_se_config
    from trnet.train.config import load_config

    made: list[tuple[str, Path, str]] = []
    for size, conf_dir in conf_dirs.items():
        se_conf = load_se_config(Path(conf_dir) / "se.yaml")
        for system in INFER_SYSTEMS:
            cfg = load_config(Path(conf_dir) / f"{system}.yaml")
            pkg = untrained_package(tmp / f"{size}_{system}", cfg, se_conf)
            made.append((size, pkg, se_conf.model))
    if cpu is not None:
        config, se_config, members = cpu
        cfg, se_conf = load_config(config), load_se_config(se_config)
        cfg.train.ensemble = members
        made.append(
            ("cpu", untrained_package(tmp / f"cpu_{cfg.system}", cfg, se_conf), se_conf.model)
        )
    real = [("package", Path(p), "") for p in packages]
    return [_target(*target) for target in [*made, *real]]


def _target(size: str, path: Path, se_model: str) -> InferTarget:
    """What the package's card says it is (a bad package is one line, before any row); its
    SE: ``se_model``, else the card's (a trained SE's card may not name its kind: ``yes``)."""
    from trnet.infer.package_format import FUNCTIONALS, read_package

    package = read_package(path)
    card = package.card
    se = "-"
    if package.has_se:
        se = se_model or (card.get("se") or {}).get("model") or "yes"
    system = str(card.get("system", package.config.system))
    inputs = 0
    if FUNCTIONALS in package.files:
        record = package.read_json(FUNCTIONALS)
        inputs = len(record.get("inputs") or []) if isinstance(record, dict) else 0
    members = int(card.get("members", 1))
    return InferTarget(size, system, str(se), members, Path(path), inputs)


def functionals_floor(files: list[str], repeat: int) -> float:
    """Seconds of openSMILE eGeMAPSv02 per second of audio when each file is one call (no
    windows, no overlap): the least functionals work any window layout does for one input,
    so a model taking K inputs' functionals runs at most 1 / (K × this) × real time on one
    core, whatever the rest costs (openSMILE runs on one thread). Best of ``repeat``."""
    import soundfile as sf

    from trnet.classic.egemaps import functionals_of, smile_extractor

    smile = smile_extractor()
    waves = [sf.read(f, dtype="float32")[0] for f in files]
    functionals_of(waves[0], SR, smile)  # warm-up
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        for w in waves:
            functionals_of(w, SR, smile)
        best = min(best, time.perf_counter() - start)
    return best / (sum(len(w) for w in waves) / SR)


def write_speechlike(path: Path, seconds: float, rng: np.random.Generator) -> None:
    """A harmonic 'voice' with a gliding f0 in white noise (about 10 dB SNR), 16 kHz int16."""
    import soundfile as sf

    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(100, 250) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(1, 4) * t))
    x = sum(np.sin(k * 2 * np.pi * np.cumsum(f0) / SR) / k for k in range(1, 10))
    x = x + 0.3 * rng.standard_normal(t.size)
    sf.write(path, (0.3 * x / np.abs(x).max()).astype(np.float32), SR, subtype="PCM_16")


def bench_infer(
    conf_dirs: dict[str, Path],
    n_files: int = 4,
    seconds: float = 30.0,
    batch: int = 16,
    repeat: int = 2,
    threads: int = 1,
    seed: int = 0,
    on_row: object = None,
    cpu: tuple[Path, Path, int] | None = None,
    packages: Iterable[Path] = (),
    short_files: int = 16,
) -> dict:
    """Real-time factor (wall / audio) of EmotionRecognizer.predict_batch on CPU — the path
    of ``trnet infer`` — for each package of :func:`infer_targets` (untrained weights:
    speed does not depend on them; or real packages), batch 1 and ``batch``, on generated
    audio: the :data:`LONG` set (``n_files`` × ``seconds``) and, with ``short_files``, the
    :data:`SHORT` set (that many files of 2-3 s). Each row also has the seconds of each
    phase (:data:`trnet.infer.recognizer.INFER_PHASES`). ``threads``: torch intra-op
    threads of the measured process, which the NSNet2 session takes too (0: torch's
    default). Where a package takes functionals, ``functionals_floor`` has each audio set's
    :func:`functionals_floor` (the bound openSMILE sets)."""
    import multiprocessing as mp

    rows = []
    with tempfile.TemporaryDirectory(prefix="trnet-bench-infer-") as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(seed)
        sets: dict[str, list[str]] = {LONG: []}
        audio_s = {LONG: n_files * seconds}
        for i in range(n_files):
            sets[LONG].append(str(tmp / f"long{i}.wav"))
            write_speechlike(Path(sets[LONG][-1]), seconds, rng)
        if short_files:
            lengths = np.round(rng.uniform(2.0, 3.0, short_files), 2)
            sets[SHORT] = [str(tmp / f"short{i}.wav") for i in range(short_files)]
            for path, length in zip(sets[SHORT], lengths, strict=True):
                write_speechlike(Path(path), float(length), rng)
            audio_s[SHORT] = float(sum(int(x * SR) for x in lengths) / SR)
        ctx = mp.get_context("spawn")
        targets = infer_targets(tmp, conf_dirs, cpu, packages)
        floor = {}
        if any(t.functionals_inputs for t in targets):
            floor = {name: functionals_floor(files, repeat) for name, files in sets.items()}
        for target in targets:
            head = {
                k: getattr(target, k)
                for k in ("size", "system", "se", "members", "functionals_inputs")
            }
            for name, files in sets.items():
                for b in sorted({1, batch}):
                    queue = ctx.Queue()
                    proc = ctx.Process(
                        target=_infer_child,
                        args=(str(target.package), files, b, max(1, repeat), threads, queue),
                    )
                    proc.start()
                    result = queue.get()
                    proc.join()
                    rows.append({**head, "audio": name, "batch": b, **result})
                    if callable(on_row):
                        on_row(rows[-1], audio_s[name])
    return {
        "rows": rows,
        "audio_s": audio_s,
        "functionals_floor": floor,
        "files": {name: len(files) for name, files in sets.items()},
        "n_files": n_files,
        "seconds": seconds,
    }


def phase_shares(row: dict) -> dict[str, tuple[float, float]]:
    """A row's ``phase → (wall s, share of the run's wall time)`` for every phase of
    :data:`trnet.infer.recognizer.INFER_PHASES` and ``other`` (the rest of the run: window
    bookkeeping, the file's average, the model's batching); the shares sum to 1."""
    from trnet.infer.recognizer import INFER_PHASES

    wall = row["wall"]
    out = {p: row["phases"].get(p, 0.0) for p in INFER_PHASES}
    out["other"] = wall - sum(out.values())
    return {p: (t, t / wall if wall > 0 else float("nan")) for p, t in out.items()}


# ---- trnet bench train --------------------------------------------------------------------

TRAIN_LOOP_PHASES = (
    ("data", "data: batches (read, VAD trim, crop, functionals, collate)"),
    ("L_high target", "data: L_high target (Baseline-c on the crop)"),
    ("SpecAugment", "data: SpecAugment"),
    ("forward + loss", "forward + loss"),
    ("backward", "backward"),
    ("optimiser step", "optimiser step (grad clip + Adam)"),
    ("step bookkeeping", "step bookkeeping (loss sums)"),
)
"""Timer phase → table row, inside the trainer's training phase (``train``)."""

TRAIN_RUN_PHASES = (
    ("signature", "signature (input digests)"),
    ("setup", "setup (features, cache, CMVN, model)"),
    ("kernel prefit", "kernel prefit"),
    ("train", "training phase"),
    ("BN re-estimation", "BN re-estimation"),
    ("dev evaluation", "dev evaluation"),
    ("checkpoints", "checkpoints (best.pt, epoch<N>.pt, metrics)"),
    ("clean embeddings", "clean embeddings (export)"),
)
"""Timer phase → table row, the whole run; their sum and ``other`` make its wall time."""

MODEL_STEP = ("forward + loss", "backward", "optimiser step")
"""The phases the bare loop also runs (its whole work)."""


def bare_train(
    net: torch.nn.Module,
    cfg: Config,
    epochs: Iterable[list[dict[str, torch.Tensor]]],
    ce_weight: torch.Tensor | None,
) -> tuple[int, int, float, float]:
    """The plain training loop over batches already in memory: forward, the config's loss,
    backward, grad clip, Adam (the config's settings); no data pipeline, no evaluation.
    ``epochs`` yields each epoch's batches (made before the epoch's clock starts).
    Returns (steps, examples, wall s, CPU s)."""
    import torch

    from trnet.train import losses

    params = [p for p in net.parameters() if p.requires_grad]
    optim = torch.optim.Adam(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
    steps = examples = 0
    wall = cpu = 0.0
    for batches in epochs:
        start, start_cpu = time.perf_counter(), time.process_time()
        net.train()
        for batch in batches:
            x, x_enh = batch["inputs"][:, 0], None
            if batch["inputs"].shape[1] > 1:
                x_enh = batch["inputs"][:, 1]
            out = net(x, x_enh, **({"func": batch["func"]} if "func" in batch else {}))
            clean = net.normalize(batch["clean"]) if "clean" in batch else None
            parts = losses.loss_parts(out, batch, clean, cfg.loss, ce_weight)
            loss = losses.total(parts, losses.weights(parts, params, cfg.loss))
            optim.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
            optim.step()
            steps += 1
            examples += len(batch["label"])
        wall += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
    return steps, examples, wall, cpu


def bench_train(
    cfg: Config,
    fold: int,
    data_root: Path,
    dump: Path,
    epochs: int | None = None,
    threads: int = 0,
    device: str = "cpu",
) -> dict:
    """Train one model of ``cfg`` on ``fold`` (``epochs``: at most that many) with the
    trainer, its phases timed, into a temporary dir; then the bare loop (:func:`bare_train`)
    on the same model class, built from the config and started from the same weights, over
    the same batches (the trainer's own pipeline makes them again, epoch by epoch, outside
    the clock) for the same number of steps. The trainer runs first, so its first steps pay
    for the process's warm-up and the ratio errs low. ``threads``: torch intra-op threads
    (0: the config's ``train.threads``, else torch's default)."""
    import torch

    from trnet.ddp import setup_dist, teardown_dist
    from trnet.models.factory import build_ser_model
    from trnet.train.ensemble import member_config
    from trnet.train.loop import Trainer
    from trnet.train.phases import NO_TIMER, PhaseTimer
    from trnet.train.signature import train_signature

    members = cfg.train.ensemble
    cfg = member_config(cfg, 0)  # one model (an ensemble's first member)
    if epochs:
        cfg.train.max_epochs = min(cfg.train.max_epochs, epochs)
    if threads:
        cfg.train.threads = threads
        torch.set_num_threads(threads)
    env = setup_dist(device)
    sync = torch.cuda.synchronize if env.device.type == "cuda" else None
    timer = PhaseTimer(sync)
    try:
        with tempfile.TemporaryDirectory(prefix="trnet-bench-train-") as tmp:
            start, start_cpu = time.perf_counter(), time.process_time()
            with timer.phase("signature"):
                train_signature(cfg, fold, Path(data_root), Path(dump))
            trainer = Trainer(cfg, fold, Path(data_root), Path(dump), Path(tmp), env, timer)
            initial = copy.deepcopy(trainer.net.state_dict())
            trainer.run(resume=False)
            wall = time.perf_counter() - start
            cpu = time.process_time() - start_cpu
            trained = trainer.epoch
            trainer.timer = NO_TIMER

            def batches_of_each_epoch() -> Iterator[list[dict[str, torch.Tensor]]]:
                for epoch in range(trained):
                    trainer.epoch = epoch
                    yield list(trainer.epoch_batches())

            net = build_ser_model(cfg.model, seed=cfg.train.seed).to(env.device)
            net.load_state_dict(initial)
            bare = bare_train(net, cfg, batches_of_each_epoch(), trainer.ce_weight)
    finally:
        teardown_dist(env)
    return {
        "phases": {n: (timer.wall[n], timer.cpu[n], timer.count[n]) for n in timer.wall},
        "wall": wall,
        "cpu": cpu,
        "epochs": trained,
        "bare": dict(zip(("steps", "examples", "wall", "cpu"), bare, strict=True)),
        "steps": timer.count.get("forward + loss", 0),
        "threads": torch.get_num_threads(),
        "device": str(env.device),
        "members": members,
        "system": cfg.system,
    }
