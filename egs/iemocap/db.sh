# Where corpora live on this machine. Empty IEMOCAP = use the generated corpus.
IEMOCAP=${IEMOCAP:-}
# A folder that already holds ESC-50-master/ and musan/ (skips the download in stage 1).
NOISE_DIR=${NOISE_DIR:-}
