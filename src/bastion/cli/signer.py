"""``bastion signer``: the only process that decrypts exchange API secrets."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from bastion.custody.layout import CONFIG_ENV
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
    config: Annotated[
        Path | None,
        typer.Option(
            envvar=CONFIG_ENV,
            help="Signer configuration (client uids and their roles, socket); without it, the development "
            "layout: only this user, every operation.",
        ),
    ] = None,
    passphrase_fd: Annotated[
        int | None, typer.Option(help="Read the vault passphrase from this file descriptor (0: stdin).")
    ] = None,
) -> None:
    """Unlock the vault and serve the signer's RPC on its socket until stopped.

    The vault passphrase comes from --passphrase-fd, a systemd credential ($CREDENTIALS_DIRECTORY/
    passphrase), BASTION_PASSPHRASE (the signer then re-executes itself without it, so it stays in no
    environment) or a terminal prompt. The process is made non-dumpable before any secret is read.
    Stop it with SIGTERM/Ctrl-C or `bastion panic`.
    """
    from bastion.cli._prompt import read_passphrase
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer import SignerOptions, run_signer
    from bastion.custody.signer.hardening import (
        PASSPHRASE_ENV,
        hold_signer_lock,
        make_undumpable,
        read_passphrase_credential,
        read_passphrase_fd,
        reexec_without_passphrase,
    )
    from bastion.custody.signer.roles import SignerConfig
    from bastion.custody.signer.server import development_notice

    make_undumpable()  # before any secret is read
    os.umask(0o077)  # every file the signer creates is its user's alone
    options = SignerOptions(
        poll_interval_s=_positive(poll_interval, "--poll-interval"),
        recheck_interval_s=_positive(recheck_interval, "--recheck-interval"),
        head_interval_s=_positive(head_interval, "--head-interval"),
    )
    settings = SignerConfig.development(os.getuid()) if config is None else SignerConfig.from_file(config)
    layout = HomeLayout.from_env()
    if settings.socket is not None:
        layout = dataclasses.replace(layout, socket_path=settings.socket)
    credential = None
    if passphrase_fd is None:
        credential = read_passphrase_credential()
        if credential is None and os.environ.get(PASSPHRASE_ENV):
            args = ["signer", "--poll-interval", repr(poll_interval), "--recheck-interval", repr(recheck_interval)]
            args += ["--head-interval", repr(head_interval)]
            if config is not None:
                args += ["--config", os.fspath(config)]
            reexec_without_passphrase(args)
    layout.ensure()
    lock = hold_signer_lock(layout.lock_file)
    notice = development_notice(settings)
    if notice is not None:
        sys.stderr.write(notice + "\n")
        sys.stderr.flush()
    if passphrase_fd is not None:
        passphrase = read_passphrase_fd(passphrase_fd)
    elif credential is not None:
        passphrase = credential
    else:
        passphrase = read_passphrase()
    os.environ.pop(PASSPHRASE_ENV, None)

    def ready(path: str) -> None:
        sys.stdout.write(f"signer ready on {path}\n")
        sys.stdout.flush()

    try:
        code = asyncio.run(run_signer(layout, passphrase, options=options, ready=ready, config=settings))
    finally:
        os.close(lock)
    del passphrase
    raise typer.Exit(code)
