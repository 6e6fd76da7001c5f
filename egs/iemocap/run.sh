#!/usr/bin/env bash
# IEMOCAP recipe for noise-robust SER: TRNet and its baselines.
#   ./run.sh --stage 0 --stop_stage 6 [--iemocap_root /data/IEMOCAP_full_release]
# With no --iemocap_root (and no IEMOCAP in db.sh) the recipe generates a small corpus in
# IEMOCAP's layout (plus ESC-50- and MUSAN-like noise) and runs on that. The stages
# themselves are shared by every corpus: ser.sh (-> ../TEMPLATE/ser1/ser.sh).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. ./db.sh

corpus=iemocap
iemocap_root=$IEMOCAP        # empty: generate a corpus under db/generated
corpus_size=small            # size of the generated corpus: tiny | small
protocol=speaker             # speaker (10 folds) | session (5 folds)
noise_dir=$NOISE_DIR         # holds ESC-50-master/ and musan/; empty: download them
conf_dir=                    # default: conf/slim on the generated corpus, conf otherwise
help_message="Usage: $0 [--stage N] [--stop_stage N] [--iemocap_root DIR] [--noise_dir DIR]
  [--nj N] [--seed N] [--protocol speaker|session] [--folds '1 2'] [--snrs '20 15 10 5 0']
  [--systems '...'] [--conf_dir DIR] [--device auto|cpu|cuda] [--corpus_size tiny|small]"

generated=false
recipe_setup() {
  if [ -z "$iemocap_root" ]; then
    generated=true
    [ -n "$noise_dir" ] || noise_dir=db/generated
  fi
  if [ -z "$conf_dir" ]; then
    if $generated; then conf_dir=conf/slim; else conf_dir=conf; fi
  fi
}

local_data_prep() {
  local/data.sh --iemocap_root "$iemocap_root" --generated "$generated" \
    --corpus_size "$corpus_size" --seed "$seed" --protocol "$protocol"
}

. ./ser.sh
