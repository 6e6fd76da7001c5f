#!/usr/bin/env bash
# Stage 0 for emodb: prepare data/emodb (4 classes; see docs/corpora.md) and its folds.
set -euo pipefail
root=
protocol=kfold
fold_opts="--k 5 --n-dev-speakers 1"
seed=0
map=                      # class-map overrides, e.g. "calm=neu" (trnet prep emodb --map)
. utils/parse_options.sh

map_opts=()
for m in $map; do map_opts+=(--map "$m"); done
trnet prep emodb "$root" data/emodb "${map_opts[@]}"
# shellcheck disable=SC2086  # fold_opts is a list of options
trnet folds data/emodb data/folds --protocol "$protocol" $fold_opts --seed "$seed"
