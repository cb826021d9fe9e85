"""``bastion trade`` (one manual order through the signer) and ``bastion panic``."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from bastion.errors import SignerNoAnswer, SignerRefused, SignerUnavailable, ValidationError

#: Exit code of `bastion trade` when the signer's policy denied the order.
EXIT_DENIED = 1


def _client(timeout: float = 60) -> Any:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    return SignerClient(HomeLayout.from_env().socket, timeout=timeout)


def _decimal(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(f"{option} must be a decimal number such as 0.001, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(f"{option} must be a positive decimal number, got {value!r}")
    return format(number, "f")


def plain_number(value: object) -> str:
    """Render an amount or price from the signer as a plain decimal (never a float, never ``1E-8``)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        number = Decimal(repr(value))
    else:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return str(value)
    if not number.is_finite():
        return str(value)
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def order_line(order: dict[str, Any]) -> str:
    """Return the one-line summary `bastion trade` prints for a placed order."""
    price = "market" if order.get("price") is None else plain_number(order["price"])
    return (
        f"order {order['exchange_order_id']} {order['status']}: {order['side']} {order['type']} "
        f"{plain_number(order['amount'])} {order['symbol']} @ {price} (client id {order['client_order_id']}, "
        f"filled {plain_number(order.get('filled'))})"
    )


def trade(
    account: Annotated[str, typer.Option(help="The account.")],
    pair: Annotated[str, typer.Option(help="Spot symbol such as BTC/USDT.")],
    side: Annotated[str, typer.Option(help="buy or sell.")],
    type: Annotated[str, typer.Option("--type", help="limit or market.")],
    amount: Annotated[str, typer.Option(help="Base amount, e.g. 0.001.")],
    price: Annotated[str | None, typer.Option(help="Limit price (limit orders only).")] = None,
    client_order_id: Annotated[
        str | None, typer.Option(help="Your id for the order (default: generated); reuse it to retry safely.")
    ] = None,
) -> None:
    """Place one order through the signer: exit 0 and the order id, or exit 1 and the denial reason."""
    if side not in ("buy", "sell"):
        raise ValidationError(f"--side must be buy or sell, got {side!r}")
    if type not in ("limit", "market"):
        raise ValidationError(f"--type must be limit or market, got {type!r}")
    if type == "limit" and price is None:
        raise ValidationError("a limit order needs --price")
    if type == "market" and price is not None:
        raise ValidationError("a market order takes no --price")
    params = {
        "account": account,
        "symbol": pair,
        "side": side,
        "type": type,
        "amount": _decimal(amount, "--amount"),
        "client_order_id": client_order_id or f"manual-{secrets.token_hex(8)}",
    }
    if price is not None:
        params["price"] = _decimal(price, "--price")
    with _client() as signer:
        try:
            order = signer.call("place_order", **params)
        except SignerRefused as exc:
            if exc.kind != "denied":
                raise
            typer.echo(f"denied by the trade policy: {exc}", err=True)
            if exc.compared:
                typer.echo("  compared: " + ", ".join(f"{k}={v}" for k, v in exc.compared.items()), err=True)
            raise typer.Exit(EXIT_DENIED) from None
    typer.echo(order_line(order))


def _stop_bots() -> int:
    from bastion.services.bots import stop_all_bots

    return stop_all_bots()


def _exchanges() -> list[str]:
    from bastion.services.accounts import account_exchanges

    return account_exchanges()


def panic() -> None:
    """Stop bots, cancel every open order through the signer, purge its secrets and stop it.

    Prints what was cancelled and the steps to revoke each key on its exchange. Exits 1 if an
    order could not be cancelled or the signer was not running.
    """
    from bastion.custody.signer.revoke import revoke_instructions

    stopped = _stop_bots()
    typer.echo(f"bots stopped: {stopped} disabled")
    failed = False
    unanswered = False
    try:
        with _client(timeout=120) as signer:
            report = signer.call("panic")
    except SignerUnavailable as refusal:
        if isinstance(refusal, SignerNoAnswer):
            unanswered = True
            typer.echo("the signer got the panic but gave no answer within 120 s: it may still be cancelling orders; "
                       "check each exchange's open orders and run `bastion panic` again", err=True)  # fmt: skip
        else:
            typer.echo("no signer is running: no secret is decrypted anywhere, but open orders could NOT be cancelled")
        failed = True
        report = {
            "accounts": [
                {
                    "account": "-",
                    "exchange": e,
                    "cancelled": [],
                    "errors": [],
                    "open_orders_left": None,
                    "revoke": list(revoke_instructions(e)),
                }
                for e in _exchanges()
            ]
        }
    for entry in report["accounts"]:
        left = entry.get("open_orders_left")
        if entry["account"] != "-":
            typer.echo(
                f"account {entry['account']} ({entry['exchange']}): cancelled {len(entry['cancelled'])} order(s), "
                f"{'unknown' if left is None else left} open order(s) left"
            )
        for error in entry["errors"]:
            typer.echo(f"  error: {error}", err=True)
        if entry["errors"] or left:
            failed = True
    if "signer" in report or unanswered:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with _client(timeout=2) as probe:
                    probe.call("ping")
            except SignerUnavailable:
                typer.echo("signer stopped: decrypted secrets purged")
                break
            time.sleep(0.1)
        else:
            typer.echo("the signer still answers; kill it", err=True)
            failed = True
    for exchange in sorted({e["exchange"] for e in report["accounts"]}):
        steps = next(e["revoke"] for e in report["accounts"] if e["exchange"] == exchange)
        typer.echo(f"\nRevoke your API key on {exchange}:")
        for step in steps:
            typer.echo(f"  {step}")
    if failed:
        raise typer.Exit(1)
