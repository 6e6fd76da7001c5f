#!/usr/bin/env bash
# emodb recipe for noise-robust SER: the shared stages (ser.sh) with emodb's data prep.
#   ./run.sh --emodb_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: wav/<spk><text><emotion><version>.wav (docs/corpora.md).
# With no --noise_dir (and no NOISE_DIR in db.sh) stage 0 generates ESC-50- and MUSAN-layout
# noise corpora in db/generated (`trnet make-corpus`): real speech, GENERATED noise.
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
folds="1 2 3 4 5"            # every fold of the 5-fold speaker split
noise_dir=$NOISE_DIR         # holds ESC-50-master/ and musan/; empty: generated noise
conf_dir=                    # default: conf/cpu (real speech on CPU)
systems="baseline_clean baseline_egemaps baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high"

generated_noise=false
recipe_setup() {
  [ -n "$emodb_root" ] || { echo "$0: give --emodb_root (or set EMODB in db.sh): wav/<spk><text><emotion><version>.wav" >&2; exit 1; }
  corpus_root=$emodb_root
  if [ -z "$noise_dir" ]; then
    generated_noise=true
    noise_dir=db/generated
  fi
  [ -n "$conf_dir" ] || conf_dir=conf/cpu
}

local_data_prep() {
  # shellcheck disable=SC2086  # option lists
  trnet prep "$corpus" "$corpus_root" "data/$corpus" ${prep_opts:-}
  # shellcheck disable=SC2086
  trnet folds "data/$corpus" data/folds --protocol "$protocol" ${fold_opts:-} --seed "$seed"
  if $generated_noise; then
    echo "$0: no --noise_dir: GENERATED noise corpora (ESC-50 and MUSAN layout) in $noise_dir"
    trnet make-corpus "$noise_dir" --size small --seed "$seed"
  fi
}

. ./ser.sh
