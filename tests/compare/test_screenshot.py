"""The screenshot helper's blank-page check (the browser itself is exercised by hand, not here)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from plait.compare.screenshot import coloured_share


def test_coloured_share_tells_blank_from_plotted(tmp_path):
    blank = np.full((40, 50, 3), 255, np.uint8)
    blank[10:12, :, :] = 120  # grey text-like rule: not colour
    plotted = blank.copy()
    plotted[20:30, 10:20] = (214, 39, 40)  # a red marker
    Image.fromarray(blank).save(tmp_path / "blank.png")
    Image.fromarray(plotted).save(tmp_path / "plotted.png")
    assert coloured_share(tmp_path / "blank.png") == 0.0
    assert coloured_share(tmp_path / "plotted.png") == 100 / (40 * 50)
