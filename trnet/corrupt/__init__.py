"""Corruptions other than additive noise, each measured on its output.

Every function takes one utterance (float32 mono, any length) and returns a
:class:`~trnet.corrupt.corrupted.Corrupted`: the corrupted signal, float32 and of the
input's length and alignment, with the levels *measured* on it (``levels``: name → value,
the ``utt2<name>`` tables a corrupted data dir will hold). Randomness comes only from the
``numpy.random.Generator`` a caller passes in, so a caller that seeds one per utterance
(:func:`trnet.contract.stable_seed`) gets the same bytes from any job split.

- :mod:`~trnet.corrupt.rir`: RT60 (Schroeder, T20) and DRR of a room impulse response;
  reverberation aligned to the direct path; reverberation plus noise at an SNR.
- :mod:`~trnet.corrupt.room`: RIRs simulated by the image source method (pyroomacoustics,
  the ``rir`` extra).
- :mod:`~trnet.corrupt.rir_index`: a folder of RIRs (OpenSLR RIRS_NOISES or any wavs) as a
  Kaldi-style dir with each RIR's measured RT60, DRR and RT60 bin.
- :mod:`~trnet.corrupt.codec`: MP3 and Opus round trips (libsndfile), telephone band.
- :mod:`~trnet.corrupt.clip`: clipping at a threshold relative to the peak.
- :mod:`~trnet.corrupt.loss`: packet loss (dropped 20 ms frames, zero-filled).
"""
