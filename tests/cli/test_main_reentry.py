"""``main()`` run many times in one process (tests, an embedding program) keeps one command tree.

It registered every sub-command again on each call, so typer rebuilt a tree that grew with every
call: a worker that had run a few hundred in-process commands spent minutes in each new one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bastion.cli import bots
from bastion.cli import main as cli


def _sizes() -> tuple[int, int, int, int]:
    return (
        len(cli.app.registered_commands),
        len(cli.app.registered_groups),
        len(bots.bot_app.registered_commands),
        len(bots.deal_app.registered_commands),
    )


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = 0
    try:
        cli.main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert not code, err
    return out


def test_the_command_tree_does_not_grow_with_each_call(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "version")
    first = _sizes()
    for args in (("version",), ("bot", "--help"), ("deal", "--help"), ("version",)):
        _run(capsys, *args)
    assert _sizes() == first
    names = [c.name for c in bots.deal_app.registered_commands]
    assert len(names) == len(set(names)), names


def test_a_sweep_call_then_a_plain_call_leaves_one_backtest_entry(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "backtest", "sweep", "--help")
    _run(capsys, "version")
    entries = [c.name for c in cli.app.registered_commands] + [g.name for g in cli.app.registered_groups]
    assert entries.count("backtest") == 1
    assert "Usage:" in _run(capsys, "backtest", "--help")


def test_a_command_loads_only_its_own_command_module() -> None:
    """``bastion policy ...`` talks to the signer: it loads neither the bots, the database nor the web stack."""
    script = (
        "import sys\n"
        "from bastion.cli.main import main\n"
        "try:\n"
        "    main(['policy', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('bastion.cli.bots', 'sqlalchemy', 'alembic', 'fastapi', 'ccxt')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
