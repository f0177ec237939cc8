"""Ray tests (issue 9): skipped, saying why, when the ``ray`` extra is not installed."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "ray", reason="the ray extra is not installed: pip install -e '.[ray]' to run tests/ray"
)
