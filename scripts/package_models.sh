#!/usr/bin/env bash
# Package the two shipped models from their finished pretraining runs, check them, list them
# (docs/models.md). One command:
#
#   bash scripts/package_models.sh [RUNS_DIR]        # default RUNS_DIR: runs
#
# For each model it runs `hnet-bio package` (bf16 weights, held-out bits/byte and bytes per chunk,
# the Leptospira genome for DNA, the Markov/xz/zstd anchors on the same bytes, the model card,
# tests/data/shipped/NAME.json), then the regression test and `hnet-bio models`. The options are the
# ones the shipped cards record: each run's *last* checkpoint, said explicitly as RUN@last (a bare
# run directory would mean its best, pipelines/runs/resolve.py), and the DNA anchor up to Markov
# order 16. Environment: PYTHON (default .venv/bin/python), HARDWARE (where the runs trained, for
# the cards), CHOICE (last, best or a step; default last), PACKAGE_ARGS (extra `hnet-bio package`
# options, e.g. "--eval-windows 1024").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-runs}
PY=${PYTHON:-.venv/bin/python}
HARDWARE=${HARDWARE:-"CPU only: 2 processes (torchrun DDP) of one torch thread each on a 2-core VM, no GPU"}
CHOICE=${CHOICE:-last}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
for name in dna-bacteria-small audio-speech-small; do
    extra=()
    if [ "$name" = dna-bacteria-small ]; then
        extra=(--max-order 16)  # the order-16 anchor the DNA card reports
    fi
    # shellcheck disable=SC2086  # PACKAGE_ARGS is a list of options
    "$PY" -m pipelines package --run "$RUNS/ship-$name@$CHOICE" --name "$name" --threads "$OMP_NUM_THREADS" \
        "${extra[@]}" --hardware "$HARDWARE" ${PACKAGE_ARGS:-}
done
"$PY" -m pytest tests/pipelines/packaging/test_shipped_models.py -q
"$PY" -m pipelines models
