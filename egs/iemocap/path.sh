# Puts the toolkit's venv and utils/ on PATH (sourced by run.sh).
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/activate.sh"
export LC_ALL=C
