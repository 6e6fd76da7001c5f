#!/usr/bin/env bash
# Kaldi's slurm.pl (in bash): run a command on a Slurm cluster, once (srun) or as an array
# job JOB=A:B (sbatch --array --wait), each task with its own log; same usage as run.pl:
#   utils/slurm.pl [options] [JOB=A:B] LOG COMMAND...
# Options: --gpu N (--gres=gpu:N), --mem M (--mem=M, e.g. 8G), --time T (--time=T, e.g.
# 4:00:00), --num-threads N (--cpus-per-task=N), --partition P, --max-jobs-run N (at most
# N array tasks at once: --array=A-B%N), --num-nodes M (--nodes=M, one task per node: the
# command runs on every node, e.g. torchrun; nodes other than the first log to LOG.node<K>).
# SLURM_EXTRA_OPTS: more sbatch/srun options.
# The job script goes to <log dir>/q/<name>.sh and Slurm's own output to <log dir>/q/; the
# task runs in this folder with path.sh sourced, and writes LOG (JOB = its array index)
# in run.pl's format. Exit status: 0 when every task ended with code 0.
set -uo pipefail
gpu=0 mem= time= threads= partition= max_jobs=0 nodes=1
while [ $# -gt 0 ]; do
  case $1 in
    --gpu) gpu=$2; shift 2 ;;
    --mem) mem=$2; shift 2 ;;
    --time) time=$2; shift 2 ;;
    --num-threads) threads=$2; shift 2 ;;
    --partition) partition=$2; shift 2 ;;
    --max-jobs-run) max_jobs=$2; shift 2 ;;
    --num-nodes) nodes=$2; shift 2 ;;
    --*) echo "slurm.pl: unknown option $1" >&2; exit 1 ;;
    *) break ;;
  esac
done
me=slurm.pl
# shellcheck source=utils/job_args.sh
. "$(dirname "$0")/job_args.sh"

logdir=$(dirname "$log")
name=$(basename "$log" .log); name=${name//.JOB/}; name=${name//JOB/}
qdir=$logdir/q
mkdir -p "$qdir"
script=$qdir/$name.sh
task='${SLURM_ARRAY_TASK_ID:-1}'
$array || task=1
{
  echo '#!/usr/bin/env bash'
  echo "cd $(printf %q "$PWD")"
  echo '[ -f ./path.sh ] && . ./path.sh'
  echo "JOB=$task"
  # on several nodes: start this script once per node, each node's tasks as its own log
  echo 'if [ "${SLURM_JOB_NUM_NODES:-1}" -gt 1 ] && [ -z "${SLURM_PL_ON_NODE:-}" ]; then'
  echo '  exec srun --ntasks-per-node=1 env SLURM_PL_ON_NODE=1 bash "$0"'
  echo 'fi'
  echo "log=\"${log//JOB/\$JOB}\""
  echo '[ "${SLURM_NODEID:-0}" = 0 ] || log=$log.node$SLURM_NODEID'
  echo 'mkdir -p "$(dirname "$log")"'
  echo 'start=$(date +%s)'
  printf '{ echo %q; echo "# Started at $(date) on $(hostname) (Slurm job ${SLURM_JOB_ID:-?})"; echo "#"; } > "$log"\n' "# ${cmd//JOB/\$JOB}"
  echo "( ${cmd//JOB/\$JOB}) >> \"\$log\" 2>&1"
  echo 'ret=$?'
  echo 'echo "# Accounting: time=$(( $(date +%s) - start )) threads=${SLURM_CPUS_PER_TASK:-1}" >> "$log"'
  echo 'echo "# Ended (code $ret) at $(date), elapsed time $(( $(date +%s) - start )) seconds" >> "$log"'
  echo 'exit $ret'
} > "$script"
chmod +x "$script"

opts=(--job-name="$name")
[ "$gpu" -gt 0 ] && opts+=(--gres="gpu:$gpu")
[ -n "$mem" ] && opts+=(--mem="$mem")
[ -n "$time" ] && opts+=(--time="$time")
[ -n "$threads" ] && opts+=(--cpus-per-task="$threads")
[ -n "$partition" ] && opts+=(--partition="$partition")
[ "$nodes" -gt 1 ] && opts+=(--nodes="$nodes" --ntasks-per-node=1)
# shellcheck disable=SC2206  # SLURM_EXTRA_OPTS is a word list
opts+=(${SLURM_EXTRA_OPTS:-})
if $array; then
  range=$first-$last
  [ "$max_jobs" -gt 0 ] && range+="%$max_jobs"
  sbatch --parsable --wait --array="$range" --output="$qdir/$name-%a.out" "${opts[@]}" "$script" \
    > "$qdir/$name.jobid"
else
  srun "${opts[@]}" --output="$qdir/$name.out" bash "$script"
fi
failed=()
for ((id = first; id <= last; id++)); do
  this=${log//JOB/$id}
  grep -q '^# Ended (code 0)' "$this" 2>/dev/null || failed+=("$this")
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "slurm.pl: ${#failed[@]} / $((last - first + 1)) failed, log is in ${failed[0]} (Slurm output: $qdir)" >&2
  exit 1
fi
exit 0
