#!/usr/bin/env bash
# Stage 0 for IEMOCAP, with the options of every local/data.sh: without --corpus_root it
# generates a corpus in IEMOCAP's layout (and ESC-50-/MUSAN-like noise) in db/generated;
# then trnet prep + trnet folds as every corpus (../TEMPLATE/ser1/local/data.sh).
#   local/data.sh --corpus_root /data/IEMOCAP_full_release [--protocol speaker|session]
#   local/data.sh --corpus_size small --seed 0
set -euo pipefail
corpus=iemocap          # corpus name (trnet prep <corpus>)
corpus_root=            # the corpus on disk; empty: generate one in db/generated
corpus_size=small       # size of the generated corpus: tiny | small
protocol=speaker        # fold protocol: speaker (10 folds) | session (5 folds)
seed=0                  # seed of the generated corpus (and of kfold folds)
prep_opts=              # more options of trnet prep
fold_opts=              # more options of trnet folds
help_message="Usage: local/data.sh [--name value ...]; options, with the values in force:"
. utils/parse_options.sh

if [ -z "$corpus_root" ]; then
  echo "$0: no IEMOCAP root given: GENERATED corpus in db/generated (size $corpus_size)"
  trnet make-corpus db/generated --size "$corpus_size" --seed "$seed"
  corpus_root=db/generated/IEMOCAP_full_release
fi
# readlink -f: a recipe folder whose local/ is a symlink (as the tests make) finds it too
exec "$(dirname "$(readlink -f "$0")")/../../TEMPLATE/ser1/local/data.sh" \
  --corpus "$corpus" --corpus_root "$corpus_root" --protocol "$protocol" --seed "$seed" \
  --prep_opts "$prep_opts" --fold_opts "$fold_opts"
