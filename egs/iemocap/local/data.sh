#!/usr/bin/env bash
# Stage 0 for IEMOCAP: (generate the corpus,) prepare data/iemocap and the fold lists.
#   local/data.sh --iemocap_root DIR [--protocol speaker|session]
#   local/data.sh --generated true --corpus_size small --seed 0
set -euo pipefail
iemocap_root=
generated=false
corpus_size=small
seed=0
protocol=speaker
. utils/parse_options.sh

if $generated; then
  echo "$0: no IEMOCAP root given: GENERATED corpus in db/generated (size $corpus_size)"
  trnet make-corpus db/generated --size "$corpus_size" --seed "$seed"
  iemocap_root=db/generated/IEMOCAP_full_release
fi
[ -n "$iemocap_root" ] || { echo "$0: give --iemocap_root or --generated true" >&2; exit 1; }
trnet prep iemocap "$iemocap_root" data/iemocap
trnet folds data/iemocap data/folds --protocol "$protocol"
