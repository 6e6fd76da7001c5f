# Where corpora live on this machine (sourced by ser.sh; shared by every recipe): <CORPUS> is
# the default of egs/<corpus>/run.sh --corpus_root. Empty IEMOCAP = the IEMOCAP recipe
# generates its corpus.
IEMOCAP=${IEMOCAP:-}
RAVDESS=${RAVDESS:-}
CREMAD=${CREMAD:-}
EMODB=${EMODB:-}
MSPPODCAST=${MSPPODCAST:-}
# A folder that already holds ESC-50-master/ and musan/ (skips the download in stage 1).
NOISE_DIR=${NOISE_DIR:-}
