"""Classical (non-neural) reference systems, configs for the same ``trnet train``/``decode``."""
