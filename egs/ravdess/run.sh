#!/usr/bin/env bash
# ravdess recipe for noise-robust SER: the shared stages (ser.sh) with ravdess's data prep.
#   ./run.sh --ravdess_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: Actor_01..Actor_24/03-01-EE-II-SS-RR-AA.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

corpus=ravdess
ravdess_root=$RAVDESS
protocol=kfold
prep_opts=                   # e.g. "--map calm=neu" (class map, docs/corpora.md)
fold_opts="--k 6 --n-dev-speakers 2"
folds="1 2"
noise_dir=$NOISE_DIR

recipe_setup() {
  [ -n "$ravdess_root" ] || { echo "$0: give --ravdess_root (or set RAVDESS in db.sh): Actor_01..Actor_24/03-01-EE-II-SS-RR-AA.wav" >&2; exit 1; }
  corpus_root=$ravdess_root
}

. ./ser.sh
