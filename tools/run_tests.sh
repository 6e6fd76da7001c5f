#!/usr/bin/env bash
# The README's test command: install what is missing, then lint, format check and tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash tools/install.sh
. tools/activate.sh
ruff check .
ruff format --check .
# pytest exits 5 when it collected nothing; with `set -e` that fails the run, as it should.
python -m pytest -q "$@"
