#!/usr/bin/env bash
# Usage: utils/split_data.sh [--per-utt] DIR N
# Writes DIR/split<N>spk/<k>/ (speakers kept whole) or, with --per-utt, DIR/split<N>utt/<k>/.
command -v trnet >/dev/null || . "$(dirname "$0")/../tools/activate.sh"
by=spk
[ "$1" = --per-utt ] && { by=utt; shift; }
[ $# -eq 2 ] || { echo "Usage: $0 [--per-utt] DIR N" >&2; exit 1; }
exec trnet data split --by "$by" "$1" "$2"
