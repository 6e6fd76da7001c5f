"""Noisy copies of a data dir at exact SNRs: the numeric core (``mixing``), noise sets
(``noiseset``) and the per-condition driver behind ``trnet mix`` (``conditions``)."""
