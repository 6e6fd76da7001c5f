# Puts the toolkit's venv and utils/ on PATH (sourced by ser.sh). readlink -f so that a
# recipe folder whose files are symlinks to these (as the end-to-end test makes) still works.
. "$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)/tools/activate.sh"
export LC_ALL=C
# rich tables in logs: wide enough for the systems x conditions table
[ -t 1 ] || export COLUMNS=${COLUMNS:-160}
# A stage that finds its output made with other settings refuses; run.sh has no --overwrite,
# so the message says what a recipe user can do instead.
export TRNET_OVERWRITE_HINT="remove it and rerun to rebuild it with these settings (run.sh has no --overwrite)"
