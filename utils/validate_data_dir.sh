#!/usr/bin/env bash
# Usage: utils/validate_data_dir.sh [--no-wav] DIR
# Prints every fault of a Kaldi data dir, one per line; exit status 1 if there is any.
command -v trnet >/dev/null || . "$(dirname "$0")/../tools/activate.sh"
opts=()
[ "$1" = --no-wav ] && { opts+=(--no-wav); shift; }
[ $# -eq 1 ] || { echo "Usage: $0 [--no-wav] DIR" >&2; exit 1; }
exec trnet data validate "${opts[@]}" "$1"
