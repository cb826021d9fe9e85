"""``bastion exchange``: the local exchange simulator (Binance- or KuCoin-compatible)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from bastion.errors import ConfigError

app = typer.Typer(help="Run and manage the local exchange simulator.", no_args_is_help=True)


def _fee(value: str, option: str) -> Decimal:
    try:
        fee = Decimal(value)
    except InvalidOperation:
        raise ConfigError(f"{option} must be a decimal rate such as 0.001 (0.1 %), got {value!r}") from None
    if not fee.is_finite() or not (0 <= fee < 1):
        raise ConfigError(f"{option} must be within [0, 1), such as 0.001 (0.1 %), got {value!r}")
    return fee


def _ready(url: str) -> None:
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback unless --allow-non-loopback).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 8765,
    market: Annotated[
        list[str] | None,
        typer.Option(
            help="SYMBOL=PATH.csv[;tick=..;step=..;min_qty=..;min_notional=..] (repeatable); "
            "default: the bundled BTC/USDT data."
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Replayed candles per second; default real time; 0 holds until /_sim/advance."),
    ] = None,
    keys_file: Annotated[Path | None, typer.Option(help="JSON keys file (see `bastion exchange keygen`).")] = None,
    start: Annotated[int | None, typer.Option(help="Index of the first current candle (default 200).")] = None,
    maker_fee: Annotated[str, typer.Option(help="Maker fee rate.")] = "0.001",
    taker_fee: Annotated[str, typer.Option(help="Taker fee rate.")] = "0.001",
    allow_non_loopback: Annotated[
        bool, typer.Option("--allow-non-loopback", help="Permit a --host that is not loopback.")
    ] = False,
    flavor: Annotated[
        str, typer.Option(help="Exchange API to serve: binance or kucoin (kucoin keys need a passphrase).")
    ] = "binance",
) -> None:
    """Serve the Binance- (default) or KuCoin-spot-compatible simulator until interrupted."""
    from bastion.exchanges.simulator import SimulatorConfig, load_keys_file, parse_market_option, run

    config = SimulatorConfig(
        markets=tuple(parse_market_option(m) for m in market or ()),
        keys=tuple(load_keys_file(keys_file)) if keys_file is not None else (),
        speed=speed,
        start=start,
        maker_fee=_fee(maker_fee, "--maker-fee"),
        taker_fee=_fee(taker_fee, "--taker-fee"),
        host=host,
        port=port,
        allow_non_loopback=allow_non_loopback,
        flavor=flavor,
    )
    try:
        run(config, on_ready=_ready)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


@app.command()
def keygen(
    account: Annotated[str, typer.Option(help="Account the key trades for.")],
    balance: Annotated[
        list[str] | None, typer.Option(help="Starting balance ASSET=AMOUNT, such as USDT=10000 (repeatable).")
    ] = None,
    flavor: Annotated[str, typer.Option(help="binance, or kucoin to add the passphrase KuCoin keys need.")] = (
        "binance"
    ),
) -> None:
    """Print one new keys-file entry (JSON) with a random API key and secret (and passphrase for kucoin)."""
    from bastion.exchanges.simulator import generate_entry
    from bastion.exchanges.simulator.config import FLAVORS

    if flavor not in FLAVORS:
        raise ConfigError(f"--flavor must be one of {', '.join(FLAVORS)}, got {flavor!r}")
    balances: dict[str, str] = {}
    for item in balance or ():
        asset, sep, amount = item.partition("=")
        if not sep or not asset.strip() or not amount.strip():
            raise ConfigError(f"--balance must look like USDT=10000, got {item!r}")
        balances[asset.strip().upper()] = amount.strip()
    typer.echo(json.dumps(generate_entry(account, balances, passphrase=flavor == "kucoin"), indent=2))
