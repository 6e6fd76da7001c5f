"""A small real model package (``trnet export``) for the tests of what runs one: ``trnet
infer --plot`` and ``trnet serve``; and long generated speech to run it on.

The package is a finished-looking fold of the toy config (``ser_toy.toy_config``, an
untrained network, its classifier scaled so that posteriors differ between windows)
exported as the recipe exports it, with the SE the system's input needs: the untrained
CRN (``se="crn"``) or the pretrained NSNet2 (``se="nsnet2"``, the real front end, whose
SNR estimate means something). What is tested is what a package is run through, not
accuracy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trnet.contract import CLASSES, SAMPLE_RATE


def toy_package(root: Path, system: str = "trnet", se: str = "crn", seed: int = 0) -> Path:
    """Export ``root/exp/<system>/fold1`` (made here) to ``root/pkg``; returns the package."""
    import torch
    from ser_toy import toy_config

    from trnet import checkpoint
    from trnet.contract import needs_se
    from trnet.infer.package_export import export
    from trnet.models.factory import build_ser_model
    from trnet.se.config import resolve_config
    from trnet.train.config import config_to_dict

    cfg = toy_config(system, epochs=1)
    if needs_se(cfg.data.input):
        se_dir = root / "exp" / "se"
        se_conf = resolve_config({"model": se})
        if se_conf.pretrained:
            from trnet.se.pretrained import write_package

            write_package(se_conf, se_dir)
        else:
            from trnet.se.model import build_model, save_model

            torch.manual_seed(seed)
            save_model(se_dir / "best.pt", build_model(se_conf), se_conf)
    torch.manual_seed(seed)
    model = build_ser_model(cfg.model)
    model.set_cmvn(torch.full((80,), 5.0), torch.full((80,), 3.0))
    state = model.state_dict()
    for key in state:  # spread the untrained net's posteriors across inputs
        if key.startswith("classifier.") and key.endswith(".weight"):
            state[key] = state[key] * 4
    if "compensation.linear.weight" in state:  # s = 2 (mean cosine of noisy, enhanced) - 1
        state["compensation.linear.weight"] = torch.full_like(
            state["compensation.linear.weight"], 2 / 80
        )
        state["compensation.linear.bias"] = torch.full_like(state["compensation.linear.bias"], -1.0)
    fold = root / "exp" / system / "fold1"
    best = {"config": config_to_dict(cfg), "system": system, "fold": 1, "epoch": 1}
    checkpoint.save(fold / "best.pt", {**best, "dev_uar": 0.5, "model": state})
    (fold / ".done").write_text("best_epoch 1\ndev_uar 0.500000\n")
    return export(fold, root / "pkg", corpus="toy", generated=True)


def long_speech(seconds_each: float = 5.0, seed: int = 0) -> np.ndarray:
    """Generated speech of each emotion in turn (the corpus generator's voice and
    prosody), a second of silence between them, under noise that grows from about 20 dB
    SNR to 0 dB: a long file whose windows differ in speech, SNR and prosody."""
    from trnet.synth_corpus.emotion import draw_prosody, make_voice
    from trnet.synth_corpus.synth import rng_for, synth_utterance

    voice = make_voice(seed, "spk", "F")
    gap = np.zeros(SAMPLE_RATE, dtype=np.float32)
    parts: list[np.ndarray] = []
    for label in CLASSES:
        rng = rng_for(seed, "long_speech", label)
        parts += [synth_utterance(voice, draw_prosody(label, rng), seconds_each, rng), gap]
    return under_rising_noise(np.concatenate(parts[:-1]), seed)


def under_rising_noise(speech: np.ndarray, seed: int = 0) -> np.ndarray:
    """``speech`` (16 kHz float32) under pink noise whose SNR falls from about 20 dB at the start to
    0 dB at the end (over the whole file's power), peak-limited to 0.9."""
    from trnet.synth_corpus.synth import pink_noise, rng_for

    rng = rng_for(seed, "long_speech", "noise")
    noise = pink_noise(rng, len(speech))
    noise *= np.sqrt(np.mean(speech**2) / np.mean(noise**2))  # 0 dB over the whole file
    ramp = np.linspace(-20, 0, len(speech)) / 20  # SNR 20 dB → 0 dB over the file
    mix = speech + (10**ramp) * noise
    return (mix * min(1.0, 0.9 / float(np.abs(mix).max()))).astype(np.float32)
