"""Kaldi-compatible log-Mel fbank (``fbank``) and its ark/scp/CMVN writing (``extract``)."""
