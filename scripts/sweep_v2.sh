#!/usr/bin/env bash
# The short sweep behind the v2 recipes (issue 21): learning rate, then main-network depth and
# encoder width, 100 steps (819 kB) each on the training strains of dna-bacteria, two runs at a time
# with one thread each (the 2-core machine), then one table: held-out bits/base at step 100, bytes
# per chunk early and late, and kB/s.
# Usage: bash scripts/sweep_v2.sh [OUT_DIR]   (about 15 minutes on an idle 2-core machine)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/sweep-v2}
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
run() {  # name recipe [overrides...]: skipped when a finished run of that name is there
  local name=$1 recipe=$2; shift 2
  if [ -f "$OUT/$name/metrics.jsonl" ] && grep -q '"kind": "eval"' "$OUT/$name/metrics.jsonl"; then
    return 0
  fi
  rm -rf "${OUT:?}/$name"
  hnet-bio pretrain --config "$recipe" --out "$OUT/$name" -q "$@" > "$OUT/$name.log" 2>&1
}
S=configs/sweep
run lr2e-3 $S/dna-base.yaml & run lr4e-3 $S/dna-base.yaml --train.lr 4e-3 & wait
run deep-main $S/dna-deep-main.yaml & run wide-encoder $S/dna-wide-encoder.yaml & wait
python scripts/sweep_table.py "$OUT"
