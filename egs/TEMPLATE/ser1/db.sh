# Where corpora live on this machine (shared by every recipe; each run.sh has a --<corpus>_root
# option too). Empty IEMOCAP = the IEMOCAP recipe uses its generated corpus.
IEMOCAP=${IEMOCAP:-}
RAVDESS=${RAVDESS:-}
CREMAD=${CREMAD:-}
EMODB=${EMODB:-}
MSPPODCAST=${MSPPODCAST:-}
# A folder that already holds ESC-50-master/ and musan/ (skips the download in stage 1).
NOISE_DIR=${NOISE_DIR:-}
