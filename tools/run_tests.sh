#!/usr/bin/env bash
# The README's test command: install what is missing, then lint, format check and tests.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash tools/install.sh
. tools/activate.sh
ruff check .
ruff format --check .
# One pytest worker per core (pytest-xdist; TRNET_TEST_WORKERS=0 runs them in this process), a
# test file's tests on one worker (--dist loadfile: its module fixtures are built once), and
# the 15 slowest tests listed at the end. pytest exits 5 when it collected nothing; with
# `set -e` that fails the run, as it should.
python -m pytest -q -n "${TRNET_TEST_WORKERS:-auto}" --dist loadfile --durations=15 "$@"
