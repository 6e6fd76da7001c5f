#!/usr/bin/env bash
# IEMOCAP recipe for noise-robust SER: TRNet and its baselines, through the shared stages
# (ser.sh -> ../TEMPLATE/ser1/ser.sh). `./run.sh --help` lists every option.
#   ./run.sh [--corpus_root /data/IEMOCAP_full_release] [--stage N --stop_stage M]
# With no --corpus_root (and no IEMOCAP in db.sh) stage 0 generates a corpus of
# --corpus_size in IEMOCAP's layout (plus ESC-50- and MUSAN-like noise) and the recipe runs
# on that, with conf/slim.
set -euo pipefail
cd "$(dirname "$0")"
./ser.sh --corpus iemocap --corpus_size small --protocol speaker "$@"
