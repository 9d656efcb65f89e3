# A real single-host Slurm (slurm-wlm 22.05 + munge) of two 1-CPU nodes on this machine, for
# Scripts/test-slurm and Scripts/measure-sharded-analysis. Source it, then:
#
#   slurm_start DIR      # config, state and logs under DIR; exports SLURM_CONF; waits until idle
#   slurm_stop           # stops the daemons slurm_start started, by PID (munged only if it started it)
#
# Needs root and `apt-get install --no-install-recommends slurm-wlm`. slurm_start returns 1 with a
# message on stderr when the nodes do not come up.

slurm_pids=()

slurm_start() {
    local dir="$1" idle
    # munge: start it unless one is running already (then it is not ours to stop).
    if ! { [[ -f /run/munge/munged.pid ]] && kill -0 "$(cat /run/munge/munged.pid)" 2> /dev/null; }; then
        [[ -f /etc/munge/munge.key ]] || mungekey --create > /dev/null
        install -d -o munge -g munge -m 0755 /run/munge
        runuser -u munge -- /usr/sbin/munged --force
        for _ in $(seq 50); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.1; done
        slurm_pids+=("$(cat /run/munge/munged.pid)")
    fi
    mkdir -p "$dir/state" "$dir/spool"
    export SLURM_CONF="$dir/slurm.conf"
    cat > "$SLURM_CONF" <<CONF
ClusterName=practiseci
SlurmctldHost=localhost
SlurmUser=root
SlurmctldPort=6817
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
ReturnToService=2
MpiDefault=none
KillWait=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=6818 CPUs=1 RealMemory=1024
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=6819 CPUs=1 RealMemory=1024
PartitionName=ci Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld -D -f "$SLURM_CONF" > "$dir/slurmctld.out" 2>&1 & slurm_pids+=($!)
    slurmd -D -N node1 -f "$SLURM_CONF" > "$dir/slurmd1.out" 2>&1 & slurm_pids+=($!)
    slurmd -D -N node2 -f "$SLURM_CONF" > "$dir/slurmd2.out" 2>&1 & slurm_pids+=($!)
    for _ in $(seq 60); do
        idle=$(timeout 10 sinfo -h -N -o '%N %t' 2> /dev/null | grep -c idle || true)
        [[ "$idle" == 2 ]] && return 0
        sleep 0.5
    done
    echo "the two Slurm nodes did not become idle: $(timeout 10 sinfo -N 2>&1)" >&2
    return 1
}

slurm_stop() {
    local p
    for p in "${slurm_pids[@]}"; do kill "$p" 2> /dev/null || true; done
    # A killed daemon stays a zombie for about a second: wait until it is gone.
    for p in "${slurm_pids[@]}"; do
        for _ in $(seq 50); do [[ -d /proc/$p && $(awk '{print $3}' /proc/$p/stat 2> /dev/null) != Z ]] || break; sleep 0.1; done
    done
    slurm_pids=()
}
