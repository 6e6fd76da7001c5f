#!/usr/bin/env bash
# emodb recipe for noise-robust SER: the shared stages (ser.sh -> ../TEMPLATE/ser1/ser.sh) with
# emodb's flags. `./run.sh --help` lists every option.
#   ./run.sh --corpus_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: wav/<spk><text><emotion><version>.wav (docs/corpora.md).
# Without --noise_dir, stage 1 generates ESC-50- and MUSAN-layout noise corpora in
# db/generated (`trnet make-corpus`): real speech, GENERATED noise. Configs: conf/cpu (real
# speech on CPU), all 5 speaker-disjoint folds, the eGeMAPS + SVM reference beside the
# deep systems; every deep system a 3-seed ensemble per fold (`--ensemble 1`: one model
# each, less than half the time; egs/emodb/RESULTS.md has both).
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus emodb --protocol kfold --fold_opts "--k 5 --n-dev-speakers 1" \
  --folds "1 2 3 4 5" --noise_dir "${NOISE_DIR:-generated}" --conf_dir conf/cpu --ensemble 3 \
  --systems "baseline_clean baseline_egemaps baseline_noisy baseline_enhanced trnet trnet_wo_low trnet_wo_high" \
  "$@"
