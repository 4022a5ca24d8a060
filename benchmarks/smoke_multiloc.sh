#!/usr/bin/env bash
# Smoke run (NOT a paper result): a few epochs of each zoo model on MultiLoc, evaluated on the test split.
# Usage: bash benchmarks/smoke_multiloc.sh [EPOCHS]   (needs `make test` or `make demo` set-up first)
# Writes runs/smoke-*/ and copies the test reports to benchmarks/results/smoke-*.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROTLOC_DATA_DIR="${PROTLOC_DATA_DIR:-$(cd ../shared/data/multiloc && pwd)}"
EPOCHS="${1:-5}"
for model in rlstm alstm; do
  run="runs/smoke-$model"
  .venv/bin/protloc train --model "$model" --recipe paper --epochs "$EPOCHS" --learning-rate 1e-3 --out "$run" --seed 0
  .venv/bin/protloc evaluate "$run" --split test --out benchmarks/results/smoke-"$model"
  echo "$(nproc) cores, $(uname -m), epochs=$EPOCHS, lr=1e-3, other hyper-parameters: paper defaults" \
    > benchmarks/results/smoke-"$model"/machine.txt
done
