#!/usr/bin/env bash
# Usage: utils/combine_data.sh DST SRC1 SRC2 ...
# Writes the union of the source data dirs at DST (conflicting entries are an error).
command -v trnet >/dev/null || . "$(dirname "$0")/../tools/activate.sh"
[ $# -ge 2 ] || { echo "Usage: $0 DST SRC1 [SRC2 ...]" >&2; exit 1; }
exec trnet data combine "$@"
