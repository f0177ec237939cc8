"""One version source: pyproject's ``version``, read back through the installed metadata."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
from typer.testing import CliRunner

import plait

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_version_is_the_installed_metadata() -> None:
    assert plait.__version__ == metadata.version("plait")


def test_version_is_pyproject_version() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    if not PYPROJECT.is_file():
        pytest.skip("not run from a source checkout")
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert plait.__version__ == project["version"]


def test_cli_version_is_package_version() -> None:
    from plait.cli.main import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"plait {plait.__version__}"


def test_a_source_tree_without_metadata_gets_a_placeholder(monkeypatch) -> None:
    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert plait._installed_version() == "0+unknown"
