#!/usr/bin/env bash
# msppodcast recipe for noise-robust SER: the shared stages (ser.sh) with msppodcast's data prep.
#   ./run.sh --msppodcast_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: Labels/labels_consensus.csv + Audios/ (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

corpus=msppodcast
msppodcast_root=$MSPPODCAST
protocol=official
prep_opts=                   # e.g. "--map calm=neu" (class map, docs/corpora.md)
fold_opts=""
folds="1"
noise_dir=$NOISE_DIR

recipe_setup() {
  [ -n "$msppodcast_root" ] || { echo "$0: give --msppodcast_root (or set MSPPODCAST in db.sh): Labels/labels_consensus.csv + Audios/" >&2; exit 1; }
  corpus_root=$msppodcast_root
}

. ./ser.sh
