#!/usr/bin/env bash
# GPU readiness in one command, within 10 minutes on a CUDA machine:
#   1. install the `gpu` extra (mamba-ssm, flash-attn) if it is not importable yet (time-boxed);
#   2. run the CUDA tests (fused kernels against the pure path);
#   3. time training and inference on the pure and the fused path and check they agree
#      (benchmarks/gpu_check.py, which writes benchmarks/results/gpu_check.json);
#   4. run the inference jobs with --device cuda on the test data;
#   5. print a summary table (step, status, seconds). Exit status 1 if a step failed.
# On a machine without CUDA it says so and exits 0.
#   bash scripts/gpu_check.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
    echo "gpu_check: no CUDA device on this machine (or torch is not installed): nothing to check; exit 0"
    exit 0
fi

declare -a SUMMARY=()
FAILED=0
step() {  # step NAME TIMEOUT_S COMMAND...: run, time and record one step
    local name=$1 limit=$2; shift 2
    local t0=$SECONDS status
    echo "== $name"
    if timeout "$limit" "$@"; then status=ok; else status="FAILED ($?)"; FAILED=1; fi
    SUMMARY+=("$(printf '%-34s %-12s %5ds' "$name" "$status" $((SECONDS - t0)))")
}
soft_step() {  # like step, but a failure is reported without failing the check (optional parts)
    local before=$FAILED
    step "$@"
    FAILED=$before
}

OUT_DIR=$(mktemp -d)
trap 'rm -rf "$OUT_DIR"' EXIT
FA=tests/data/ecoli_MG1655_20kb.fa

if ! "$PY" -c "import mamba_ssm, flash_attn" 2>/dev/null; then
    soft_step "install gpu extra" 240 "$PY" -m pip install --quiet -e ".[gpu]"
fi
"$PY" -c "from hnet_bio import kernels; print('fused kernels available:', kernels.available())"
step "CUDA tests (fused vs pure)" 120 "$PY" -m pytest -p no:cacheprovider tests/hnet_bio/test_kernels.py -rs
step "train + inference, pure vs fused" 180 "$PY" benchmarks/gpu_check.py
step "evaluate --device cuda" 60 "$PY" -m pipelines evaluate --checkpoint dna-bacteria-small --fasta "$FA" \
    --device cuda --no-anchors
step "boundaries --device cuda" 60 "$PY" -m pipelines boundaries --checkpoint dna-bacteria-small --fasta "$FA" \
    --out "$OUT_DIR/b.bed" --probs "$OUT_DIR/b.bedgraph" --device cuda
step "embed --device cuda" 60 "$PY" -m pipelines embed --checkpoint dna-bacteria-small --fasta "$FA" \
    --out "$OUT_DIR/e.npz" --device cuda
step "generate --device cuda" 60 "$PY" -m pipelines generate --checkpoint dna-bacteria-small \
    --prompt ACGTACGTAC --max-new-bytes 256 --out "$OUT_DIR/g.fa" --device cuda

echo
echo "gpu_check summary ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1))"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
