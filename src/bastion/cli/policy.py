"""``bastion policy``: show and change an account's trade policy (enforced inside the signer)."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from bastion.errors import SignerRefused, ValidationError

app = typer.Typer(help="The signer's per-account trade policy.", no_args_is_help=True)


def _client() -> Any:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    return SignerClient(HomeLayout.from_env().socket, timeout=60)


#: A new quote currency's daily limit and minimum 24 h volume, as multiples of its order limit
#: (the USDT defaults: 1000 per order, 10000 a day, 1000000 of volume).
_DAILY_PER_ORDER = 10
_VOLUME_PER_ORDER = 1000
_QUOTE = re.compile(r"^([A-Z0-9][A-Z0-9._-]{0,31})=([^=]+)$")


def parse_quote_limits(values: list[str]) -> dict[str, tuple[str, str | None, str | None]]:
    """Parse ``--quote-limit`` values ``QUOTE=ORDER[,DAILY[,MIN_VOLUME]]`` into ``{quote: (order, daily, volume)}``.

    Raises
    ------
    ValidationError
        A value is not of that form, an amount is not a positive decimal, or a quote is given twice.
    """
    result: dict[str, tuple[str, str | None, str | None]] = {}
    for value in values:
        match = _QUOTE.match(value.strip())
        parts = [p.strip() for p in match.group(2).split(",")] if match is not None else []
        if match is None or not 1 <= len(parts) <= 3:
            raise ValidationError(
                f"--quote-limit {value!r}: expected QUOTE=ORDER[,DAILY[,MIN_VOLUME]] with an upper-case currency "
                "code, such as BTC=0.05 or BTC=0.05,0.5,20"
            )
        for index, part in enumerate(parts):
            try:
                amount = Decimal(part)
            except InvalidOperation:
                amount = Decimal(-1)
            lowest = Decimal(0) if index == 2 else Decimal("1E-30")  # a minimum volume may be 0
            if not amount.is_finite() or amount < lowest:
                raise ValidationError(f"--quote-limit {value!r}: {part!r} is not a positive decimal amount")
        quote = match.group(1)
        if quote in result:
            raise ValidationError(f"--quote-limit names {quote} twice; give each quote currency once")
        padded = (*parts, None, None)
        result[quote] = (parts[0], padded[1], padded[2])
    return result


def merge_quote_limits(
    current: dict[str, dict[str, str]], changes: dict[str, tuple[str, str | None, str | None]]
) -> dict[str, dict[str, str]]:
    """Return ``current`` quote limits with ``changes`` applied (limits not given keep their value;
    a new quote's are derived from its order limit)."""
    merged = {quote: dict(limits) for quote, limits in current.items()}
    for quote, (order, daily, volume) in changes.items():
        before = merged.get(quote)
        order_dec = Decimal(order)
        merged[quote] = {
            "max_order_notional": order,
            "max_daily_notional": daily
            or (before["max_daily_notional"] if before else format(order_dec * _DAILY_PER_ORDER, "f")),
            "min_volume_24h": volume
            or (before["min_volume_24h"] if before else format(order_dec * _VOLUME_PER_ORDER, "f")),
        }
    return merged


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    policy = result["policy"]
    typer.echo(f"account {result['account']}: state {result['state']} (policy revision {result['revision']})")
    if result.get("reason"):
        typer.echo(f"  reason: {result['reason']}")
    typer.echo(f"  pairs:                 {', '.join(policy['pairs']) or '(none: every order is denied)'}")
    typer.echo(f"  max order notional:    {policy['max_order_notional']} USDT")
    typer.echo(f"  max daily notional:    {policy['max_daily_notional']} USDT (rolling 24 h)")
    typer.echo(f"  max orders per minute: {policy['max_orders_per_minute']}")
    typer.echo(f"  max deviation:         {policy['max_deviation_pct']} % from the signer's reference price")
    typer.echo(f"  min 24 h volume:       {policy['min_volume_24h']} USDT")
    for quote, limits in policy["quote_limits"].items():
        typer.echo(
            f"  {quote}-quoted pairs:      max order {limits['max_order_notional']} {quote}, max daily "
            f"{limits['max_daily_notional']} {quote}, min 24 h volume {limits['min_volume_24h']} {quote}"
        )
    typer.echo(
        f"  halts after:           {policy['denial_burst']} denials within {policy['denial_window_ms'] // 1000} s"
    )
    usage = result["usage"]
    spent = ", ".join(f"{v} {q}" for q, v in usage["notional_24h"].items()) or "nothing"
    typer.echo(
        f"  used: {usage['orders_last_minute']} order(s) in the last minute, {spent} in 24 h, "
        f"{usage['denials_in_window']} recent denial(s)"
    )


@app.command()
def show(
    account: Annotated[str, typer.Option(help="The account.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the account's policy, state and how much of its budget is used."""
    with _client() as signer:
        _print(signer.call("policy_show", account=account), as_json)


@app.command(name="set")
def set_policy(
    account: Annotated[str, typer.Option(help="The account.")],
    pairs: Annotated[str | None, typer.Option(help="Comma-separated allowlist, e.g. BTC/USDT,ETH/USDT.")] = None,
    max_order_notional: Annotated[str | None, typer.Option(help="Max value of one order (USDT).")] = None,
    max_daily_notional: Annotated[str | None, typer.Option(help="Max value sent per rolling 24 h (USDT).")] = None,
    max_orders_per_minute: Annotated[int | None, typer.Option(help="Max orders in any 60 s.")] = None,
    max_deviation_pct: Annotated[
        str | None, typer.Option(help="Max % a price may be from the reference, in the costly direction.")
    ] = None,
    min_volume_24h: Annotated[str | None, typer.Option(help="Min 24 h quote volume of a pair (USDT).")] = None,
    state: Annotated[str | None, typer.Option(help="active, reducing or halted.")] = None,
    denial_burst: Annotated[
        int | None, typer.Option(help="Denials within the window that HALT the account (default 5).")
    ] = None,
    quote_limit: Annotated[
        list[str] | None,
        typer.Option(
            help="Limits for pairs quoted in another currency, repeatable: QUOTE=ORDER[,DAILY[,MIN_VOLUME]] such as "
            "BTC=0.05 (max order 0.05 BTC; a new quote's daily limit is 10x and min 24 h volume 1000x the order "
            "limit, as for USDT), or BTC=0.05,0.5,20. Other quotes keep their limits."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Change the policy. Tightening needs nothing; loosening (anything that lets more through)
    asks for the vault passphrase (or BASTION_PASSPHRASE) and is audited."""
    changes: dict[str, Any] = {}
    quote_changes = parse_quote_limits(quote_limit or [])
    if pairs is not None:
        changes["pairs"] = [p.strip() for p in pairs.split(",") if p.strip()]
    for name, value in (
        ("max_order_notional", max_order_notional),
        ("max_daily_notional", max_daily_notional),
        ("max_deviation_pct", max_deviation_pct),
        ("min_volume_24h", min_volume_24h),
        ("max_orders_per_minute", max_orders_per_minute),
        ("state", state),
        ("denial_burst", denial_burst),
    ):
        if value is not None:
            changes[name] = value
    if not changes and not quote_changes:
        raise ValidationError("nothing to change; give at least one option such as --pairs or --state")
    with _client() as signer:
        extra: dict[str, Any] = {}
        if quote_changes:  # merged into the quote limits in force, at the revision they were read
            current = signer.call("policy_show", account=account)
            changes["quote_limits"] = merge_quote_limits(current["policy"]["quote_limits"], quote_changes)
            extra["expected_revision"] = current["revision"]
        try:
            result = signer.call("policy_set", account=account, changes=changes, **extra)
        except SignerRefused as exc:
            if exc.kind != "unauthorized":
                raise
            from bastion.cli._prompt import read_passphrase

            typer.echo(str(exc), err=True)
            result = signer.call(
                "policy_set", account=account, changes=changes, passphrase=read_passphrase(), **extra
            )
    _print(result, as_json)
