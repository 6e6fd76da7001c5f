#!/usr/bin/env bash
# A real single-node Slurm on this machine (Debian/Ubuntu, as root, no systemd needed): for
# trying utils/slurm.pl and for its test (tests/test_slurm.py).
#   bash tools/slurm_local.sh          install (apt: slurm-wlm munge) if missing, configure,
#                                      start munged, slurmctld, slurmd; wait for the node
#   bash tools/slurm_local.sh stop     stop the daemons this script starts
# Idempotent: what is installed, configured or running is left as it is. The cluster is one
# node named after `hostname -s`, with the CPUs and memory `slurmd -C` finds, in one
# partition "local"; state under /var/spool/slurm-local, logs in /var/log/slurm-local.
# An /etc/slurm/slurm.conf that this script did not write is never touched: the Slurm it
# configures is used when it runs, else the script refuses.
# Exit status: 0 the cluster is up, 2 the packages cannot be installed (not root, no apt,
# apt failed), 1 anything else.
set -uo pipefail
me=tools/slurm_local.sh
conf=/etc/slurm/slurm.conf
marker="# written by trnet $me"
state=/var/spool/slurm-local
logs=/var/log/slurm-local
run=/run/slurm-local

die() { echo "$me: $1" >&2; exit "${2:-1}"; }
say() { echo "$me: $*"; }

have_all() {
  command -v sbatch > /dev/null && command -v slurmctld > /dev/null \
    && command -v slurmd > /dev/null && command -v munged > /dev/null
}

install_packages() {
  have_all && return 0
  [ "$(id -u)" = 0 ] || die "slurm-wlm/munge are not installed and only root can install them (apt-get install slurm-wlm munge)" 2
  command -v apt-get > /dev/null || die "slurm-wlm/munge are not installed and there is no apt-get to install them" 2
  say "installing slurm-wlm munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # the package lists may be missing or stale (a fresh image): update once, then retry
  if ! apt-get install -y -q --no-install-recommends slurm-wlm munge > "$tmp/apt.log" 2>&1; then
    apt-get update -q >> "$tmp/apt.log" 2>&1 \
      && apt-get install -y -q --no-install-recommends slurm-wlm munge >> "$tmp/apt.log" 2>&1 \
      || die "apt-get could not install slurm-wlm munge: $(tail -n 1 "$tmp/apt.log")" 2
  fi
  have_all || die "slurm-wlm and munge installed, but sbatch/slurmctld/slurmd/munged are not on PATH" 2
}

start_munge() {
  if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then return 0; fi
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown -R munge: /etc/munge /var/lib/munge /var/log/munge 2> /dev/null
  chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge && chown munge: /run/munge && chmod 0755 /run/munge
  say "starting munged"
  runuser -u munge -- munged < /dev/null > /dev/null 2>&1 || die "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    munge -n 2> /dev/null | unmunge > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "munged started but munge -n | unmunge fails (see /var/log/munge/munged.log)"
}

# `node_line`: this machine as slurm.conf's NodeName line (slurmd -C: CPUs, sockets, cores,
# threads, memory), reachable at 127.0.0.1 whatever the host name resolves to.
node_line() {
  local line
  line=$(slurmd -C 2> /dev/null | grep '^NodeName=') || die "slurmd -C did not describe this machine"
  echo "$line NodeAddr=127.0.0.1 State=UNKNOWN"
}

write_conf() {
  local host node text
  host=$(hostname -s)
  node=$(node_line) || exit 1
  text="$marker: a one-node cluster on $host (rerun it to update)
ClusterName=trnet-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MinJobAge=60
$node
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP"
  if [ -f "$conf" ] && ! head -n 1 "$conf" | grep -qF "$marker"; then
    if scontrol ping > /dev/null 2>&1; then
      say "$conf was not written by this script: using the Slurm it configures, as it is"
      exit 0
    fi
    die "$conf exists and was not written by this script: left as it is (a Slurm is configured here already; use it, or move $conf away)"
  fi
  if [ -f "$conf" ] && [ "$(cat "$conf")" = "$text" ]; then return 0; fi
  say "writing $conf"
  mkdir -p "$(dirname "$conf")"
  echo "$text" > "$conf.tmp" && mv "$conf.tmp" "$conf"
  # a running controller reads its configuration at start only
  if pid_alive "$run/slurmctld.pid"; then scontrol reconfigure > /dev/null 2>&1; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

start_daemons() {
  mkdir -p "$state/ctld" "$state/d" "$logs" "$run"
  if ! pid_alive "$run/slurmctld.pid"; then
    say "starting slurmctld"
    slurmctld < /dev/null > /dev/null 2>&1 || die "slurmctld did not start (see $logs/slurmctld.log)"
  fi
  if ! pid_alive "$run/slurmd.pid"; then
    say "starting slurmd"
    slurmd < /dev/null > /dev/null 2>&1 || die "slurmd did not start (see $logs/slurmd.log)"
  fi
}

# `wait_node`: until the node takes jobs (idle, mixed or allocated); a node left down or
# drained by an earlier run (e.g. the machine's memory changed) is resumed.
wait_node() {
  local host node_state
  host=$(hostname -s)
  for i in $(seq 100); do
    node_state=$(sinfo -h -n "$host" -o %T 2> /dev/null | head -n 1)
    case $node_state in
      idle* | mixed* | allocated* | completing*) say "up: node $host ($node_state), partition local"; return 0 ;;
      down* | drain*) [ "$i" -gt 20 ] && scontrol update nodename="$host" state=resume > /dev/null 2>&1 ;;
    esac
    sleep 0.2
  done
  die "node $host is not up after 20 s (state: ${node_state:-none}; see $logs/slurmctld.log, $logs/slurmd.log)"
}

stop() {
  local name
  for name in slurmd slurmctld; do
    if pid_alive "$run/$name.pid"; then say "stopping $name"; kill "$(cat "$run/$name.pid")"; fi
  done
}

if [ "${1:-}" = stop ]; then stop; exit 0; fi
[ $# -eq 0 ] || die "usage: bash $me [stop]"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
install_packages
if [ "$(id -u)" != 0 ]; then  # someone else's cluster may be up: use it
  scontrol ping > /dev/null 2>&1 || die "Slurm is not running here and only root can configure and start it" 2
  wait_node
  exit 0
fi
start_munge
write_conf
start_daemons
wait_node
