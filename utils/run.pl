#!/usr/bin/env bash
# Kaldi's run.pl (in bash): run a command here, once or as jobs JOB=A:B, each with its own log.
#   utils/run.pl [options] [JOB=A:B] LOG COMMAND...
# "JOB" in LOG and COMMAND becomes the job's index (exp/x/log/train.JOB.log → train.3.log).
# The log holds the command, its output, "# Accounting: ..." and "# Ended (code N) ...".
# Options: --max-jobs-run N (at most N jobs at once; default all). The resource options of
# utils/slurm.pl (--gpu, --mem, --time, --num-threads, --partition, --num-nodes 1) are
# accepted and ignored, so cmd.sh can switch backends without touching the recipe.
# Exit status: 0 when every job exited 0; otherwise 1, naming the failed jobs' logs.
set -uo pipefail
max_jobs=0
while [ $# -gt 0 ]; do
  case $1 in
    --max-jobs-run) max_jobs=$2; shift 2 ;;
    --gpu|--mem|--time|--num-threads|--partition) shift 2 ;;
    --num-nodes)
      [ "$2" -le 1 ] || { echo "run.pl: --num-nodes $2: run.pl runs on this machine only (use utils/slurm.pl)" >&2; exit 1; }
      shift 2 ;;
    --*) echo "run.pl: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
me=run.pl
# shellcheck source=utils/job_args.sh
. "$(dirname "$0")/job_args.sh"

run_one() {
  local id=$1 this_log=${log//JOB/$1} this_cmd=${cmd//JOB/$1} start ret
  mkdir -p "$(dirname "$this_log")"
  start=$(date +%s)
  { echo "# $this_cmd"; echo "# Started at $(date)"; echo "#"; } > "$this_log"
  bash -c "$this_cmd" >> "$this_log" 2>&1
  ret=$?
  { echo "# Accounting: time=$(( $(date +%s) - start )) threads=1"
    echo "# Ended (code $ret) at $(date), elapsed time $(( $(date +%s) - start )) seconds"; } >> "$this_log"
  return $ret
}

status=$(mktemp -d)
trap 'rm -rf "$status"' EXIT
running=()
for ((id = first; id <= last; id++)); do
  ( run_one "$id"; echo $? > "$status/$id" ) &
  running+=($!)
  if [ "$max_jobs" -gt 0 ] && [ "${#running[@]}" -ge "$max_jobs" ]; then
    wait "${running[0]}"; running=("${running[@]:1}")
  fi
done
wait
failed=()
for ((id = first; id <= last; id++)); do
  [ "$(cat "$status/$id" 2>/dev/null)" = 0 ] || failed+=("$id")
done
if [ "${#failed[@]}" -gt 0 ]; then
  n=$((last - first + 1))
  if $array; then
    echo "run.pl: ${#failed[@]} / $n failed, log is in ${log//JOB/${failed[0]}}" >&2
  else
    echo "run.pl: job failed, log is in $log" >&2
  fi
  exit 1
fi
exit 0
