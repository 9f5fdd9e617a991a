#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on localhost (Debian's munge + slurm-wlm).
#
# munged runs as user munge; slurmctld and slurmd run as root in the foreground
# (-D) in the background of this script, with no systemd and no cgroups. There is
# no slurmdbd, so `sacct` fails; the workflow's SLURM profile therefore polls with
# `squeue`, which MinJobAge=600 keeps reliable. Idempotent: a running cluster is
# left as it is. Prints the seconds the setup took.
#
# Usage: sudo scripts/slurm/start.sh          (root only)
# Env:   BAN_SLURM_DIR  state, logs and pid files (default /tmp/ban-slurm)
#        BAN_SLURM_CTLD_PORT / BAN_SLURM_SLURMD_PORT  (default 6817 / 6818)
#        BAN_SLURM_TIMEOUT  seconds to wait for the node to become idle (default 60)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state_dir="${BAN_SLURM_DIR:-/tmp/ban-slurm}"
conf=/etc/slurm/slurm.conf
marker="# ban-local-slurm"
timeout="${BAN_SLURM_TIMEOUT:-60}"
t0=$(date +%s.%N)

die() { echo "start.sh: $*" >&2; exit 1; }
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

[[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons as root)"

# --- packages ---------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    command -v apt-get >/dev/null || die "munge/slurm-wlm missing and apt-get unavailable"
    echo "start.sh: installing munge and slurm-wlm"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' init scripts from starting daemons this script would not own.
    policy=/usr/sbin/policy-rc.d our_policy=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && our_policy=$policy
        trap 'rm -f "$our_policy"' EXIT
    fi
    apt-get install -y -q munge slurm-wlm >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q munge slurm-wlm >/dev/null; } \
        || die "apt-get install munge slurm-wlm failed"
    [[ -n $our_policy ]] && rm -f "$our_policy"
    trap - EXIT
fi

mkdir -p "$state_dir"

# --- already up? ------------------------------------------------------------
if alive "$state_dir/slurmctld.pid" && alive "$state_dir/slurmd.pid" \
    && sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle\|mix\|alloc'; then
    echo "start.sh: cluster already running (state in $state_dir)"
    exit 0
fi
# Half-up leftovers from an earlier run: stop them before starting afresh.
"$here/stop.sh" >/dev/null 2>&1 || true
mkdir -p "$state_dir/ctld" "$state_dir/d"

# --- munge ------------------------------------------------------------------
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --pid-file="/run/munge/munged.pid"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || die "munged did not come up"
    cp /run/munge/munged.pid "$state_dir/munged.pid"
fi

# --- slurm.conf -------------------------------------------------------------
if [[ -e "$conf" ]] && ! head -n 1 "$conf" | grep -q "^$marker"; then
    die "$conf exists and was not written by this script; refusing to overwrite it"
fi
node_info="$(slurmd -C | head -n 1)"        # NodeName=... CPUs=... RealMemory=...
node_name="$(sed -n 's/.*NodeName=\([^ ]*\).*/\1/p' <<<"$node_info")"
real_mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node_info")"
[[ -n "$node_name" && -n "$real_mem" ]] || die "cannot parse 'slurmd -C': $node_info"
# A node that reports less memory than slurm.conf claims is marked invalid.
usable_mem=$(( real_mem * 95 / 100 ))
node_line="$(sed -e "s/RealMemory=[0-9]*/RealMemory=$usable_mem/" <<<"$node_info") NodeAddr=127.0.0.1 State=UNKNOWN"
mkdir -p /etc/slurm
sed -e "s|@STATE_DIR@|$state_dir|g" \
    -e "s|@CTLD_PORT@|${BAN_SLURM_CTLD_PORT:-6817}|g" \
    -e "s|@SLURMD_PORT@|${BAN_SLURM_SLURMD_PORT:-6818}|g" \
    -e "s|@NODE_LINE@|$node_line|" \
    -e "s|@NODE_NAME@|$node_name|g" \
    "$here/slurm.conf.in" >"$conf"

# --- daemons ----------------------------------------------------------------
# -c: start from a clean job state; -D: stay in the foreground (we background it).
setsid slurmctld -D -c -f "$conf" >>"$state_dir/slurmctld.out" 2>&1 </dev/null &
echo $! >"$state_dir/slurmctld.pid"
setsid slurmd -D -c -f "$conf" -N "$node_name" >>"$state_dir/slurmd.out" 2>&1 </dev/null &
echo $! >"$state_dir/slurmd.pid"

deadline=$(( $(date +%s) + timeout ))
until [[ "$(sinfo -h -N -o '%t' 2>/dev/null)" == idle ]]; do
    alive "$state_dir/slurmctld.pid" || die "slurmctld exited; see $state_dir/slurmctld.log"
    alive "$state_dir/slurmd.pid" || die "slurmd exited; see $state_dir/slurmd.log"
    if (( $(date +%s) > deadline )); then
        sinfo -N -l >&2 || true
        die "node $node_name not idle after ${timeout}s; see $state_dir/*.log"
    fi
    sleep 0.2
done
echo "start.sh: SLURM cluster up in $(elapsed) s (node $node_name, partition debug, state in $state_dir)"
