"""Where a comparison ran: machine, CPUs, load, package versions and date (for the report)."""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "describe_machine", "load_average", "package_versions"]

PACKAGES = ("plait", "torch", "transformers", "sentence-transformers", "numpy", "scipy")


def load_average() -> list[float] | None:
    """``os.getloadavg()`` (1, 5 and 15 minutes) rounded to 2 decimals; ``None`` where unsupported."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each distribution, ``"not installed"`` when absent."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _git_commit() -> str | None:
    """Return the short commit of the checkout plait is imported from (``None`` if not one)."""
    folder = Path(__file__).resolve().parents[2]
    if not (folder / ".git").exists():
        return None
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def _default_model_delta() -> str | None:
    """First 12 hex digits of the packaged default-model delta's SHA-256 (which weights ran)."""
    try:
        from plait.models.default import DELTA_FOLDER, DELTA_WEIGHTS
    except ImportError:  # pragma: no cover - part of plait
        return None
    path = Path(DELTA_FOLDER) / DELTA_WEIGHTS
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:12]


def describe_machine() -> dict[str, Any]:
    """Machine, CPU model, CPU count, torch threads, package versions and the UTC date."""
    try:
        import torch

        threads: int | None = torch.get_num_threads()
    except ImportError:  # pragma: no cover - a core dependency
        threads = None
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "versions": package_versions(),
        "plait_commit": _git_commit(),
        "default_model_delta": _default_model_delta(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
