"""``bastion keys``: add, list, check and remove exchange API keys (the signer seals and checks them)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer

from bastion.errors import SignerNoAnswer, SignerRefused, SignerUnavailable, ValidationError

app = typer.Typer(help="Exchange API keys: added through the signer, sealed in the vault.", no_args_is_help=True)

#: Exit code of `keys check` when a key is used elsewhere or lost its safe permissions.
EXIT_FINDINGS = 3


def _needs_password(exchange: str) -> bool:
    import ccxt

    from bastion.exchanges.venues import canonical_id, find_venue

    venue = find_venue(exchange)
    ccxt_id = venue.ccxt_id if venue is not None else canonical_id(exchange)
    if ccxt_id not in ccxt.exchanges:
        return False
    return bool(getattr(ccxt, ccxt_id)().requiredCredentials.get("password"))


def read_key_lines(names: list[str]) -> list[str]:
    """Read each credential from a hidden TTY prompt, or one per line from stdin when it is not a TTY.

    Never from argv or the environment. Empty values are refused.
    """
    values: list[str] = []
    if sys.stdin.isatty():
        for name in names:
            values.append(getpass.getpass(f"{name}: ").strip())
    else:
        for name in names:
            line = sys.stdin.readline()
            if not line:
                raise ValidationError(f"stdin ended before the {name}; expected {len(names)} lines: {', '.join(names)}")
            values.append(line.strip())
    for name, value in zip(names, values, strict=True):
        if not value:
            raise ValidationError(f"the {name} is empty; expected the value shown by the exchange")
    return values


def _client() -> Any:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    return SignerClient(HomeLayout.from_env().socket, timeout=60)


@app.command()
def add(
    account: Annotated[str, typer.Option(help="Bastion account name (created if new).")],
    exchange: Annotated[
        str,
        typer.Option(help="Exchange id such as binance, kucoin, gate (or gateio), simulator, simulator-kucoin."),
    ],
    url: Annotated[str | None, typer.Option(help="Simulator URL such as http://127.0.0.1:8765.")] = None,
    allow_unrestricted_ip: Annotated[
        bool, typer.Option("--allow-unrestricted-ip", help="Accept a live key without an IP restriction.")
    ] = False,
) -> None:
    """Add a key: the signer checks its permissions on the exchange, then seals and stores it.

    The API key and secret (and passphrase, for exchanges that have one) are read from a hidden
    prompt, or one per line from stdin. The vault passphrase is asked for (or BASTION_PASSPHRASE).
    """
    from bastion.cli._prompt import read_passphrase

    names = ["API key", "API secret"]
    if _needs_password(exchange):
        names.append("API passphrase")
    values = read_key_lines(names)
    passphrase = read_passphrase()
    params: dict[str, Any] = {
        "account": account,
        "exchange": exchange,
        "url": url,
        "api_key": values[0],
        "secret": values[1],
        "allow_unrestricted_ip": allow_unrestricted_ip,
        "passphrase": passphrase,
    }
    if len(values) > 2:
        params["password"] = values[2]
    with _client() as signer:
        result = signer.call("keys_add", **params)
    params.clear()
    values.clear()
    typer.echo(
        f"added key ****{result['key_hint']} ({result['fingerprint']}) for account {result['account']} "
        f"on {result['exchange']}"
    )
    perms = result.get("permissions") or {}
    shown = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in perms.items())
    typer.echo(f"permissions: {shown}")
    pairs = result["policy"]["pairs"]
    if not pairs:
        typer.echo(
            f"policy: no pair allowed yet; allow some with `bastion policy set --account {account} --pairs BTC/USDT`"
        )


@app.command(name="list")
def list_keys() -> None:
    """List stored keys: account, exchange, last 4 characters and fingerprint (never the secret)."""
    from bastion.services.accounts import stored_keys

    keys, states = stored_keys()
    if not keys:
        typer.echo("no keys; add one with `bastion keys add --account NAME --exchange ID`")
        return
    typer.echo(f"{'account':16} {'exchange':12} {'key':9} {'fingerprint':24} {'key status':10} state")
    for key in keys:
        typer.echo(
            f"{key.account:16} {key.exchange:12} ****{key.key_hint:5} {key.fingerprint:24} {key.status:10} "
            f"{states.get(key.account, '?')}" + (f"  ({key.status_reason})" if key.status_reason else "")
        )


def _print_findings(entry: dict[str, Any]) -> bool:
    bad = False
    name = entry["account"]
    if entry.get("error"):
        typer.echo(f"{name}: check failed: {entry['error']}", err=True)
        bad = True
    for reason in entry.get("refused_reasons") or []:
        typer.echo(f"{name}: key PAUSED: {reason}", err=True)
        bad = True
    foreign = entry.get("foreign_orders") or []
    if foreign:
        bad = True
        typer.echo(
            f"{name}: {len(foreign)} order(s) on {entry['exchange']} were NOT sent by Bastion: "
            "the API key is being used elsewhere. The account is HALTED.",
            err=True,
        )
        for order in foreign:
            price = order["price"] or "market"
            typer.echo(
                f"  {order['exchange_order_id']}  {order['side']} {order['type']} {order['amount']} {order['symbol']} "
                f"@ {price}  status {order['status']}  client id {order['client_order_id']}  ({order['why']})",
                err=True,
            )
    balance_findings = entry.get("balance_findings") or []
    if balance_findings:
        bad = True
        typer.echo(
            f"{name}: {len(balance_findings)} balance change(s) on {entry['exchange']} are NOT explained by orders "
            "Bastion sent (a deposit, a withdrawal, or the key trading elsewhere). The account is HALTED.",
            err=True,
        )
        for finding in balance_findings:
            typer.echo(
                f"  {finding['asset']}  {finding['before']} -> {finding['after']}  unexplained {finding['unexplained']}"
                f"  (fills of Bastion's orders explain {finding['explained']}, foreign fills {finding['foreign']})",
                err=True,
            )
    if bad and entry.get("revoke"):
        typer.echo(f"Revoke the key on {entry['exchange']} now:", err=True)
        for step in entry["revoke"]:
            typer.echo(f"  {step}", err=True)
    if not bad:
        typer.echo(f"{name}: ok (state {entry.get('state')}, permissions safe, no foreign orders)")
    return bad


@app.command()
def check(account: Annotated[str | None, typer.Option(help="One account; default all.")] = None) -> None:
    """Re-check permissions and reconcile the exchange's orders with the audit log now.

    Exits 3 when a key gained a dangerous permission, an order was found that Bastion did not
    send, or a balance changed in a way no order Bastion sent explains (a deposit, a withdrawal,
    trading elsewhere), printing those findings and how to revoke the key.
    """
    params = {} if account is None else {"account": account}
    with _client() as signer:
        report = signer.call("keys_check", **params)
    if not report:
        typer.echo("no keys to check")
        return
    bad = [_print_findings(entry) for entry in report]
    if any(bad):
        raise typer.Exit(EXIT_FINDINGS)


@app.command(name="ack-findings")
def ack_findings(account: Annotated[str, typer.Option(help="The account the leak detector halted.")]) -> None:
    """Acknowledge the orders the leak detector found on an account (asks for the vault passphrase).

    The account stays HALTED; resume it afterwards with ``bastion policy set --account A --state active``.
    Revoke the key first if those orders are not yours.
    """
    from bastion.cli._prompt import read_passphrase

    passphrase = read_passphrase()
    with _client() as signer:
        result = signer.call("ack_findings", account=account, passphrase=passphrase)
    found = result["acknowledged"]
    typer.echo(f"{account}: acknowledged {len(found)} order(s) not sent by Bastion")
    for order in found:
        typer.echo(f"  {order['exchange_order_id']}  {order['side']} {order['amount']} {order['symbol']}")
    if result.get("resume"):
        typer.echo(f"the account is {result['state']}; resume it with `{result['resume']}`")


@app.command()
def remove(account: Annotated[str, typer.Option(help="The account whose key to remove.")]) -> None:
    """Remove an account's key from the signer's memory and the database (asks for the vault passphrase).

    With the signer stopped, the key is removed here, and the removal is still written to the
    signed audit log.
    """
    from bastion.cli._prompt import read_passphrase

    passphrase = read_passphrase()
    try:
        with _client() as signer:
            result = signer.call("keys_remove", account=account, passphrase=passphrase)
    except SignerNoAnswer as exc:  # the running signer has the request: never edit its vault beside it
        raise SignerUnavailable(f"{exc}; run `bastion keys list` to see whether the key is gone") from None
    except SignerUnavailable:
        result = _remove_offline(account, passphrase)
    except SignerRefused as exc:
        if exc.kind != "not_found":
            raise
        result = _remove_offline(account, passphrase)
    typer.echo(f"removed the key of account {account}; also delete it on the exchange:")
    for step in result["revoke"]:
        typer.echo(f"  {step}")


def _remove_offline(account: str, passphrase: str) -> dict[str, Any]:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.revoke import revoke_instructions
    from bastion.services.vault import remove_key_offline

    exchange = remove_key_offline(HomeLayout.from_env(), passphrase, account)
    return {"revoke": list(revoke_instructions(exchange))}
