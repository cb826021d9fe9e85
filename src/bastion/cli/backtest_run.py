"""``bastion backtest``'s work, without typer: option parsing helpers, the option table and the run.

:mod:`bastion.cli.main` calls :func:`run_backtest` straight from plain arguments (read with
:func:`bastion.cli.direct.parse_plainly` against :data:`OPTIONS`), so a backtest pays for neither
typer's import nor its command building; :mod:`bastion.cli.backtest` declares the same options
for typer (``--help``, anything unusual) and calls the same function.

Imports stay light: no exchange client (ccxt), no database (SQLAlchemy), no web stack.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bastion.cli.direct import PlainOption
from bastion.errors import ConfigError

__all__ = [
    "CONFIG_HELP",
    "DATA_HELP",
    "OPTIONS",
    "date_range",
    "parse_balance",
    "parse_date",
    "parse_fee_pct",
    "read_config",
    "run_backtest",
]


def parse_fee_pct(value: str) -> Decimal:
    """``--fee 0.1`` (percent) -> ``Decimal('0.001')``."""
    try:
        pct = Decimal(value)
    except InvalidOperation:
        pct = Decimal(-1)
    if not pct.is_finite() or not (0 <= pct < 100):
        raise ConfigError(f"--fee must be a percentage in [0, 100) such as 0.1 (for 0.1 %), got {value!r}")
    return pct / 100


def parse_date(value: str, option: str) -> int:
    """``2023-01-05``, ``2023-01-05T10:00`` (UTC unless an offset is given) or epoch ms -> epoch ms."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option} must be a date such as 2023-01-05 or 2023-01-05T10:00 (UTC) or epoch milliseconds, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def parse_balance(value: str) -> tuple[str, Decimal]:
    """``USDT=1000`` -> ``("USDT", Decimal("1000"))``."""
    asset, sep, amount = value.partition("=")
    asset = asset.strip().upper()
    try:
        number = Decimal(amount.strip())
    except InvalidOperation:
        number = Decimal(-1)
    if not sep or not asset.isalnum() or not number.is_finite() or number < 0:
        raise ConfigError(f"--balance must look like ASSET=AMOUNT such as USDT=1000, got {value!r}")
    return asset, number


def _summary(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"backtest of {report['bot']}", show_header=False)
    for key in ("candles", "start", "end", "closed_deals", "open_deals", "profit_quote", "open_profit_quote",
                "profit_pct", "max_drawdown_pct", "max_capital_used", "fees_quote", "events", "elapsed_s"):  # fmt: skip
        value = report[key]
        if key in ("profit_quote", "open_profit_quote", "max_capital_used", "fees_quote"):
            value = f"{value} {report['quote']}"
        elif key.endswith("_pct"):
            value = f"{value} %"
        elif key == "elapsed_s":
            value = f"{value} s"
        table.add_row(key, str(value))
    for m in report["markets"]:
        table.add_row("market", f"{m['symbol']} tick {m['tick']} step {m['step']} min notional {m['min_notional']}")
    table.add_row("fee", f"{report['fee_pct']} % (paid in the asset received)")
    if report["bot_status"] != "running":
        table.add_row("bot", f"{report['bot_status']}: {report['bot_reason']}")
    console.print(table)


CONFIG_HELP = "The bot's TOML file (as for `bastion bot create`)."
DATA_HELP = (
    "PAIR=PATH[;tick=..;step=..;min_notional=..] (repeatable; as `exchange serve --market`); "
    "PATH: Bastion CSV, parquet, freqtrade feather or json."
)


def read_config(config: Path) -> str:
    """The text of ``--config``; a clear error when it cannot be read."""
    try:
        return config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read --config {str(config)!r}: {exc.strerror or exc}") from None


def date_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """``--start`` and ``--end`` as epoch ms (None when not given); the end must be after the start."""
    start_ms = None if start is None else parse_date(start, "--start")
    end_ms = None if end is None else parse_date(end, "--end")
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise ConfigError(f"--end ({end}) must be after --start ({start})")
    return start_ms, end_ms


#: The options of ``bastion backtest`` (the typer declaration in :mod:`bastion.cli.backtest` says the same).
OPTIONS = (
    PlainOption(flag="--config", param="config", kind=Path, required=True),
    PlainOption(flag="--data", param="data", many=True, required=True),
    PlainOption(flag="--fee", param="fee", default="0.1"),
    PlainOption(flag="--start", param="start"),
    PlainOption(flag="--end", param="end"),
    PlainOption(flag="--balance", param="balance", many=True),
    PlainOption(flag="--json", param="json_out", kind=Path),
    PlainOption(flag="--html", param="html_out", kind=Path),
    PlainOption(flag="--decide-at", param="decide_at", default="fill"),
)


def run_backtest(
    *,
    config: Path,
    data: list[str],
    fee: str = "0.1",
    start: str | None = None,
    end: str | None = None,
    balance: list[str] | None = None,
    json_out: Path | None = None,
    html_out: Path | None = None,
    decide_at: str = "fill",
) -> None:
    """Backtest the bot of ``config`` on the ``data`` markets; print the summary, write the reports."""
    if decide_at not in ("fill", "close"):
        raise ConfigError(f"--decide-at must be fill or close, got {decide_at!r}")
    from bastion.backtest.data import load_market
    from bastion.backtest.report import report as make_report
    from bastion.backtest.runner import Backtest

    text = read_config(config)
    rate = parse_fee_pct(fee)
    start_ms, end_ms = date_range(start, end)
    balances = dict(parse_balance(b) for b in balance or ())
    markets = [load_market(option, start_ms=start_ms, end_ms=end_ms) for option in data]
    run = Backtest(text, markets, fee=rate, balances=balances, react_in_candle=decide_at == "fill").run()
    bot = str(run.core.bots[1].name)
    report = make_report(run, bot=bot)
    _summary(report)
    if json_out is not None:
        json_out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if html_out is not None:
        from bastion.backtest.html import html_report

        html_out.write_text(html_report(run, report), encoding="utf-8")
