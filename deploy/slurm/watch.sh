#!/usr/bin/env bash
# Follows the jobs of submit.sh until the merge finishes or cannot run.
#   deploy/slurm/watch.sh [ARRAY_JOB MERGE_JOB]     (default: the ids in $OUT/slurm-jobs.txt)
# Exit 0 when the merge completed; 1 when a shard or the merge failed (with the reason).
# Polls squeue/scontrol (sbatch --wait polls slowly); every client call has a timeout.
set -euo pipefail
if [[ $# -ge 2 ]]; then array=$1; merge=$2; else read -r array merge < "${OUT:?set OUT or pass ARRAY_JOB MERGE_JOB}/slurm-jobs.txt"; fi
POLL="${POLL:-2}"
q() { timeout 20 "$@"; }
state_of() { q scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2 || true; }
last=""
while true; do
    # One line per array task: "ID STATE" (finished tasks stay visible to scontrol for MinJobAge).
    tasks=$(q scontrol -o show job "$array" 2>/dev/null | sed -n 's/.*JobId=\([0-9]*\) .*ArrayTaskId=\([0-9]*\) .*JobState=\([A-Z_]*\).*/\2 \3/p' | sort -n || true)
    mstate=$(state_of "$merge")
    mreason=$(q scontrol -o show job "$merge" 2>/dev/null | grep -o 'Reason=[A-Za-z_]*' | cut -d= -f2 || true)
    line="shards: $(echo "$tasks" | tr '\n' ' ')| merge $merge: ${mstate:-?} ${mreason:+($mreason)}"
    [[ "$line" != "$last" ]] && echo "$line" && last="$line"
    failed=$(echo "$tasks" | awk '$2 ~ /FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED/ {print $1 " (" $2 ")"}' | tr '\n' ' ')
    case "$mstate" in
        COMPLETED) echo "merge job $merge completed"; exit 0 ;;
        FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL)
            echo "merge job $merge ended $mstate; see its log (merge.log)"; exit 1 ;;
    esac
    if [[ -n "$failed" || "$mreason" == DependencyNeverSatisfied ]]; then
        echo "shard(s) ${failed:-?}of array job $array did not succeed: merge job $merge will not run (afterok dependency never satisfied)."
        echo "Fix the cause (shard logs), cancel the merge (scancel $merge) and rerun deploy/slurm/submit.sh: finished shards skip their candidates, interrupted ones resume."
        exit 1
    fi
    sleep "$POLL"
done
