"""``bastion policy``: show and change an account's trade policy (enforced inside the signer)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from bastion.errors import SignerRefused, ValidationError

app = typer.Typer(help="The signer's per-account trade policy.", no_args_is_help=True)


def _client() -> Any:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    return SignerClient(HomeLayout.from_env().socket, timeout=60)


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
        typer.echo(f"  {quote} limits:           {limits}")
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Change the policy. Tightening needs nothing; loosening (anything that lets more through)
    asks for the vault passphrase (or BASTION_PASSPHRASE) and is audited."""
    changes: dict[str, Any] = {}
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
    if not changes:
        raise ValidationError("nothing to change; give at least one option such as --pairs or --state")
    with _client() as signer:
        try:
            result = signer.call("policy_set", account=account, changes=changes)
        except SignerRefused as exc:
            if exc.kind != "unauthorized":
                raise
            from bastion.cli._prompt import read_passphrase

            typer.echo(str(exc), err=True)
            result = signer.call("policy_set", account=account, changes=changes, passphrase=read_passphrase())
    _print(result, as_json)
