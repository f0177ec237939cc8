"""Every missing optional dependency gives the same one line naming the extra (issue 28, item 3)."""

from __future__ import annotations

import pytest

from plait import extras
from plait.extras import EXTRAS, MissingExtraError, require_extra


@pytest.fixture
def nothing_installed(monkeypatch):
    """Pretend that no extra is installed (a module name that cannot exist)."""
    for extra in EXTRAS:
        monkeypatch.setitem(EXTRAS, extra, (f"plait_missing_{extra}",))


def test_the_message_names_what_needs_it_and_the_pip_command(nothing_installed):
    with pytest.raises(MissingExtraError) as error:
        require_extra("train", "plait train")
    assert str(error.value) == 'plait train needs plait_missing_train: pip install "plait[train]"'
    assert isinstance(error.value, ImportError)


def test_an_installed_extra_passes():
    require_extra("server", "plait serve")  # the dev extra installs fastapi and uvicorn


def test_a_module_blocked_in_sys_modules_counts_as_missing(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    with pytest.raises(MissingExtraError, match="uvicorn"):
        require_extra("server", "plait serve")


@pytest.mark.parametrize(
    "call, extra",
    [
        (lambda: __import__("plait.server", fromlist=["create_app"]).create_app, "server"),
        (lambda: __import__("plait.compare.plots", fromlist=["_figure"])._figure(), "compare"),
        (
            lambda: __import__("plait.distributed.actors", fromlist=["require_ray"]).require_ray(),
            "ray",
        ),
        (lambda: __import__("plait.baselines", fromlist=["BM25"]).BM25(), "bm25"),
        (
            lambda: __import__("plait.training.scorers", fromlist=["BM25Scorer"]).BM25Scorer(),
            "bm25",
        ),
    ],
)
def test_library_entry_points_raise_the_hint(nothing_installed, call, extra):
    with pytest.raises(MissingExtraError, match=rf'pip install "plait\[{extra}\]"'):
        call()


def test_cli_commands_print_one_line_and_exit_1(nothing_installed, tmp_path):
    from typer.testing import CliRunner

    from plait.cli.main import app

    data = tmp_path / "beir"
    data.mkdir()
    for args, extra in (
        (["serve", "--index", str(tmp_path)], "server"),
        (["train", "--data", str(data), "--output", str(tmp_path / "out")], "train"),
        (["evaluate", "--data", str(data), "--retriever", "bm25"], "bm25"),
    ):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith("error: ") and f'pip install "plait[{extra}]"' in last, last
    assert (
        extras.missing_extra("ray", "x").args[0]
        == 'x needs plait_missing_ray: pip install "plait[ray]"'
    )
