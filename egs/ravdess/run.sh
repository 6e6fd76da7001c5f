#!/usr/bin/env bash
# ravdess recipe for noise-robust SER: the shared stages (ser.sh -> ../TEMPLATE/ser1/ser.sh) with
# ravdess's flags. `./run.sh --help` lists every option.
#   ./run.sh --corpus_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: Actor_01..Actor_24/03-01-EE-II-SS-RR-AA.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus ravdess --protocol kfold --fold_opts "--k 6 --n-dev-speakers 2" --folds "1 2" "$@"
