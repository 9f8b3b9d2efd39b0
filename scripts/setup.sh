#!/usr/bin/env bash
# Create .venv (if missing) and install hnet-bio with its dev tools, pinned by constraints.txt.
#   bash scripts/setup.sh            CPU install (torch 2.14.1 + torchaudio 2.11.1 from constraints.txt)
#   EXTRAS=dev,gpu bash scripts/setup.sh   also the fused CUDA kernels (needs a CUDA machine)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-dev}"
if [[ ! -x .venv/bin/python ]]; then
    "$PYTHON" -m venv .venv
fi
# (some machines' pip config lists local index folders that may not exist; drop that one warning)
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[${EXTRAS}]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
.venv/bin/python -c "import torch, torchaudio, hnet_bio; print(f'hnet-bio {hnet_bio.__version__}: torch {torch.__version__}, torchaudio {torchaudio.__version__}')"
