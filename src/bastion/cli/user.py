"""``bastion user``: the people who log in to the web dashboard, and which accounts each owns."""

from __future__ import annotations

import getpass
import hmac
import os
import sys
from typing import Annotated

import typer

from bastion.errors import ValidationError

app = typer.Typer(help="Web dashboard users (Argon2id passwords; passkeys and TOTP are enrolled in the web).")


def _read_fd(fd: int) -> str:
    try:
        with os.fdopen(os.dup(fd), encoding="utf-8") as stream:
            line = stream.readline()
    except OSError as exc:
        raise ValidationError(f"cannot read the password from --password-fd {fd}: {exc.strerror}") from None
    return line.rstrip("\r\n")


def _ask_twice() -> str:
    if not sys.stdin.isatty():
        raise ValidationError("cannot ask for the password: no terminal; give it with --password-fd N")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except KeyboardInterrupt:
        raise typer.Abort() from None
    except EOFError:
        raise ValidationError("no input for the password; expected it typed in the terminal") from None
    if not hmac.compare_digest(first.encode("utf-8"), again.encode("utf-8")):
        raise ValidationError("the two entries of the password differ; no user was added")
    return first


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, trader or viewer.")] = "trader",
    phrase: Annotated[
        str | None, typer.Option(help="Anti-phishing phrase shown on every page (default: random words).")
    ] = None,
    password_fd: Annotated[
        int | None, typer.Option("--password-fd", help="Read the password from this file descriptor (0: stdin).")
    ] = None,
    account: Annotated[
        list[str] | None, typer.Option("--account", help="An account this user owns (repeatable).")
    ] = None,
) -> None:
    """Add a web user; the password is asked twice without echo (or read from --password-fd)."""
    from bastion.services._db import open_database
    from bastion.services.users import add_user, set_owner

    password = _read_fd(password_fd) if password_fd is not None else _ask_twice()
    engine, sessions = open_database()
    try:
        user = add_user(sessions, name, role=role, password=password, phrase=phrase)
        for owned in account or []:
            set_owner(sessions, owned, user.name)
    finally:
        engine.dispose()
    typer.echo(f"user {user.name} ({user.role}) added; anti-phishing phrase: {user.phrase}")
    typer.echo("every Bastion page and message shows this phrase: one without it is not from Bastion")


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """List web users: name, role, second factors, locked, owned accounts (never a secret)."""
    import json

    from bastion.services._db import open_database
    from bastion.services.users import list_users

    engine, sessions = open_database()
    try:
        rows = list_users(sessions)
    finally:
        engine.dispose()
    if as_json:
        out = [
            {
                "name": u.name, "role": u.role, "totp": u.totp_confirmed, "accounts": accounts,
                "locked_until": None if u.locked_until is None else u.locked_until.isoformat(),
            }
            for u, accounts in rows
        ]  # fmt: skip
        typer.echo(json.dumps(out, indent=2))
        return
    if not rows:
        typer.echo("no users; add one with `bastion user add NAME --role admin`")
        return
    for user, accounts in rows:
        locked = f", locked until {user.locked_until:%Y-%m-%d %H:%M} UTC" if user.locked_until else ""
        owned = ", ".join(accounts) or "no accounts"
        typer.echo(f"{user.name}\t{user.role}\ttotp={'yes' if user.totp_confirmed else 'no'}\t{owned}{locked}")


@app.command("own")
def own(
    name: Annotated[str, typer.Argument(help="The user.")],
    account: Annotated[str, typer.Argument(help="The account it will own.")],
) -> None:
    """Give an account to a web user: only its owner reaches it in the web."""
    from bastion.services._db import open_database
    from bastion.services.users import set_owner

    engine, sessions = open_database()
    try:
        set_owner(sessions, account, name)
    finally:
        engine.dispose()
    typer.echo(f"account {account} now belongs to {name}")
