#!/usr/bin/env bash
# cremad recipe for noise-robust SER: the shared stages (ser.sh) with cremad's data prep.
#   ./run.sh --cremad_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

corpus=cremad
cremad_root=$CREMAD
protocol=kfold
prep_opts=                   # e.g. "--map calm=neu" (class map, docs/corpora.md)
fold_opts="--k 5 --n-dev-speakers 9"
folds="1 2"
noise_dir=$NOISE_DIR

recipe_setup() {
  [ -n "$cremad_root" ] || { echo "$0: give --cremad_root (or set CREMAD in db.sh): AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav" >&2; exit 1; }
  corpus_root=$cremad_root
}

. ./ser.sh
