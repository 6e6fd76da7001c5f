#!/usr/bin/env bash
# cremad recipe for noise-robust SER: the shared stages (ser.sh -> ../TEMPLATE/ser1/ser.sh) with
# cremad's flags. `./run.sh --help` lists every option.
#   ./run.sh --corpus_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: AudioWAV/<actor>_<sentence>_<EMO>_<level>.wav (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus cremad --protocol kfold --fold_opts "--k 5 --n-dev-speakers 9" --folds "1 2" "$@"
