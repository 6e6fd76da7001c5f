"""Generated corpora in the layouts of IEMOCAP, ESC-50 and MUSAN (``trnet make-corpus``)."""

from trnet.synth_corpus.make import MARKER, corpus_paths, is_complete, make_corpus, read_marker

__all__ = ["MARKER", "corpus_paths", "is_complete", "make_corpus", "read_marker"]
