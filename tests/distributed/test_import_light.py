"""The single-machine path never imports Ray (it is an optional extra)."""

from __future__ import annotations

import subprocess
import sys

CHECK = (
    "import plait, plait.retrieve, plait.cli.main, plait.server, plait.distributed, plait.indexes; "
    "import sys; assert 'ray' not in sys.modules, sorted(m for m in sys.modules if m.startswith('ray'))"
)


def test_single_machine_modules_do_not_import_ray():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
