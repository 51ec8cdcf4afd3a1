#!/usr/bin/env bash
# A real Slurm on this machine: installs slurm-wlm and munge from Debian's packages
# where they are missing, starts munged, slurmctld and slurmd on localhost with a
# minimal single-node configuration in a temporary folder, submits the job array
# and merge job that `evcarbon slurm --tasks 4` writes, waits for the merged
# results (bounded), compares them with a single-process run, and stops every
# daemon it started.
#
# Usage: single_node.sh EVCARBON_BINARY CONFIG_DIR
#   CONFIG_DIR holds example.toml and its tables (a scratch copy).
# Exit status: 0 passed, 77 skipped (Slurm cannot be installed or started here;
# the reason is printed), anything else failed.
set -euo pipefail

evcarbon=$1
work=$2
skip() { echo "SKIPPED: real Slurm test: $*" >&2; exit 77; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm and munge are missing and there is no apt-get"
    { as_root apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq slurm-wlm munge >/dev/null; } ||
        skip "could not install slurm-wlm and munge with apt-get (no root or no network?)"
fi
[ "$(id -u)" = 0 ] || skip "the daemons need root (SlurmUser=root) and this is not root"

# One test Slurm at a time on a machine (two `cargo test` runs would share ports),
# on two ports that are free now.
exec 9>/tmp/evcarbon-slurm-test.lock
flock -w 600 9 || skip "another Slurm test held the lock for 10 minutes"
free_port() {
    local port
    for _ in $(seq 100); do
        port=$(( 20000 + RANDOM % 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo 16817
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
[ "$slurmd_port" != "$ctld_port" ] || slurmd_port=$((ctld_port + 1))

state=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for f in "$state"/slurmctld.pid "$state"/slurmd.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    [ -f "$state/munge-run/munged.pid" ] && kill "$(cat "$state/munge-run/munged.pid")" 2>/dev/null || true
    sleep 1
    rm -rf "$state"
}
trap cleanup EXIT

# munge: its own key and socket in the state folder, so a system munged (if any)
# is left alone. The key's folder is private; the socket's must be searchable.
chmod 755 "$state"
mkdir -p "$state/munge" "$state/munge-run"
dd if=/dev/urandom bs=1 count=1024 of="$state/munge/munge.key" 2>/dev/null
chmod 700 "$state/munge"; chmod 400 "$state/munge/munge.key"; chmod 755 "$state/munge-run"
chown -R munge:munge "$state/munge" "$state/munge-run" 2>/dev/null || true
socket="$state/munge-run/munge.socket"
runuser -u munge -- /usr/sbin/munged --force --key-file="$state/munge/munge.key" \
    --socket="$socket" --pid-file="$state/munge-run/munged.pid" \
    --log-file="$state/munge/munged.log" --seed-file="$state/munge/munged.seed" ||
    skip "munged would not start: $(tail -3 "$state/munge/munged.log" 2>/dev/null)"

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$state/slurm.conf" <<CONF
ClusterName=evcarbon-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$state/ctld" "$state/spool"
export SLURM_CONF="$state/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld would not start: $(tail -5 "$state/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" || skip "slurmd would not start: $(tail -5 "$state/slurmd.log" 2>/dev/null)"

# The node must come up (bounded wait).
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mixed|allocated' && break
    sleep 1
done
sinfo -h -o %T | grep -qE 'idle|mixed|allocated' ||
    { echo "the Slurm node did not come up:"; sinfo; tail -20 "$state/slurmctld.log"; exit 1; }

cd "$work"
"$evcarbon" run example.toml --draws 20000 --out single --quiet >/dev/null
"$evcarbon" slurm example.toml --tasks 4 --draws 20000 --time 10:00 --mem 500M --out cluster
bash cluster/slurm/submit.sh

# Wait for the merge (bounded): its manifest is written last.
for _ in $(seq 300); do
    [ -f cluster/manifest.json ] && break
    sleep 1
done
if [ ! -f cluster/manifest.json ]; then
    echo "no merged results after 300 s; queue and logs:"
    squeue || true
    tail -n 20 cluster/slurm/*.log "$state/slurmctld.log" || true
    exit 1
fi
shards=$(ls cluster/shards/*.evshard | wc -l)
[ "$shards" = 4 ] || { echo "expected 4 shard files, found $shards"; exit 1; }
for table in city_intervals province_intervals headline_intervals headline_quantiles \
    scenario_deltas scenario_headlines; do
    cmp "single/$table.parquet" "cluster/$table.parquet"
done
echo "real Slurm: 4 array tasks and the merge job gave the single-process run's tables"
