"""trnet: TRNet and its baselines for noise-robust speech emotion recognition."""

__version__ = "0.1.0"
