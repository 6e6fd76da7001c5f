# Sourced by utils/run.pl and utils/slurm.pl after their options: reads "[JOB=A:B] LOG
# COMMAND..." from "$@" into first, last, array (true with a JOB=A:B range), log and cmd
# (the command as one string, quoted as Kaldi does: a word without spaces as it is, one
# holding " in '...', others in "..."). Needs $me (the script's name, for messages).
first=1 last=1 array=false
if [[ ${1:-} =~ ^JOB=([0-9]+):([0-9]+)$ ]]; then
  first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]} array=true
  shift
  [ "$first" -le "$last" ] || { echo "$me: empty job range JOB=$first:$last" >&2; exit 1; }
fi
[ $# -ge 2 ] || { echo "Usage: $me [options] [JOB=A:B] LOG COMMAND..." >&2; exit 1; }
log=$1; shift
if ! $array && [[ $log == *JOB* ]]; then
  echo "$me: $log names JOB but no JOB=A:B range was given" >&2; exit 1
fi
cmd=
for word in "$@"; do
  if [[ $word =~ ^[^[:space:]]+$ ]]; then cmd+="$word "
  elif [[ $word == *\"* ]]; then cmd+="'$word' "
  else cmd+="\"$word\" "
  fi
done
