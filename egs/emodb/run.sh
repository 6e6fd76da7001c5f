#!/usr/bin/env bash
# emodb recipe for noise-robust SER: the shared stages (ser.sh) with emodb's data prep.
#   ./run.sh --emodb_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: wav/<spk><text><emotion><version>.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

corpus=emodb
emodb_root=$EMODB
protocol=kfold
prep_opts=                   # e.g. "--map calm=neu" (class map, docs/corpora.md)
fold_opts="--k 5 --n-dev-speakers 1"
folds="1 2"
noise_dir=$NOISE_DIR

recipe_setup() {
  [ -n "$emodb_root" ] || { echo "$0: give --emodb_root (or set EMODB in db.sh): wav/<spk><text><emotion><version>.wav" >&2; exit 1; }
  corpus_root=$emodb_root
}

. ./ser.sh
