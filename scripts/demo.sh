#!/usr/bin/env bash
# The README's main job: fetch the real bacterial corpus (Debian packages, no system install) and
# pretrain the small 1-stage H-Net on it for a few minutes on CPU. Without Debian's apt tools it
# falls back to the genome embedded in the package (dna-sample). Extra arguments go to
# `hnet-bio pretrain`, e.g. `bash scripts/demo.sh --train.max_steps 300`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if bash scripts/fetch_data.sh; then
    DATA=dna-bacteria
else
    echo "demo: full corpus unavailable; using the embedded genome (dna-sample)" >&2
    DATA=dna-sample
fi
OUT="runs/dna-small-$(date +%Y%m%d-%H%M%S)"
exec .venv/bin/hnet-bio pretrain --config configs/pretrain-dna-small.yaml --data "$DATA" --out "$OUT" "$@"
