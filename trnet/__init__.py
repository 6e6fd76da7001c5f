"""trnet: TRNet and its baselines for noise-robust speech emotion recognition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from trnet.infer.recognizer import EmotionRecognizer

__all__ = ["EmotionRecognizer", "__version__"]


def __getattr__(name: str) -> Any:
    """``from trnet import EmotionRecognizer`` without importing torch for the CLI."""
    if name == "EmotionRecognizer":
        from trnet.infer.recognizer import EmotionRecognizer

        return EmotionRecognizer
    raise AttributeError(f"module 'trnet' has no attribute {name!r}")
