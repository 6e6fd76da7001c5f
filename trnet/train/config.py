"""Training configs: YAML → dataclasses, strictly validated.

Every section is a dataclass; a key that is not a field, a missing required field or a
value of the wrong type raises :class:`TrnetError` naming the file, the section and the
allowed keys. Fields with a default are optional. ``config.yaml`` in an experiment dir is
:func:`dump_config` of the resolved config.

Systems as configs (``egs/iemocap/conf``): ``data.input`` picks the model input
(``noisy``: the drawn condition's features, ``enhanced``: its ``_enh`` twin, ``blend``:
both, with the compensation), ``data.snrs: []`` means clean training only.
``model.s_gradient``: ``hardtanh`` (the paper's; s gets no gradient once clamped) or
``inward`` (the same forward clamp, whose gradient may pull s back into [0, 1]; see
:class:`trnet.models.ser.InwardClamp`).

TRNet's ablation knobs (issue 25; each default is the paper's TRNet and is left out of the
resolved config, so no existing config or exp dir changes; ``conf/cpu/trnet_abl_*.yaml``):
``model.s_features``: what the per-bin cosine similarities that s is computed from are taken
on, ``cmvn`` (the CMVN-normalised features) or ``raw`` (the raw log-Mel, where each bin's
mean level dominates); ``model.s_clamp``: ``hardtanh`` or ``sigmoid`` (s never exactly 0 or 1,
so it keeps a gradient; ``s_gradient: inward`` is for hardtanh only); ``model.s_window``: 0
(one s per utterance) or an odd number of frames K, a per-frame s(t) from each bin's cosine
over the K frames centred on t, the inputs blended frame by frame and the utterance's s (the
bridge's input, the blended functionals' weight, ``utt2s``) the mean of s(t) over its real
frames. These three need the compensation. ``data.clean_through_se``: true (the default,
and what happens in every existing run) feeds a clean training example's enhanced input
from ``clean_enh``, the SE's output on clean speech, as every dev and test utterance gets;
false feeds the clean features themselves in training only (clean speech bypasses the SE:
X~ is clean whatever s); it needs ``data.input: blend`` and ``model.functionals_input:
noisy``. ``loss.z_clean_on``: ``utterance`` (the default: L_high pulls towards Baseline-c's
exported ``emb_clean``, of the whole VAD-trimmed clean utterance when ``data.eval_full`` is
on) or ``crop`` (towards Baseline-c's frozen model's embedding of the clean twin of exactly
the frames of each training crop, :func:`trnet.train.fold_data.load_z_teacher`; needs
``loss.beta > 0``). ``loss.weighting: gradnorm`` (the paper's balanced weights; ``fixed``:
``alpha`` and ``beta``) is in :mod:`trnet.train.losses`.

Engineering keys of ``train`` (no effect on the model's definition):
``bn_recalib: N`` re-estimates every BatchNorm's running statistics after each epoch on
the first N examples of that epoch (dropout off, exact averages; 0 = off, the plain
momentum estimate). On small data the momentum estimate lags the weights and carries
dropout's variance, so the eval-mode model can sit at chance while training learns.
Real-speech keys (``conf/cpu``; the defaults keep the earlier behaviour): ``data.crop:
random`` trains on a random ``max_len`` window of each utterance (drawn per epoch from
``(seed, epoch, utt)``) instead of its first frames; ``data.eval_full`` scores dev, test
and embeddings on whole utterances (zero-padded after CMVN, masked in the attention
pooling, batches sorted by length); ``data.vad_db`` trims leading and trailing frames whose
mean log-Mel energy is more than that many dB below the loud frames (train and decode);
``data.{freq,time}_{masks,width}``: SpecAugment masks (to the CMVN mean) on training
batches; ``loss.class_weight: balanced`` weights the cross-entropy by inverse class
frequency of the training fold. ``model.functionals`` (a hybrid): the 88 eGeMAPSv02
functionals of the input audio (``trnet.classic.egemaps``, cached per condition;
``blend``: by default those of the noisy input), standardised on the clean training set, are
concatenated to the embedding z before the classifier; ``model.functionals_norm: train``
standardises them on every training example (all conditions, as the SVM reference does)
instead of the clean ones, which puts noisy functionals far out of range;
``model.functionals_head: kernel`` adds them as an RBF kernel machine instead (fixed random
Fourier features, ``kernel_dim`` of them, and a linear layer whose logits are added to the
embedding classifier's; see :class:`trnet.models.ser.KernelFeatures`).
``model.functionals_input`` says whose functionals a blend system's branch gets:
``noisy`` (the default and the earlier behaviour: the noisy input's, so TRNet's branch sees
what Baseline-n's sees), ``enhanced`` (the enhanced twin's, as Baseline-e's), ``blend`` (the
cached vectors of both, each standardised, blended by the model's own s as the spectrograms
are: ``s f_n + (1 - s) f_e``; the functionals of the blended signal itself cannot be cached,
since s is learnt, and the branch's loss trains s too) or ``both`` (the two standardised
vectors side by side, 176 inputs); every value but ``noisy`` needs ``data.input: blend``.
One set of statistics standardises both vectors, fitted on every vector fed
(``functionals_norm: train``: both inputs of every training example) or on the clean training
utterances of each input fed (``clean``: ``clean`` and ``clean_enh``); the kernel prefit of
``blend`` fits both ends of the blend (s = 1 and s = 0) of every training example.
``train.select:
last`` keeps the last epoch instead of the best dev epoch: with a dev set of one speaker
(EmoDB's folds) the best-dev epoch is mostly that speaker's noise. ``train.ensemble: K``
trains K models per fold, member k with seed ``seed + k`` (each the model ``trnet train
--seed <seed+k>`` gives, in ``<out>/member<k>``), and decoding averages their
log-posteriors: on a few hundred utterances one seed moves UAR by several points, and the
average of a few is both better and steadier than any one of them. An ensemble Baseline-c
(``export_clean_emb``) gives TRNet its first member's clean embeddings as the target.
``train.stop_lr`` ends training once the plateau schedule has lowered the learning rate below
it (fairseq's ``--stop-min-lr``): on EmoDB the epochs after the second reduction (lr / 100)
were 45 % of the training time and moved little (egs/emodb/RESULTS.md).
``data.train_corruptions`` (issue 27, docs/corruptions.md), e.g. ``{rev-0.6: 0.1, mp3-24k:
0.05}``: per utterance and epoch a corruption condition (``dump/<condition>``, made by
``trnet corrupt``) with its probability, otherwise a condition of the noise set drawn as
without the key (dev conditions are unchanged). ``cache_feats`` keeps every feature
matrix read in memory (small corpora; reading is then once per utterance and condition).
``threads`` sets torch's intra-op threads (0 = torch's default).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trnet.config_file import read_config
from trnet.contract import (
    BLEND,
    CLEAN,
    FUNCTIONALS_INPUTS,
    INPUT_KINDS,
    NOISY,
    format_condition,
    single_corruption,
)
from trnet.errors import TrnetError
from trnet.strict import build

WEIGHTINGS = ("fixed", "gradnorm")
CROPS = ("start", "random")
CLASS_WEIGHTS = ("none", "balanced")
FUNC_NORMS = ("clean", "train")
SELECTS = ("best", "last")
Z_CLEAN_ON = ("utterance", "crop")


@dataclass
class ModelConfig:
    channels: list[int]
    emb_dim: int
    hidden: int = 128
    conv_dropout: float = 0.2
    head_dropout: float = 0.3
    compensation: bool = False
    bridge: bool = False
    s_gradient: str = "hardtanh"  # hardtanh (the paper's) | inward (see models.ser.InwardClamp)
    s_features: str = "cmvn"  # cmvn | raw: the features s's cosine similarities are taken on
    s_clamp: str = "hardtanh"  # hardtanh (the paper's) | sigmoid
    s_window: int = 0  # 0: one s per utterance | odd K: a per-frame s(t) over K-frame windows
    functionals: bool = False  # hybrid: eGeMAPS functionals of the input fused into z
    functionals_norm: str = "clean"  # clean | train: standardised on clean or all training examples
    functionals_head: str = "mlp"  # mlp: concatenated to z | kernel: + an RBF kernel machine
    kernel_dim: int = 2048  # kernel: random Fourier features
    kernel_gamma: float = 0.0  # kernel: RBF gamma; 0 = 1 / its input's size (sklearn's "scale")
    functionals_input: str = "noisy"  # noisy | enhanced | blend | both: whose functionals
    conv_input_grad: str = "native"  # native | forward: see trnet.contract.CONV_INPUT_GRADS


@dataclass
class DataConfig:
    input: str
    snrs: list[int]
    max_len: int
    include_clean: bool = True
    train_noise: str = "esc50_train"
    dev_noise: str = "esc50_dev"
    # Real-speech keys (conf/cpu); each default is the earlier behaviour (conf/slim, conf):
    crop: str = "start"  # start: the first max_len frames | random: a random window per epoch
    eval_full: bool = False  # dev/decode/embeddings on whole utterances (masked, length-sorted)
    vad_db: float = 0.0  # > 0: trim leading/trailing frames this many dB below the loud ones
    freq_masks: int = 0  # SpecAugment in training: masks over mel bins ...
    freq_width: int = 8  # ... each at most this many bins wide
    time_masks: int = 0  # ... and masks over frames ...
    time_width: int = 20  # ... each at most this many frames wide
    clean_through_se: bool = True  # false: clean training examples' enhanced input is clean
    # Corruption conditions drawn in training (issue 27), condition → probability per
    # utterance and epoch; otherwise a condition of train_conditions() as before ({}: none)
    train_corruptions: dict[str, float] = field(default_factory=dict)


@dataclass
class LossConfig:
    alpha: float = 0.0
    beta: float = 0.0
    weighting: str = "fixed"
    gradnorm_ratio: float = 0.5
    z_clean_from: str = ""
    z_clean_on: str = "utterance"  # utterance: the exported emb_clean | crop: the frames fed
    class_weight: str = "none"  # none | balanced (CE weighted by inverse training class frequency)
    branch_ce: float = 0.0  # kernel hybrid: + this times the CE of each branch's own logits


@dataclass
class OptimConfig:
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_factor: float = 0.1
    lr_patience: int = 15
    grad_clip: float = 10.0
    kernel_lr_scale: float = 1.0  # learning rate of a kernel hybrid's linear layer: lr times this


@dataclass
class TrainConfig:
    batch_size: int = 32
    max_epochs: int = 100
    early_stop: int = 50
    seed: int = 0
    keep_checkpoints: int = 2
    export_clean_emb: bool = False
    bn_recalib: int = 0
    cache_feats: bool = False
    threads: int = 0
    kernel_prefit: int = 0  # kernel hybrid: epochs fitting the functionals branch alone first
    select: str = "best"  # best: the epoch of the best dev UAR | last: the last epoch trained
    ensemble: int = 1  # models per fold, seeds seed..seed+K-1; decoding averages them
    stop_lr: float = 0.0  # stop once the plateau schedule takes the lr below this (0: never)


@dataclass
class Config:
    system: str
    model: ModelConfig
    data: DataConfig
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def train_conditions(self) -> list[str]:
        return self._conditions(self.data.train_noise)

    def dev_conditions(self) -> list[str]:
        return self._conditions(self.data.dev_noise)

    def train_corruption_conditions(self) -> list[str]:
        """The corruption conditions training may draw (``data.train_corruptions`` with a
        probability above 0), sorted."""
        return sorted(c for c, p in self.data.train_corruptions.items() if p > 0)

    def _conditions(self, noise: str) -> list[str]:
        return condition_list(self.data.include_clean, noise, self.data.snrs)


def condition_list(include_clean: bool, noise: str, snrs: list[int]) -> list[str]:
    """``clean`` (if included), then ``<noise>_<snr>`` for each SNR."""
    return ([CLEAN] if include_clean else []) + [format_condition(noise, snr) for snr in snrs]


def _check(cfg: Config, where: str) -> None:
    if cfg.data.input not in INPUT_KINDS:
        raise TrnetError(f"{where}: data.input must be one of {', '.join(INPUT_KINDS)}")
    from trnet.contract import S_GRADIENTS

    if cfg.model.s_gradient not in S_GRADIENTS:
        raise TrnetError(f"{where}: model.s_gradient must be one of {', '.join(S_GRADIENTS)}")
    _check_s(cfg, where)
    if cfg.data.crop not in CROPS:
        raise TrnetError(f"{where}: data.crop must be one of {', '.join(CROPS)}")
    from trnet.contract import CONV_INPUT_GRADS, FUNCTIONAL_HEADS

    model = cfg.model
    if model.functionals_norm not in FUNC_NORMS or model.functionals_head not in FUNCTIONAL_HEADS:
        raise TrnetError(
            f"{where}: model.functionals_norm must be one of {', '.join(FUNC_NORMS)} and "
            f"model.functionals_head one of {', '.join(FUNCTIONAL_HEADS)}"
        )
    if model.kernel_dim < 1 or not 0 <= model.kernel_gamma < math.inf:
        raise TrnetError(f"{where}: model.kernel_dim must be >= 1 and model.kernel_gamma >= 0")
    if model.functionals_input not in FUNCTIONALS_INPUTS:
        raise TrnetError(
            f"{where}: model.functionals_input must be one of {', '.join(FUNCTIONALS_INPUTS)}, "
            f"got {model.functionals_input!r}"
        )
    if model.functionals_input != NOISY and not (model.functionals and cfg.data.input == BLEND):
        raise TrnetError(
            f"{where}: model.functionals_input: {model.functionals_input} needs "
            "model.functionals: true and data.input: blend"
        )
    if model.conv_input_grad not in CONV_INPUT_GRADS:
        raise TrnetError(
            f"{where}: model.conv_input_grad must be one of {', '.join(CONV_INPUT_GRADS)}, "
            f"got {model.conv_input_grad!r}"
        )
    if cfg.train.select not in SELECTS:
        raise TrnetError(f"{where}: train.select must be one of {', '.join(SELECTS)}")
    if cfg.loss.class_weight not in CLASS_WEIGHTS:
        raise TrnetError(f"{where}: loss.class_weight must be one of {', '.join(CLASS_WEIGHTS)}")
    augment = ("vad_db", "freq_masks", "freq_width", "time_masks", "time_width")
    if any(getattr(cfg.data, name) < 0 for name in augment):
        raise TrnetError(f"{where}: data.{', data.'.join(augment)} must be >= 0")
    if cfg.loss.weighting not in WEIGHTINGS:
        raise TrnetError(f"{where}: loss.weighting must be one of {', '.join(WEIGHTINGS)}")
    if cfg.model.compensation != (cfg.data.input == BLEND):
        raise TrnetError(f"{where}: model.compensation must be true exactly when input: blend")
    if not cfg.data.clean_through_se and cfg.data.input != BLEND:
        raise TrnetError(f"{where}: data.clean_through_se: false needs data.input: blend")
    if cfg.model.bridge and not cfg.model.compensation:
        raise TrnetError(f"{where}: model.bridge needs model.compensation")
    if cfg.loss.alpha > 0 and not cfg.model.compensation:
        raise TrnetError(f"{where}: loss.alpha > 0 needs the compensation (input: blend)")
    if cfg.loss.beta > 0 and not cfg.loss.z_clean_from:
        raise TrnetError(f"{where}: loss.beta > 0 needs loss.z_clean_from")
    if cfg.loss.z_clean_on not in Z_CLEAN_ON:
        raise TrnetError(
            f"{where}: loss.z_clean_on must be one of {', '.join(Z_CLEAN_ON)}, "
            f"got {cfg.loss.z_clean_on!r}"
        )
    if cfg.loss.z_clean_on != "utterance" and cfg.loss.beta <= 0:
        raise TrnetError(f"{where}: loss.z_clean_on: {cfg.loss.z_clean_on} needs loss.beta > 0")
    if not cfg.train_conditions():
        raise TrnetError(f"{where}: no training condition (include_clean false and no snrs)")
    for name in ("batch_size", "max_epochs", "early_stop", "keep_checkpoints", "ensemble"):
        if getattr(cfg.train, name) < 1:
            raise TrnetError(f"{where}: train.{name} must be >= 1")
    if cfg.train.bn_recalib < 0 or cfg.train.threads < 0:
        raise TrnetError(f"{where}: train.bn_recalib and train.threads must be >= 0")
    if not 0 <= cfg.train.stop_lr < math.inf:
        raise TrnetError(f"{where}: train.stop_lr must be >= 0 (got {cfg.train.stop_lr})")
    optim = cfg.optim
    if not (0 < optim.lr < math.inf and optim.grad_clip > 0 and 0 < optim.lr_factor < 1):
        raise TrnetError(
            f"{where}: optim.lr and optim.grad_clip must be > 0 and optim.lr_factor in (0, 1); "
            f"got lr {optim.lr}, grad_clip {optim.grad_clip}, lr_factor {optim.lr_factor}"
        )
    if optim.weight_decay < 0 or optim.lr_patience < 0 or not 0 < optim.kernel_lr_scale < math.inf:
        raise TrnetError(
            f"{where}: optim.weight_decay and optim.lr_patience must be >= 0 "
            "and optim.kernel_lr_scale > 0"
        )
    if cfg.data.max_len < 16 or not cfg.model.channels:
        raise TrnetError(f"{where}: data.max_len must be >= 16 and model.channels non-empty")
    _check_ranges(cfg, where)
    _check_train_corruptions(cfg, where)


def _check_train_corruptions(cfg: Config, where: str) -> None:
    """``data.train_corruptions``: each key one corruption without noise (what ``trnet
    corrupt`` writes), each probability in [0, 1], their sum at most 1; stored sorted by
    condition, the order the draw walks them (:func:`trnet.train.data.draw_corruption`)."""
    given = cfg.data.train_corruptions
    key = f"{where}: data.train_corruptions"
    for name, p in given.items():
        full = single_corruption(name, key)
        if full != name:  # a bare kind: rev, not rev-0.6
            raise TrnetError(f"{key}: {name!r} needs its level, e.g. {full}")
        if not 0 <= p <= 1:
            raise TrnetError(f"{key}.{name}: a probability must be in [0, 1], got {p}")
    total = math.fsum(given.values())
    if total > 1 + 1e-9:
        raise TrnetError(f"{key}: the probabilities sum to {total:g}, more than 1")
    cfg.data.train_corruptions = dict(sorted(given.items()))


def _check_s(cfg: Config, where: str) -> None:
    """The ablation knobs of TRNet's s (issue 25): each value known, and any but the default
    only where there is an s (the compensation)."""
    from trnet.contract import S_CLAMPS, S_FEATURES

    model = cfg.model
    if model.s_features not in S_FEATURES:
        raise TrnetError(
            f"{where}: model.s_features must be one of {', '.join(S_FEATURES)}, "
            f"got {model.s_features!r}"
        )
    if model.s_clamp not in S_CLAMPS:
        raise TrnetError(
            f"{where}: model.s_clamp must be one of {', '.join(S_CLAMPS)}, got {model.s_clamp!r}"
        )
    if model.s_window < 0 or (model.s_window and model.s_window % 2 == 0):
        raise TrnetError(
            f"{where}: model.s_window must be 0 (one s per utterance) or an odd number of "
            f"frames (a per-frame s), got {model.s_window}"
        )
    if model.s_gradient == "inward" and model.s_clamp != "hardtanh":
        raise TrnetError(f"{where}: model.s_gradient: inward needs model.s_clamp: hardtanh")
    changed = [
        f"model.{name}"
        for name in ("s_features", "s_clamp", "s_window")
        if getattr(model, name) != ModelConfig.__dataclass_fields__[name].default
    ]
    if changed and not model.compensation:
        raise TrnetError(f"{where}: {', '.join(changed)} needs model.compensation (an s)")


def _check_ranges(cfg: Config, where: str) -> None:
    """Dropout probabilities in [0, 1) and loss weights >= 0 (finite): a value out of range
    would fail inside torch after the run has signed its dir, or train nonsense."""
    for name in ("conv_dropout", "head_dropout"):
        value = getattr(cfg.model, name)
        if not 0 <= value < 1:
            raise TrnetError(f"{where}: model.{name} must be in [0, 1), got {value}")
    for name in ("alpha", "beta", "gradnorm_ratio", "branch_ce"):
        value = getattr(cfg.loss, name)
        if not 0 <= value < math.inf:
            raise TrnetError(f"{where}: loss.{name} must be >= 0 (a weight), got {value}")


REQUIRED = {"optim": ("lr",), "train": ("batch_size", "max_epochs")}
"""Keys a config must give although the dataclasses have defaults: a config that forgets its
learning rate must not train at a silent 0.001 (issue 15)."""


def config_from_dict(raw: Any, where: str = "config") -> Config:
    if not isinstance(raw, dict):
        raise TrnetError(f"{where}: expected a mapping at the top level")
    for section, keys in REQUIRED.items():
        given = raw.get(section)
        for key in keys:
            if not isinstance(given, dict) or key not in given:
                raise TrnetError(f"{where}: missing required key {section}.{key}")
    cfg = build(Config, raw, where)
    _check(cfg, where)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config (merged over its ``defaults``,
    :mod:`trnet.config_file`); errors name ``path`` (and its defaults file)."""
    path = Path(path)
    if not path.is_file():
        raise TrnetError(f"{path}: config file not found")
    return config_from_dict(*read_config(path))


# Keys added for real speech: left out of a resolved config while at their default, so the
# config.yaml and checkpoints of an existing system stay byte-identical (and --resume works).
OPTIONAL_KEYS = {
    "model": (
        "functionals",
        "functionals_norm",
        "functionals_head",
        "kernel_dim",
        "kernel_gamma",
        "functionals_input",
        "s_features",
        "s_clamp",
        "s_window",
        "conv_input_grad",
    ),
    "data": (
        "crop",
        "eval_full",
        "vad_db",
        "freq_masks",
        "freq_width",
        "time_masks",
        "time_width",
        "clean_through_se",
        "train_corruptions",
    ),
    "loss": ("class_weight", "branch_ce", "z_clean_on"),
    "optim": ("kernel_lr_scale",),
    "train": ("select", "kernel_prefit", "ensemble", "stop_lr"),
}


def config_to_dict(cfg: Config) -> dict:
    raw = dataclasses.asdict(cfg)
    for section, names in OPTIONAL_KEYS.items():
        defaults = {
            f.name: f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            for f in dataclasses.fields(getattr(cfg, section))
        }
        for name in names:
            if raw[section][name] == defaults[name]:
                del raw[section][name]
    return raw


def dump_config(cfg: Config) -> str:
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False)
