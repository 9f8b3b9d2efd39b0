#!/usr/bin/env bash
# Package the two shipped models from their finished pretraining runs, check them, list them
# (docs/models.md). One command:
#
#   bash scripts/package_models.sh [RUNS_DIR]        # default RUNS_DIR: runs
#
# For each model it runs `hnet-bio package` (bf16 weights, held-out bits/byte and bytes per chunk,
# the Leptospira genome for DNA, the Markov/xz/zstd anchors on the same bytes, the model card,
# tests/data/shipped/NAME.json), then the regression test and `hnet-bio models`. Environment:
# PYTHON (default .venv/bin/python), HARDWARE (where the runs trained, for the cards),
# PACKAGE_ARGS (extra `hnet-bio package` options, e.g. "--checkpoint best --eval-windows 1024").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-runs}
PY=${PYTHON:-.venv/bin/python}
HARDWARE=${HARDWARE:-"CPU only: one torch thread, niced, on a 2-core AMD EPYC VM shared with other work"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for name in dna-bacteria-small audio-speech-small; do
    # shellcheck disable=SC2086  # PACKAGE_ARGS is a list of options
    "$PY" -m pipelines package --run "$RUNS/ship-$name" --name "$name" --hardware "$HARDWARE" \
        --threads "$OMP_NUM_THREADS" ${PACKAGE_ARGS:-}
done
"$PY" -m pytest tests/pipelines/packaging/test_shipped_models.py -q
"$PY" -m pipelines models
