"""Kaldi data directories: reading, writing, validating and splitting them."""
