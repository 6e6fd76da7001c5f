# Source me: puts tools/venv first on PATH (used by egs/*/path.sh and the tools/ scripts).
_trnet_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$_trnet_root/tools/venv/bin:$_trnet_root/utils:$PATH"
export PYTHONUNBUFFERED=1
unset _trnet_root
