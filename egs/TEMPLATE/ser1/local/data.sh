#!/usr/bin/env bash
# Stage 0 of a corpus that `trnet prep` parses: data/<corpus> and data/folds/<protocol>/.
# Every recipe's local/data.sh takes these options (ser.sh stage 0 gives them all); IEMOCAP's
# generates a corpus first when it has no root, then runs this one.
#   local/data.sh --corpus ravdess --corpus_root /data/RAVDESS --protocol kfold \
#     --fold_opts "--k 6 --n-dev-speakers 2"
set -euo pipefail
corpus=                 # required: corpus name (trnet prep <corpus>)
corpus_root=            # required: the corpus on disk
corpus_size=            # size of a generated corpus (only recipes that generate one)
protocol=speaker        # fold protocol (trnet folds --protocol)
seed=0                  # kfold speaker shuffle seed
prep_opts=              # more options of trnet prep, e.g. "--map calm=neu"
fold_opts=              # more options of trnet folds, e.g. "--k 5 --n-dev-speakers 1"
help_message="Usage: local/data.sh [--name value ...]; options, with the values in force:"
. utils/parse_options.sh

[ -n "$corpus" ] || { echo "$0: --corpus is required" >&2; exit 1; }
[ -n "$corpus_root" ] || {
  echo "$0: --corpus_root is required (no generated $corpus corpus)" >&2; exit 1; }
# shellcheck disable=SC2086  # option strings
trnet prep "$corpus" "$corpus_root" "data/$corpus" $prep_opts
# shellcheck disable=SC2086
trnet folds "data/$corpus" data/folds --protocol "$protocol" $fold_opts --seed "$seed"
