#!/usr/bin/env bash
# Stage 0 for msppodcast: prepare data/msppodcast (4 classes; see docs/corpora.md) and its folds.
set -euo pipefail
root=
protocol=official
fold_opts=""
seed=0
map=                      # class-map overrides, e.g. "calm=neu" (trnet prep msppodcast --map)
. utils/parse_options.sh

map_opts=()
for m in $map; do map_opts+=(--map "$m"); done
trnet prep msppodcast "$root" data/msppodcast "${map_opts[@]}"
# shellcheck disable=SC2086  # fold_opts is a list of options
trnet folds data/msppodcast data/folds --protocol "$protocol" $fold_opts --seed "$seed"
