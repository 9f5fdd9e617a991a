#!/usr/bin/env bash
# Stop the localhost SLURM cluster that scripts/slurm/start.sh brought up:
# cancel its jobs, stop slurmd, slurmctld and the munged it started (by the pids
# it recorded), wait until they are gone, and remove the slurm.conf it wrote.
# Safe to run when nothing is running. Exits non-zero if a daemon survives.
#
# Env: BAN_SLURM_DIR  as for start.sh (default /tmp/ban-slurm)
set -uo pipefail

state_dir="${BAN_SLURM_DIR:-/tmp/ban-slurm}"
conf=/etc/slurm/slurm.conf
marker="# ban-local-slurm"

[[ $(id -u) -eq 0 ]] || { echo "stop.sh: must run as root" >&2; exit 1; }

ours_conf() { [[ -f "$conf" ]] && head -n 1 "$conf" | grep -q "^$marker"; }

# Cancel queued and running jobs first so no job step outlives slurmd.
if ours_conf && [[ -s "$state_dir/slurmctld.pid" ]] && kill -0 "$(cat "$state_dir/slurmctld.pid")" 2>/dev/null; then
    jobs="$(timeout 10 squeue -h -o %i 2>/dev/null)" || jobs=""
    [[ -n $jobs ]] && timeout 10 scancel $jobs 2>/dev/null
fi

# stop <name>: SIGTERM the recorded pid, wait up to 10 s, then SIGKILL.
stop() {
    local pidfile="$state_dir/$1.pid" pid
    [[ -s "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null
            sleep 0.2
        fi
    fi
    if kill -0 "$pid" 2>/dev/null; then
        echo "stop.sh: $1 (pid $pid) is still running" >&2
        return 1
    fi
    rm -f "$pidfile"
}

status=0
stop slurmd || status=1
# slurmstepd processes of this node (job steps) exit with slurmd's jobs; wait for them.
for _ in $(seq 50); do pgrep -x slurmstepd >/dev/null || break; sleep 0.1; done
stop slurmctld || status=1
stop munged || status=1
ours_conf && rm -f "$conf"
[[ $status -eq 0 ]] && echo "stop.sh: SLURM cluster stopped"
exit $status
