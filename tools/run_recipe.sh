#!/usr/bin/env bash
# The README's main command: install what is missing, then run the IEMOCAP recipe end to end
# (stages 0-6) on the generated corpus. Extra arguments go to egs/iemocap/run.sh.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/tools/install.sh"
cd "$root/egs/iemocap"
./run.sh "$@"
