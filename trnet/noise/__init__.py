"""Noise corpora: download (ESC-50, MUSAN) and the noise-set index of stage 1."""
