#!/usr/bin/env bash
# Stage 0 for cremad: prepare data/cremad (4 classes; see docs/corpora.md) and its folds.
set -euo pipefail
root=
protocol=kfold
fold_opts="--k 5 --n-dev-speakers 9"
seed=0
map=                      # class-map overrides, e.g. "calm=neu" (trnet prep cremad --map)
. utils/parse_options.sh

map_opts=()
for m in $map; do map_opts+=(--map "$m"); done
trnet prep cremad "$root" data/cremad "${map_opts[@]}"
# shellcheck disable=SC2086  # fold_opts is a list of options
trnet folds data/cremad data/folds --protocol "$protocol" $fold_opts --seed "$seed"
