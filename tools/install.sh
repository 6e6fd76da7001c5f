#!/usr/bin/env bash
# Create tools/venv (if absent) and install trnet with a torch/torchaudio pair that runs on CPU.
# Idempotent: a stamp file records what was installed; a second run does nothing.
# Usage: bash tools/install.sh        (then: . tools/activate.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/tools/venv"
# torch 2.13's CPU wheel cannot load torchaudio here; 2.11.0 is a matching pair that can.
TORCH_VERSION=${TORCH_VERSION:-2.11.0}
stamp="$venv/.trnet-installed"
want="torch=$TORCH_VERSION $(cat "$root/setup.py" "$root/tools/install.sh" "$root/tools/constraints.txt" | sha1sum | cut -c1-16)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
py=${PYTHON:-python3}
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check -q)
echo "tools/install.sh: installing into $venv (torch $TORCH_VERSION; first time takes a few minutes)" >&2
"${pip[@]}" "torch==$TORCH_VERSION" "torchaudio==$TORCH_VERSION"
# tools/constraints.txt: the exact versions CI runs with (setup.py holds the ranges)
"${pip[@]}" -c "$root/tools/constraints.txt" -e "$root[dev]"
"$venv/bin/python" -c "import torch, torchaudio, torchaudio.compliance.kaldi" \
  || { echo "tools/install.sh: torch/torchaudio do not import in $venv" >&2; exit 1; }
echo "$want" > "$stamp"
