#!/usr/bin/env bash
# Usage: utils/subset_data_dir.sh [--utt-list F | --spk-list F | --first N | --random N] SRC DST
#        utils/subset_data_dir.sh SRC N DST        (N utterances drawn at random, seed 0)
command -v trnet >/dev/null || . "$(dirname "$0")/../tools/activate.sh"
usage="Usage: $0 [--utt-list F | --spk-list F | --first N | --random N] SRC DST | SRC N DST"
case "$1" in
  --utt-list|--spk-list|--first|--random) [ $# -eq 4 ] || { echo "$usage" >&2; exit 1; }
    exec trnet data subset "$1" "$2" "$3" "$4" ;;
esac
[ $# -eq 3 ] || { echo "$usage" >&2; exit 1; }
exec trnet data subset --random "$2" "$1" "$3"
