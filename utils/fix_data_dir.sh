#!/usr/bin/env bash
# Usage: utils/fix_data_dir.sh DIR
# Keeps the utterances present in every table, re-sorts, regenerates spk2utt;
# the original tables are copied into DIR/.backup/ first.
command -v trnet >/dev/null || . "$(dirname "$0")/../tools/activate.sh"
[ $# -eq 1 ] || { echo "Usage: $0 DIR" >&2; exit 1; }
exec trnet data fix "$1"
