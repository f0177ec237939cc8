#!/usr/bin/env bash
# Creates the peer environment for the filtered-search benchmark (benchmarks/filter_bench.py):
# fast-plaid 1.7 (metadata in SQLite, a `where` condition becomes a subset) and xtr-warp-rs 2.1
# (metadata filtering through DuckDB). Both are compiled against torch 2.11.0 (PyPI's CUDA build,
# used on the CPU here), so they live in their own venv; embeddings cross as .npy files.
# Usage: bash benchmarks/setup_filter_peers.sh [VENV_DIR]   (default: benchmarks/.work/filter-peer-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/.work/filter-peer-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q "torch==2.11.0"
# Installed one at a time so that one failing does not keep the other out.
status=0
for package in "fast-plaid==1.7.0.2110" "xtr-warp-rs==2.1.0.2110"; do
    if ! "$venv/bin/pip" install -q "$package"; then
        echo "could not install $package" >&2
        status=1
    fi
done
"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for p in ["fast-plaid", "xtr-warp-rs", "torch", "numpy"]:
    try:
        print(f"{p}=={md.version(p)}")
    except md.PackageNotFoundError:
        print(f"{p}: not installed")
PY
exit $status
