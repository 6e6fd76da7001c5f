#!/usr/bin/env bash
# Stage 0 for ravdess: prepare data/ravdess (4 classes; see docs/corpora.md) and its folds.
set -euo pipefail
root=
protocol=kfold
fold_opts="--k 6 --n-dev-speakers 2"
seed=0
map=                      # class-map overrides, e.g. "calm=neu" (trnet prep ravdess --map)
. utils/parse_options.sh

map_opts=()
for m in $map; do map_opts+=(--map "$m"); done
trnet prep ravdess "$root" data/ravdess "${map_opts[@]}"
# shellcheck disable=SC2086  # fold_opts is a list of options
trnet folds data/ravdess data/folds --protocol "$protocol" $fold_opts --seed "$seed"
