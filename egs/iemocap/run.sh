#!/usr/bin/env bash
# IEMOCAP recipe for noise-robust SER: TRNet and its baselines, through the shared stages
# (ser.sh -> ../TEMPLATE/ser1/ser.sh). `./run.sh --help` lists every option.
#   ./run.sh [--corpus_root /data/IEMOCAP_full_release] [--stage N --stop_stage M]
# With no --corpus_root (and no IEMOCAP in db.sh) stage 0 generates a corpus of
# --corpus_size in IEMOCAP's layout (plus ESC-50- and MUSAN-like noise) and the recipe runs
# on that, with conf/slim.
# Folds: leave-one-session-out, all 5, so that every fold's model has its own training set
# (the two speaker folds of a session share theirs) and the spread between independently
# trained models is measured (RESULTS.md, "Spread between folds"). The paper's protocol:
# --protocol speaker --folds "1 2 3 4 5 6 7 8 9 10". The ablations trnet_wo_low and
# trnet_wo_high: --systems "baseline_clean baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high".
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus iemocap --corpus_size small --protocol session --folds "1 2 3 4 5" \
  --systems "baseline_clean baseline_noisy baseline_enhanced trnet" "$@"
