"""The epoch loop of one model: ``Trainer(...).run(resume)``, started by the fold runner
(:mod:`trnet.train.fold_run`) or ``trnet bench train``.

Writes ``<out>/config.yaml`` (resolved), ``checkpoints/epoch<N>.pt`` (model, optimiser,
scheduler, RNG states and history: ``--resume`` continues bit-for-bit), ``best.pt`` (by
dev UAR), ``train.log``, ``metrics.tsv`` and ``.done`` last. Under ``torchrun`` it trains
with DDP (gloo on CPU, nccl on GPU), each rank on its share of every epoch's examples
(batch_size is the global batch); rank 0 scores the dev set and writes every file. What
runs beside the epochs (the kernel hybrid's prefit, BatchNorm re-estimation, Baseline-c's
clean embeddings) are hooks (:mod:`trnet.train.hooks`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from trnet import checkpoint, determinism
from trnet.contract import CLASSES, CLEAN
from trnet.ddp import Dist
from trnet.errors import TrnetError
from trnet.io import atomic_write
from trnet.models.factory import build_ser_model
from trnet.scoring.metrics import uar, war
from trnet.train import losses
from trnet.train.config import Config, config_to_dict, dump_config
from trnet.train.data import (
    ExampleSet,
    FeatureStore,
    class_weights,
    dev_examples,
    every_train_example,
    functional_stats,
    functionals_conditions,
    global_cmvn,
    load_functionals,
    model_functionals,
    set_options,
    spec_augment,
    train_examples,
)
from trnet.train.fold_data import load_fold, load_z_clean, load_z_teacher
from trnet.train.hooks import Hook, default_hooks
from trnet.train.phases import NO_TIMER, NoTimer
from trnet.train.predict import extra_inputs, predict, split_inputs
from trnet.train.signature import fold_needs

METRIC_COLUMNS = (
    "epoch",
    "lr",
    "loss",
    "ce",
    "low",
    "high",
    "w_low",
    "w_high",
    "dev_uar",
    "dev_war",
    "seconds",
)


class Trainer:
    """State and steps of one model's training; :meth:`run` does everything. ``hooks``
    (default: those the config asks for, :func:`trnet.train.hooks.default_hooks`) act
    beside the epochs. ``timer`` (:mod:`trnet.train.phases`) times its phases for
    ``trnet bench train``; it only reads clocks, so a timed run trains the same model."""

    def __init__(
        self,
        cfg: Config,
        fold: int,
        data_root: Path,
        dump: Path,
        out: Path,
        env: Dist,
        timer: NoTimer = NO_TIMER,
        hooks: list[Hook] | None = None,
    ) -> None:
        self.timer = timer
        with timer.phase("setup"):
            self.setup(cfg, fold, data_root, dump, out, env)
        self.hooks = default_hooks(cfg, self.net) if hooks is None else hooks

    def setup(
        self, cfg: Config, fold: int, data_root: Path, dump: Path, out: Path, env: Dist
    ) -> None:
        """Features (and their in-memory cache), CMVN, model, optimiser, dev set."""
        self.cfg, self.fold, self.out, self.env = cfg, fold, out, env
        if cfg.train.threads and not determinism.enabled():  # deterministic: one thread
            torch.set_num_threads(cfg.train.threads)
        self.store = FeatureStore(dump, cache=cfg.train.cache_feats)
        self.data = load_fold(data_root, fold)
        self.check_features()
        self.z_clean = load_z_clean(cfg, fold, self.data.train)
        self.z_teacher = load_z_teacher(cfg, fold)  # loss.z_clean_on: crop
        self.with_clean = cfg.loss.alpha > 0 or self.z_teacher is not None
        if self.z_teacher is not None:
            self.z_teacher.to(env.device)
        torch.manual_seed(cfg.train.seed)
        self.net = build_ser_model(cfg.model, seed=cfg.train.seed)
        self.net.set_cmvn(*global_cmvn(self.store, self.data.train))
        self.func = None
        if cfg.model.functionals:
            with self.timer.phase("setup: functionals"):
                self.func = self.hybrid_functionals(dump)
        self.net.to(env.device)
        self.model: torch.nn.Module = self.net
        if env.world > 1:
            ids = [env.device.index] if env.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.net, device_ids=ids)
        self.params = [p for p in self.net.parameters() if p.requires_grad]
        self.optim = torch.optim.Adam(
            self.param_groups(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
        )
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optim, mode="max", factor=cfg.optim.lr_factor, patience=cfg.optim.lr_patience
        )
        self.epoch, self.best_uar, self.best_epoch = 0, -1.0, 0
        self.history: list[dict[str, float]] = []
        self.dev_set = ExampleSet(
            dev_examples(self.data.dev, cfg.dev_conditions()),
            self.store,
            cfg.data.input,
            cfg.data.max_len,
            functionals=self.func,
            functionals_input=cfg.model.functionals_input,
            **set_options(cfg.data, train=False),
        )
        self.ce_weight = None
        if cfg.loss.class_weight == "balanced":
            labels = (self.data.labels[u] for u in self.data.train)
            self.ce_weight = class_weights(labels, len(CLASSES)).to(env.device)

    def param_groups(self) -> list[dict]:
        """One group, or two when a kernel hybrid's linear layer has its own learning rate
        (it is a convex kernel machine that needs many more steps than the CNN gets)."""
        kernel = self.net.func_linear
        scale = self.cfg.optim.kernel_lr_scale
        if kernel is None or scale == 1.0:
            return [{"params": self.params}]
        ids = {id(p) for p in kernel.parameters()}
        rest = [p for p in self.params if id(p) not in ids]
        lr = self.cfg.optim.lr * scale
        return [{"params": rest}, {"params": list(kernel.parameters()), "lr": lr}]

    def hybrid_functionals(self, dump: Path) -> dict[str, dict[str, np.ndarray]]:
        """The functionals of every example this fold may use (train: every training
        condition; dev: its drawn conditions; clean for the embeddings), and the model's
        standardising statistics: from every vector of every training example
        (``functionals_norm: train``) or of the clean training utterances (``clean``), of
        each input the branch is fed (``model.functionals_input``)."""
        cfg, utts = self.cfg, self.data.train
        kind, mode = cfg.data.input, cfg.model.functionals_input
        every = [*cfg.train_conditions(), *cfg.train_corruption_conditions()]
        examples = [(u, c) for c in every for u in utts]
        examples += dev_examples(self.data.dev, cfg.dev_conditions())
        examples += [(u, CLEAN) for u in utts + self.data.dev]
        table = load_functionals(dump, examples, kind, mode=mode)
        if cfg.model.functionals_norm == "train":  # every training example, all conditions
            func = self.training_functionals(table)[0]
            vectors = func.reshape(-1, func.shape[-1])  # blend, both: both inputs' rows
        else:
            clean = functionals_conditions(CLEAN, kind, mode)
            vectors = [table[c][u] for c in clean for u in utts]
        self.net.set_functional_stats(*functional_stats(vectors))
        return table

    def training_functionals(
        self, table: dict[str, dict[str, np.ndarray]]
    ) -> tuple[np.ndarray, list[int]]:
        """The ``func`` (N, 88), or (N, 2, 88) with ``functionals_input`` blend or both, and
        labels of every training utterance in every training condition (what the SVM
        reference is fitted on), from ``table``; with ``data.train_corruptions`` each a
        corruption condition with its probability (:func:`trnet.train.data.every_train_example`)."""
        cfg = self.cfg
        kind, mode = cfg.data.input, cfg.model.functionals_input
        examples = every_train_example(
            self.data.train, cfg.train_conditions(), cfg.train.seed, cfg.data.train_corruptions
        )
        through = cfg.data.clean_through_se
        func = np.stack([model_functionals(table, u, c, kind, mode, through) for u, c in examples])
        return func, [self.data.labels[u] for u, _ in examples]

    def check_features(self) -> None:
        needs = fold_needs(self.cfg, self.data)
        self.store.check(needs, f"fold {self.fold} ({self.cfg.system})")

    def log(self, msg: str) -> None:
        if not self.env.main:
            return
        from tqdm import tqdm

        line = f"{time.strftime('%F %T')} {msg}"
        tqdm.write(line)
        with open(self.out / "train.log", "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def write_metrics(self) -> None:
        with atomic_write(self.out / "metrics.tsv") as f:
            f.write("\t".join(METRIC_COLUMNS) + "\n")
            for row in self.history:
                f.write("\t".join(_fmt(row[c]) for c in METRIC_COLUMNS) + "\n")

    def rng_states(self) -> list[dict]:
        state = {"torch": torch.get_rng_state()}
        if self.env.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.env.device)
        if self.env.world == 1:
            return [state]
        gathered: list = [None] * self.env.world
        dist.all_gather_object(gathered, state)
        return gathered

    def save(self) -> None:
        rng = self.rng_states()
        if not self.env.main:
            return
        state = {
            "epoch": self.epoch,
            "config": config_to_dict(self.cfg),
            "fold": self.fold,
            "model": self.net.state_dict(),
            "optim": self.optim.state_dict(),
            "sched": self.sched.state_dict(),
            "rng": rng,
            "history": self.history,
            "best_uar": self.best_uar,
            "best_epoch": self.best_epoch,
        }
        ckpt_dir = self.out / "checkpoints"
        checkpoint.save(ckpt_dir / f"epoch{self.epoch}.pt", state)
        checkpoint.prune(ckpt_dir, self.cfg.train.keep_checkpoints)
        self.write_metrics()

    def restore(self, resume: bool) -> None:
        found = checkpoint.epochs(self.out / "checkpoints")
        if not found:
            return
        if not resume:
            raise TrnetError(
                f"{self.out}: holds checkpoints of an unfinished run; pass --resume (or remove it)"
            )
        state = checkpoint.load(self.out / "checkpoints" / f"epoch{found[-1]}.pt")
        if state["config"] != config_to_dict(self.cfg) or state["fold"] != self.fold:
            raise TrnetError(
                f"{self.out}: --resume with a different config or fold than the checkpoints"
            )
        self.net.load_state_dict(state["model"])
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        rng = state["rng"][self.env.rank if len(state["rng"]) == self.env.world else 0]
        torch.set_rng_state(rng["torch"])
        if "cuda" in rng and self.env.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.env.device)
        self.epoch, self.history = state["epoch"], state["history"]
        self.best_uar, self.best_epoch = state["best_uar"], state["best_epoch"]
        self.log(f"resumed from epoch {self.epoch}")

    # ---- one epoch -----------------------------------------------------------------
    def epoch_examples(self) -> list[tuple[str, str]]:
        cfg, env = self.cfg, self.env
        examples = train_examples(
            self.data.train,
            cfg.train_conditions(),
            cfg.train.seed,
            self.epoch,
            cfg.data.train_corruptions,
        )
        order = np.random.default_rng([cfg.train.seed, self.epoch, 1]).permutation(len(examples))
        examples = [examples[i] for i in order]
        if env.world > 1:
            examples += examples[: (-len(examples)) % env.world]
            examples = examples[env.rank :: env.world]
        return examples

    def epoch_set(self, examples: list[tuple[str, str]]) -> ExampleSet:
        cfg = self.cfg
        return ExampleSet(
            examples,
            self.store,
            cfg.data.input,
            cfg.data.max_len,
            labels=self.data.labels,
            with_clean=self.with_clean,
            z_clean=self.z_clean,
            functionals=self.func,
            functionals_input=cfg.model.functionals_input,
            **set_options(cfg.data, train=True, epoch_key=(cfg.train.seed, self.epoch)),
        )

    def epoch_batches(self) -> Iterator[dict[str, torch.Tensor]]:
        """This epoch's training batches on the device, SpecAugmented: what the model is fed
        (``trnet bench train`` feeds them to a bare loop too)."""
        from tqdm import tqdm

        cfg, env, timer = self.cfg, self.env, self.timer
        data = self.epoch_set(self.epoch_examples())
        bs = max(2, cfg.train.batch_size // env.world)
        loader = torch.utils.data.DataLoader(
            data, batch_size=bs, shuffle=False, drop_last=len(data) % bs == 1
        )
        augment = cfg.data.freq_masks > 0 or cfg.data.time_masks > 0
        batches = tqdm(
            loader,
            desc=f"epoch {self.epoch + 1}",
            leave=False,
            disable=None if env.main else True,
        )  # disable=None: no bar where stderr is not a terminal (a recipe's log file)
        for step, batch in enumerate(timer.iterate("data", batches)):
            with timer.phase("data", count=False):  # the same batch's time
                batch = {k: v.to(env.device) for k, v in batch.items()}
            if self.z_teacher is not None:  # L_high's target: Baseline-c's z of this crop
                with timer.phase("L_high target"), torch.no_grad():
                    batch["zc"] = self.z_teacher.embed(batch["clean"])
            if augment:  # SpecAugment (data.freq_masks / data.time_masks)
                with timer.phase("SpecAugment"):
                    key = (cfg.train.seed, self.epoch, env.rank, step)
                    batch["inputs"] = spec_augment(
                        batch["inputs"], self.net.cmvn_mean, cfg.data, key
                    )
            yield batch

    def train_epoch(self) -> dict[str, float]:
        cfg, env, timer = self.cfg, self.env, self.timer
        sums = torch.zeros(5, dtype=torch.float64)  # examples, then loss, ce, low, high summed
        w_sum = {"low": 0.0, "high": 0.0}
        self.model.train()
        for batch in self.epoch_batches():
            with timer.phase("forward + loss"):
                out = self.model(
                    *split_inputs(batch["inputs"], env.device), **extra_inputs(batch, env.device)
                )
                clean_x = self.net.normalize(batch["clean"]) if "clean" in batch else None
                parts = losses.loss_parts(out, batch, clean_x, cfg.loss, self.ce_weight)
                weights = self.average(losses.weights(parts, self.params, cfg.loss))
                loss = losses.total(parts, weights)
            with timer.phase("backward"):
                self.optim.zero_grad(set_to_none=True)
                loss.backward()
            with timer.phase("optimiser step"):
                torch.nn.utils.clip_grad_norm_(self.params, cfg.optim.grad_clip)
                self.optim.step()
            with timer.phase("step bookkeeping"):
                n = len(batch["label"])
                vals = [loss] + [parts.get(k, torch.zeros(())) for k in ("ce", "low", "high")]
                sums[:5] += torch.tensor(
                    [n] + [float(v.detach()) * n for v in vals], dtype=torch.float64
                )
                for k, w in weights.items():
                    w_sum[k] += w * n
        if env.world > 1:
            w_tensor = torch.tensor([w_sum["low"], w_sum["high"]], dtype=torch.float64)
            dist.all_reduce(sums)
            dist.all_reduce(w_tensor)
            w_sum = {"low": float(w_tensor[0]), "high": float(w_tensor[1])}
        n = max(float(sums[0]), 1.0)
        row = {k: float(sums[i + 1]) / n for i, k in enumerate(("loss", "ce", "low", "high"))}
        row.update({"w_low": w_sum["low"] / n, "w_high": w_sum["high"] / n})
        return row

    def average(self, weights: dict[str, float]) -> dict[str, float]:
        """Gradnorm weights averaged over ranks so every rank optimises the same loss."""
        if self.env.world == 1 or self.cfg.loss.weighting == "fixed" or not weights:
            return weights
        t = torch.tensor(list(weights.values()), dtype=torch.float64)
        dist.all_reduce(t)
        return {k: float(v) / self.env.world for k, v in zip(weights, t, strict=True)}

    def evaluate(self) -> tuple[float, float]:
        """Dev UAR and WAR, computed on rank 0 and broadcast."""
        result = torch.zeros(2, dtype=torch.float64)
        if self.env.main:
            outs = predict(self.net, self.dev_set, self.cfg.train.batch_size, self.env.device)
            ref = [self.data.labels[u] for u, _ in self.dev_set.examples]
            hyp = outs.posteriors.argmax(1).tolist()
            result[:] = torch.tensor([uar(ref, hyp, len(CLASSES)), war(ref, hyp)])
        if self.env.world > 1:
            dist.broadcast(result, 0)
        return float(result[0]), float(result[1])

    # ---- the whole run ---------------------------------------------------------------
    def run(self, resume: bool) -> None:
        cfg = self.cfg
        if self.env.main:
            self.out.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.out / "config.yaml") as f:
                f.write(dump_config(cfg))
        self.restore(resume)
        if self.epoch == 0:  # a fresh run
            for hook in self.hooks:
                hook.start(self)
        self.log(
            f"{cfg.system} fold {self.fold}: {len(self.data.train)} train, "
            f"{len(self.data.dev)} dev utts, device {self.env.device}, {self.env.world} process(es)"
        )
        while (
            self.epoch < cfg.train.max_epochs
            and self.epoch - self.best_epoch < cfg.train.early_stop
            and self.optim.param_groups[0]["lr"] >= cfg.train.stop_lr  # restored on --resume
        ):
            start = time.time()
            with self.timer.phase("train"):
                row = self.train_epoch()
            for hook in self.hooks:
                hook.after_epoch(self)
            with self.timer.phase("dev evaluation"):
                dev_uar, dev_war = self.evaluate()
            self.epoch += 1
            lr = self.optim.param_groups[0]["lr"]
            self.sched.step(dev_uar)
            row.update(
                epoch=self.epoch,
                lr=lr,
                dev_uar=dev_uar,
                dev_war=dev_war,
                seconds=time.time() - start,
            )
            self.history.append(row)
            with self.timer.phase("checkpoints"):
                if dev_uar > self.best_uar or cfg.train.select == "last":
                    self.best_uar, self.best_epoch = dev_uar, self.epoch
                    if self.env.main:
                        checkpoint.save(self.out / "best.pt", self.best_state(dev_uar))
                self.save()
            self.log(
                f"epoch {self.epoch}: loss {row['loss']:.4f} (ce {row['ce']:.4f} "
                f"low {row['low']:.4f} high {row['high']:.4f}) "
                f"dev UAR {dev_uar:.4f} WAR {dev_war:.4f} lr {lr:.2e}"
            )
        if self.optim.param_groups[0]["lr"] < cfg.train.stop_lr:
            self.log(f"stopped at epoch {self.epoch}: lr below train.stop_lr {cfg.train.stop_lr:g}")
        which = "last epoch kept" if cfg.train.select == "last" else "best dev UAR"
        self.log(f"{which}: dev UAR {self.best_uar:.4f} at epoch {self.best_epoch}")
        if self.env.main:
            for hook in self.hooks:
                hook.end(self)
            with atomic_write(self.out / ".done") as f:
                f.write(f"best_epoch {self.best_epoch}\ndev_uar {self.best_uar:.6f}\n")
        if self.env.world > 1:
            dist.barrier()

    def best_state(self, dev_uar: float) -> dict:
        return {
            "config": config_to_dict(self.cfg),
            "system": self.cfg.system,
            "fold": self.fold,
            "epoch": self.epoch,
            "dev_uar": dev_uar,
            "model": self.net.state_dict(),
        }


def _fmt(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.6g}"
