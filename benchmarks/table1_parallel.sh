#!/usr/bin/env bash
# benchmarks/table1.py with one process per step, side by side on one machine, then once more to gather.
#
# For a GPU machine on Keras's JAX backend: one recurrent model trains a batch as a chain of small sequential
# steps and leaves most of the GPU idle, so several runs at once finish more epochs per hour than one after
# another. Each process trains its own step (table1.py --only); the last call reads every finished run and
# writes benchmarks/results/NAME.{json,md}. Runs keep their per-epoch checkpoints: call again to resume.
#
# Usage: benchmarks/table1_parallel.sh SECONDS STEP,STEP,... TABLE1_ARGUMENT...
#   SECONDS   stop training after this long (the epochs finished so far are kept)
#   STEP      table1.py step names, e.g. alstm-fold0,alstm-fold1
# Environment: STAGGER (seconds, default 0) starts the first step alone and the others that much later, so that
# with JAX_COMPILATION_CACHE_DIR set they reuse its compiled training steps instead of all compiling at once.
# Logs: runs/logs/STEP.log.
set -u
if [ $# -lt 3 ]; then
    sed -n '8,14p' "$0" >&2
    exit 2
fi
limit=$1 steps=${2//,/ }
shift 2
mkdir -p runs/logs
first=1
for step in $steps; do
    timeout "$limit" python benchmarks/table1.py "$@" --only "$step" > "runs/logs/$step.log" 2>&1 &
    if [ "$first" = 1 ]; then
        first=0
        sleep "${STAGGER:-0}"
    fi
done
wait
python benchmarks/table1.py "$@" --only ""
