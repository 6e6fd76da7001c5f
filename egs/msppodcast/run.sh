#!/usr/bin/env bash
# msppodcast recipe for noise-robust SER: the shared stages (ser.sh ->
# ../TEMPLATE/ser1/ser.sh) with
# msppodcast's flags. `./run.sh --help` lists every option.
#   ./run.sh --corpus_root DIR [--stage N --stop_stage M] [--noise_dir DIR]
# Expected root: Labels/labels_consensus.csv + Audios/ (docs/corpora.md).
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus msppodcast --protocol official --folds 1 "$@"
