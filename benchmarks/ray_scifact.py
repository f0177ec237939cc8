"""The whole-SciFact Ray acceptance (issue 9), outside CI: 4 shards on a local Ray cluster equal one
PLAID index on all 5,183 documents and 300 test queries (top-10 ids, scores within 1e-5).

CI runs the same test on SciFact's first 400 documents (tests/ray/test_sharded_scifact.py); this
runs it on the whole corpus and prints the time it took. Needs the ray extra::

    .venv/bin/pip install -e ".[ray]" && .venv/bin/python benchmarks/ray_scifact.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

TEST = Path(__file__).resolve().parents[1] / "tests" / "ray" / "test_sharded_scifact.py"


def main() -> int:
    env = {**os.environ, "PLAIT_SCIFACT_DOCS": "all", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    status = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEST)], env=env
    )
    print(
        f"whole-SciFact sharded-vs-single acceptance: {'passed' if status == 0 else 'FAILED'} "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
