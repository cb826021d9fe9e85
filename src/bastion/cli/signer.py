"""``bastion signer``: the only process that decrypts exchange API secrets."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer

from bastion.errors import ConfigError


def _positive(value: float, option: str) -> float:
    if not value > 0:
        raise ConfigError(f"{option} must be a positive number of seconds, got {value}")
    return value


def signer(
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between leak-detector reconciliations of each account.")
    ] = 60.0,
    recheck_interval: Annotated[
        float, typer.Option(help="Seconds between permission re-checks of each key (default 24 h).")
    ] = 86_400.0,
    head_interval: Annotated[float, typer.Option(help="Seconds between signatures of the audit head.")] = 30.0,
) -> None:
    """Unlock the vault and serve the signer's RPC on $BASTION_HOME/signer.sock until stopped.

    The vault passphrase comes from a terminal prompt or BASTION_PASSPHRASE (removed from the
    environment once read). Stop it with SIGTERM/Ctrl-C or `bastion panic`.
    """
    from bastion.cli._prompt import read_passphrase
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import SignerOptions, run_signer

    options = SignerOptions(
        poll_interval_s=_positive(poll_interval, "--poll-interval"),
        recheck_interval_s=_positive(recheck_interval, "--recheck-interval"),
        head_interval_s=_positive(head_interval, "--head-interval"),
    )
    layout = HomeLayout.from_env()
    passphrase = read_passphrase()
    os.environ.pop("BASTION_PASSPHRASE", None)

    def ready(path: str) -> None:
        sys.stdout.write(f"signer ready on {path}\n")
        sys.stdout.flush()

    code = asyncio.run(run_signer(layout, passphrase, options=options, ready=ready))
    del passphrase
    raise typer.Exit(code)
