#!/usr/bin/env bash
# emodb recipe for noise-robust SER: the shared stages (ser.sh -> ../TEMPLATE/ser1/ser.sh) with
# emodb's flags. `./run.sh --help` lists every option.
#   ./run.sh --corpus_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: wav/<spk><text><emotion><version>.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus emodb --protocol kfold --fold_opts "--k 5 --n-dev-speakers 1" --folds "1 2" "$@"
