"""``bastion backtest``'s plain-argument shortcut (:mod:`bastion.cli.direct`) reads exactly what typer reads.

The shortcut reads the option table :data:`bastion.cli.backtest_run.OPTIONS`; typer reads the
``backtest`` command's declaration. The shortcut may only decline (typer then parses as always)
or give the very values typer would pass: checked on the table itself and by running both
parsers over hand-picked and generated argument lists.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Any

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer._click.exceptions import ClickException

from bastion.cli import backtest
from bastion.cli.backtest_run import OPTIONS
from bastion.cli.direct import parse_plainly
from bastion.cli.main import main

_DECLINED = "declined"


def _recorder(calls: list[dict[str, Any]]) -> Any:
    @functools.wraps(backtest.backtest)
    def record(**kwargs: Any) -> None:
        bound = inspect.signature(backtest.backtest).bind(**kwargs)
        bound.apply_defaults()
        calls.append(dict(bound.arguments))

    return record


def _direct(args: list[str]) -> dict[str, Any] | str:
    values = parse_plainly(OPTIONS, args)
    return _DECLINED if values is None else values


def _typer(args: list[str]) -> dict[str, Any] | str:
    calls: list[dict[str, Any]] = []
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command(name="backtest")(_recorder(calls))
    app.command(name="other")(lambda: None)  # a group, as in `bastion backtest ...`
    try:
        app(args=["backtest", *args], standalone_mode=False)
    except ClickException as exc:
        return f"usage error: {exc.format_message()}"
    assert len(calls) == 1
    return calls[0]


def _agree(args: list[str]) -> None:
    direct = _direct(args)
    if direct != _DECLINED:
        assert direct == _typer(args), args


_REQUIRED = ["--config", "bot.toml", "--data", "BTC/USDT=candles.parquet"]


def test_the_table_is_typers_reading_of_the_command() -> None:
    """Every option of the typer command is in the table with its flag, type, repetition, default and need."""
    from typer.main import get_command

    app = typer.Typer(add_completion=False)
    app.command(name="backtest")(backtest.backtest)
    app.command(name="other")(lambda: None)
    command = get_command(app).commands["backtest"]  # type: ignore[attr-defined]
    typer_reads = {
        p.name: (tuple(p.opts), p.multiple, p.required, None if p.multiple and not p.default else p.default)
        for p in command.params
    }
    table = {o.param: ((o.flag,), o.many, o.required, o.default) for o in OPTIONS}
    assert table == typer_reads
    hints = typing.get_type_hints(backtest.backtest)
    for option in OPTIONS:
        kind = hints[option.param]  # T, T | None, list[T] or list[T] | None
        inner = [a for a in typing.get_args(kind) if a is not type(None)] if typing.get_origin(kind) else [kind]
        base = typing.get_args(inner[0])[0] if typing.get_origin(inner[0]) is list else inner[0]
        assert option.kind is base, option.param


@pytest.mark.parametrize(
    "args",
    [
        _REQUIRED,
        [*_REQUIRED, "--fee", "0.075", "--start", "2024-01-01", "--end", "2024-02-01"],
        [*_REQUIRED, "--balance", "USDT=1000", "--balance", "BTC=1", "--json", "r.json", "--html", "r.html"],
        [*_REQUIRED, "--data", "ETH/USDT=e.csv;tick=0.01", "--decide-at", "close"],
        ["--config=bot.toml", "--data=BTC/USDT=x.csv", "--fee=0.1", "--start=-5"],
        ["--data", "X=1", "--config", "a b.toml", "--fee", ""],
        ["--config=", "--data="],
        [*_REQUIRED, "--fee", "-0.1"],
        [*_REQUIRED, "--fee", "1", "--fee", "2"],
        [*_REQUIRED, "--bogus", "1"],
        [*_REQUIRED, "--help"],
        [*_REQUIRED, "--"],
        [*_REQUIRED, "extra"],
        [*_REQUIRED, "--json"],
        [*_REQUIRED, "--conf", "x"],
        ["--config", "bot.toml"],
        ["--data", "--config", "bot.toml"],
        [],
    ],
)
def test_the_shortcut_calls_with_typers_values_or_declines(args: list[str]) -> None:
    _agree(args)


def test_the_shortcut_takes_the_plain_forms() -> None:
    """It does read the usual command lines (else it would be no shortcut)."""
    for args in (
        _REQUIRED,
        [*_REQUIRED, "--fee", "0.075", "--balance", "USDT=1", "--balance=BTC=2", "--json", "r.json"],
        ["--config=bot.toml", "--data=BTC/USDT=x.csv", "--start=-5"],
    ):
        got = _direct(args)
        assert got != _DECLINED
        assert got == _typer(args)


_FLAGS = ["--config", "--data", "--fee", "--start", "--end", "--balance", "--json", "--html", "--decide-at"]
_VALUES = ["bot.toml", "BTC/USDT=x.csv", "", "-", "-5", "--fee", "0.1", "a=b=c", "x;tick=1", " spaced ", "ünï", "--"]
_token = st.one_of(
    st.sampled_from(_FLAGS),
    st.sampled_from(_VALUES),
    st.builds(lambda f, v: f"{f}={v}", st.sampled_from(_FLAGS), st.sampled_from(_VALUES)),
    st.sampled_from(["--bogus", "-c", "--help", "positional"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_token, max_size=12))
def test_generated_argument_lists_agree(args: list[str]) -> None:
    _agree(args)


@settings(max_examples=100, deadline=None)
@given(st.permutations(["--config", "bot.toml", "--data", "X/Y=x.csv", "--fee", "0.2", "--json", "o.json"]))
def test_shuffled_plain_arguments_agree(args: list[str]) -> None:
    _agree(args)


def test_bastion_backtest_reports_the_same_error_either_way(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A command error (here an unreadable config) reads the same through the shortcut and through typer."""
    missing = tmp_path / "missing.toml"
    outputs = []
    for extra in ([], ["--fee", "0.1", "--fee", "0.1"]):  # the repeated option sends it through typer
        with pytest.raises(SystemExit) as exit_info:
            main(["backtest", "--config", str(missing), "--data", "BTC/USDT=x.csv", *extra])
        outputs.append((exit_info.value.code, capsys.readouterr().err))
    assert outputs[0] == outputs[1]
    assert "cannot read --config" in outputs[0][1]
