"""Plain ``--option value`` arguments call a command without typer; anything else is left to typer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer

from bastion.cli.direct import call_plainly
from bastion.cli.main import main

calls: list[dict[str, object]] = []


def command(
    config: Annotated[Path, typer.Option("--config", help="a file")],
    data: Annotated[list[str], typer.Option("--data", help="repeatable")],
    fee: Annotated[str, typer.Option("--fee", help="text")] = "0.1",
    out: Annotated[Path | None, typer.Option("--json", help="optional path")] = None,
    extra: Annotated[list[str] | None, typer.Option("--extra", help="optional list")] = None,
) -> None:
    calls.append({"config": config, "data": data, "fee": fee, "out": out, "extra": extra})


def flagged(verbose: Annotated[bool, typer.Option("--verbose")] = False) -> None:
    calls.append({"verbose": verbose})


def test_plain_options_call_the_command_with_typed_values_and_defaults() -> None:
    calls.clear()
    assert call_plainly(command, ["--config", "a.toml", "--data", "X=1", "--data=Y=2", "--json", "r.json"])
    assert calls == [{"config": Path("a.toml"), "data": ["X=1", "Y=2"], "fee": "0.1", "out": Path("r.json"),
                      "extra": None}]  # fmt: skip


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
    ],
)
def test_anything_but_plain_options_is_left_to_typer(args: list[str]) -> None:
    calls.clear()
    assert not call_plainly(command, args)
    assert calls == []


def test_a_command_with_an_option_kind_it_does_not_read_is_left_to_typer() -> None:
    calls.clear()
    assert not call_plainly(flagged, ["--verbose"])
    assert calls == []


def test_bastion_backtest_with_an_unknown_option_still_gets_typers_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["backtest", "--config", "x.toml", "--data", "BTC/USDT=x.csv", "--bogus", "1"])
    assert exit_info.value.code == 2
    assert "No such option: --bogus" in capsys.readouterr().err
