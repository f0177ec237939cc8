"""The plait command: instant help, help on every command and option, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from plait.cli.main import COMMANDS


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from plait.cli.main import app, COMMANDS\n"
        "runner = CliRunner()\n"
        "for args in [['--help']] + [[name, '--help'] for name in COMMANDS]:\n"
        "    result = runner.invoke(app, args)\n"
        "    assert result.exit_code == 0, (args, result.output)\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'ranx') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_root_help_lists_every_command(run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in ("demo", "encode", "index", "search", "evaluate"):
        assert name in COMMANDS
        assert f"  {name}" in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_has_help(run, name: str) -> None:
    import importlib

    import typer
    from typer.main import get_command

    module = importlib.import_module(COMMANDS[name])
    assert module.command.__doc__ and len(module.command.__doc__.strip()) > 40
    app = typer.Typer()
    app.command()(module.command)
    for param in get_command(app).params:
        if param.name != "help":
            assert getattr(param, "help", None), f"plait {name}: {param.name} has no help"
    result = run(name, "--help")
    assert result.exit_code == 0 and "Usage: " in result.output


def test_version_and_usage_errors(run) -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.output.startswith("plait ")
    assert run("no-such-command").exit_code == 2
    assert run("search", "--bogus-option").exit_code == 2
    result = run("encode", "some text", "--batch-size", "0")
    assert result.exit_code == 2


def test_console_script_entry_point() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['plait','--help']; from plait.cli.main import main; main()",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and "plait" in result.stdout


@pytest.mark.parametrize("kind", ["exact", pytest.param("plaid", marks=pytest.mark.slow)])
def test_info_reads_an_index_without_torch(tmp_path, kind: str) -> None:
    """`plait info` opens the index and reads its stats; neither needs torch or a model."""
    import numpy as np

    from plait.indexes import PLAID, Exact

    rng = np.random.default_rng(0)
    docs = [rng.standard_normal((12, 16)).astype(np.float32) for _ in range(40)]
    docs = [d / np.linalg.norm(d, axis=1, keepdims=True) for d in docs]
    if kind == "exact":
        index = Exact(index_folder=tmp_path, index_name="idx")
    else:
        index = PLAID(index_folder=tmp_path, index_name="idx", nbits=2)
    index.add_documents([str(i) for i in range(40)], docs)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from plait.cli.main import app\n"
        f"result = CliRunner().invoke(app, ['info', {str(tmp_path / 'idx')!r}, '--json'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert '\"documents\": 40' in result.output, result.output\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_renders_with_one_label_convention(run, name: str) -> None:
    """Every --help: option values labelled <type> or <a|b|c> (typer's convention, no bare
    PATH / DEVICE), arguments named in lower case, examples one command per line."""
    import re

    result = run(name, "--help")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    usage = lines[0]
    assert (
        usage.startswith(f"Usage: root {name} [OPTIONS]")
        or usage == f"Usage: root {name} [OPTIONS]"
    )
    for piece in usage.split()[4:]:
        assert re.fullmatch(r"[{\[][a-z_]+[}\]](\.\.\.)?", piece), (name, usage)
    for line in lines:
        match = re.match(
            r"^  ((?:-\w, )?--[\w-]+(?: / --[\w-]+)?)(?: (\S+(?: range>)?))?(?:\s{2,}|$)", line
        )
        if match and match.group(2):
            assert re.fullmatch(r"<[^<>]+>", match.group(2)), (name, line)
    if "Example" in result.output:
        block = result.output.split("Example", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
        assert block and all(entry.startswith("    plait ") for entry in block), (name, block)
    assert "[MASK]-expanded" not in result.output


def test_library_progress_bars_stay_out_of_logs() -> None:
    """With stderr not a terminal, quiet_libraries() turns off transformers' own bars (e.g. the
    "Writing model shards" bar of save_pretrained)."""
    code = (
        "from plait.cli._common import quiet_libraries\n"
        "quiet_libraries()\n"
        "from transformers.utils import logging\n"
        "assert not logging.is_progress_bar_enabled()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, stderr=subprocess.PIPE)
