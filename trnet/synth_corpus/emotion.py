"""Speakers and the prosodic signature of each emotion.

Emotion effects follow what the SER literature reports for acted speech (e.g. Scherer 2003;
Banse & Scherer 1996): anger raises F0 mean and range, loudness, rate and high-frequency
energy; happiness raises F0 and its range, speeds up and ends on rising contours; sadness
lowers F0, narrows its range, is quieter, slower and breathier; neutral is the speaker's
baseline. Each effect is drawn per utterance around its class mean with a spread of the
same order as the differences between classes, so classes overlap as in real data.
"""

from __future__ import annotations

import numpy as np

from trnet.synth_corpus.synth import Prosody, Voice, rng_for

# Per label, the mean of each Prosody field (in _FIELDS order); _SPREAD is the standard
# deviation of every field around its mean, the same for all labels.
_FIELDS = (
    "f0_scale",
    "f0_range",
    "slope",
    "rate_scale",
    "level_db",
    "tilt_shift",
    "breath_scale",
    "burst_db",
    "pause_scale",
)
_SPREAD = np.array([0.08, 1.0, 2.0, 0.10, 2.5, 0.02, 0.3, 2.0, 0.2])
_MEANS: dict[str, tuple[float, ...]] = {
    "neu": (1.00, 2.5, -2.0, 1.00, 0.0, 0.00, 1.0, 0.0, 1.0),
    "ang": (1.22, 4.5, -2.5, 1.15, 5.0, -0.045, 0.7, 3.0, 0.8),
    "hap": (1.15, 4.5, 1.5, 1.08, 2.0, -0.015, 0.9, 1.0, 0.9),
    "exc": (1.22, 5.0, 2.0, 1.13, 3.5, -0.025, 0.9, 1.5, 0.85),
    "sad": (0.90, 1.2, -3.0, 0.80, -4.5, 0.025, 2.0, -3.0, 1.4),
    "fru": (1.08, 3.0, -2.5, 1.05, 2.5, -0.02, 0.9, 1.5, 1.0),
    "sur": (1.25, 6.0, 4.0, 1.05, 2.0, -0.01, 0.9, 0.5, 1.0),
}
LABELS = tuple(_MEANS) + ("xxx",)
"""Raw labels the generator can speak; ``xxx`` (no agreement) mixes two emotions."""


def draw_prosody(label: str, rng: np.random.Generator) -> Prosody:
    """The prosody of one utterance of ``label``, with per-utterance spread."""
    if label == "xxx":  # annotators disagreed: halfway between two random emotions
        a, b = rng.choice(list(_MEANS), size=2, replace=False)
        mean = (np.array(_MEANS[a]) + np.array(_MEANS[b])) / 2
    else:
        mean = np.array(_MEANS[label])
    values = mean + _SPREAD * rng.standard_normal(mean.size)
    values[[0, 3, 8]] = np.maximum(values[[0, 3, 8]], 0.5)  # scales stay positive
    values[[1, 6]] = np.maximum(values[[1, 6]], 0.1)
    return Prosody(**dict(zip(_FIELDS, (float(v) for v in values), strict=True)))


def make_voice(seed: int, speaker: str, gender: str) -> Voice:
    """A speaker's voice, drawn from ``(seed, speaker)``; ``gender`` is ``F`` or ``M``."""
    rng = rng_for(seed, "voice", speaker)
    female = gender == "F"
    return Voice(
        f0=float(rng.normal(205.0, 18.0) if female else rng.normal(118.0, 12.0)),
        formant_scale=float(rng.normal(1.17, 0.04) if female else rng.normal(1.0, 0.04)),
        tilt=float(np.clip(rng.normal(0.92 if female else 0.94, 0.015), 0.85, 0.975)),
        breath=float(rng.uniform(0.05, 0.25) + (0.08 if female else 0.0)),
        rate=float(rng.normal(4.5, 0.4)),
        jitter=float(rng.uniform(0.005, 0.015)),
        shimmer=float(rng.uniform(0.03, 0.08)),
    )
