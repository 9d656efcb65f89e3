#!/usr/bin/env bash
# Submits a sharded `practise analyze` as a Slurm job array and the merge (+ compress) step that
# runs only when every shard succeeded (--dependency=afterok). Rerunning this script after a
# failure is safe: finished shards skip their candidates and an interrupted one resumes.
#
#   deploy/slurm/submit.sh                 # uses the options below
#   SHARDS=8 PARTITION=gpu deploy/slurm/submit.sh
#
# Prints "array job ID" and "merge job ID"; follow them with deploy/slurm/watch.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

# ---- options a user edits (each can also be set in the environment) -------------------------
PARTITION="${PARTITION:-}"                 # Slurm partition; empty = the cluster's default
CPUS_PER_TASK="${CPUS_PER_TASK:-4}"        # cores per shard; also practise --threads
TIME="${TIME:-08:00:00}"                   # wall-time limit per shard
MEM="${MEM:-8G}"                           # memory per shard
SHARDS="${SHARDS:-4}"                      # number of shards (array tasks 0..SHARDS-1)
PRACTISE="${PRACTISE:-$HOME/practise/.build/release/practise}"   # the binary, on a path every node sees
OUT="${OUT:-$HOME/practise-runs/analysis}"                       # shared folder of the analysis (every node)
LOGS="${LOGS:-$OUT/logs}"                                        # Slurm output files
# Options of the analysis, identical for every shard and the merge:
ANALYZE_ARGS="${ANALYZE_ARGS:---model resnet56 --weights bundled --data bundled --num-samples 100 --analysis-iterations 500}"
# After the merge: compress with these options (set to "" for the merge only):
COMPRESS_ARGS="${COMPRESS_ARGS---target-latency-reduction 0.2}"
COMPRESS_OUT="${COMPRESS_OUT:-$HOME/practise-runs/compressed}"
MERGE_CPUS="${MERGE_CPUS:-$CPUS_PER_TASK}"                       # cores of the merge + compress step
MERGE_TIME="${MERGE_TIME:-04:00:00}"
EXTRA_SBATCH="${EXTRA_SBATCH:-}"                                 # e.g. "--account=lab --qos=normal"
# -----------------------------------------------------------------------------------------------

[[ -x "$PRACTISE" ]] || { echo "submit.sh: PRACTISE=$PRACTISE is not an executable (build with swift build -c release)" >&2; exit 2; }
[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: SHARDS must be a positive integer (found '$SHARDS')" >&2; exit 2; }
mkdir -p "$OUT" "$LOGS"
export PRACTISE OUT SHARDS ANALYZE_ARGS COMPRESS_ARGS COMPRESS_OUT

common=(--parsable --export=ALL)
[[ -n "$PARTITION" ]] && common+=(--partition="$PARTITION")
# shellcheck disable=SC2206
[[ -n "$EXTRA_SBATCH" ]] && common+=($EXTRA_SBATCH)

array=$(sbatch "${common[@]}" --job-name=practise-analyze --array="0-$((SHARDS - 1))" \
    --cpus-per-task="$CPUS_PER_TASK" --time="$TIME" --mem="$MEM" --output="$LOGS/shard-%a.log" \
    "$here/analyze-shard.sbatch")
array=${array%%;*}
merge=$(sbatch "${common[@]}" --job-name=practise-merge --dependency="afterok:$array" --kill-on-invalid-dep=no \
    --cpus-per-task="$MERGE_CPUS" --time="$MERGE_TIME" --mem="$MEM" --output="$LOGS/merge.log" \
    "$here/merge.sbatch")
merge=${merge%%;*}
echo "array job $array ($SHARDS shards, logs $LOGS/shard-*.log)"
echo "merge job $merge (after every shard succeeds, log $LOGS/merge.log)"
echo "$array $merge" > "$OUT/slurm-jobs.txt"
