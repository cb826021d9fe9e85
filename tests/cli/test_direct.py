"""Plain ``--option value`` arguments are read against an option table; anything else is declined (left to typer)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bastion.cli.direct import PlainOption, parse_plainly
from bastion.cli.main import main

OPTIONS = (
    PlainOption(flag="--config", param="config", kind=Path, required=True),
    PlainOption(flag="--data", param="data", many=True, required=True),
    PlainOption(flag="--fee", param="fee", default="0.1"),
    PlainOption(flag="--json", param="out", kind=Path),
    PlainOption(flag="--extra", param="extra", many=True),
)


def test_plain_options_give_typed_values_and_defaults() -> None:
    got = parse_plainly(OPTIONS, ["--config", "a.toml", "--data", "X=1", "--data=Y=2", "--json", "r.json"])
    assert got == {"config": Path("a.toml"), "data": ["X=1", "Y=2"], "fee": "0.1", "out": Path("r.json"), "extra": None}


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "a.toml", "--data", "X=1", "--help"],  # help is typer's
        ["--config", "a.toml", "--data", "X=1", "--bogus", "1"],  # unknown option: typer's message
        ["--config", "a.toml"],  # a required option missing
        ["--config", "a.toml", "--config", "b.toml", "--data", "X=1"],  # a single option twice
        ["--config", "a.toml", "--data"],  # a value missing
        ["--config", "--data", "X=1"],  # an option where a value belongs
        ["a.toml"],  # a positional argument
        ["--config", "a.toml", "--data", "X=1", "--"],  # the end of options
    ],
)
def test_anything_but_plain_options_is_declined(args: list[str]) -> None:
    assert parse_plainly(OPTIONS, args) is None


def test_bastion_backtest_with_an_unknown_option_still_gets_typers_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["backtest", "--config", "x.toml", "--data", "BTC/USDT=x.csv", "--bogus", "1"])
    assert exit_info.value.code == 2
    assert "No such option: --bogus" in capsys.readouterr().err


def test_a_plain_backtest_does_not_import_typer(tmp_path: Path) -> None:
    """The point of the shortcut: typer's import and command building are skipped (checked in a fresh process)."""
    import subprocess

    code = (
        "import sys\n"
        "from bastion.cli.main import main\n"
        "try:\n"
        f"    main(['backtest', '--config', {str(tmp_path / 'missing.toml')!r}, '--data', 'BTC/USDT=x.csv'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 2, exc.code\n"
        "print(sorted(m for m in sys.modules if m == 'typer' or m.startswith('typer.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "cannot read --config" in done.stderr
    assert done.stdout.strip() == "[]"
