"""What the custody commands share: reading a passphrase, and telling whether the signer runs."""

from __future__ import annotations

import getpass
import hmac
import os
import socket
import sys

import typer

from bastion.custody.layout import HomeLayout
from bastion.errors import ValidationError

__all__ = ["MIN_PASSPHRASE_LENGTH", "PASSPHRASE_ENV", "read_passphrase", "signer_is_running"]

PASSPHRASE_ENV = "BASTION_PASSPHRASE"  # noqa: S105 - the variable's name, not a passphrase
"""Environment variable holding the vault passphrase for non-interactive use."""

MIN_PASSPHRASE_LENGTH = 12
"""The shortest passphrase accepted for a new vault or a passphrase change."""

_CONNECT_TIMEOUT_S = 1.0


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(f"{prompt}: ")
    except KeyboardInterrupt:
        raise typer.Abort() from None
    except EOFError:
        raise ValidationError(f"no input for {prompt.lower()!r}; expected a passphrase typed in the terminal") from None


def read_passphrase(*, confirm: bool = False, env: str = PASSPHRASE_ENV, prompt: str = "Vault passphrase") -> str:
    """Return a passphrase from the environment, or ask for it without echo.

    Parameters
    ----------
    confirm
        A new passphrase: ask twice (when prompting) and require at least
        :data:`MIN_PASSPHRASE_LENGTH` characters.
    env
        The environment variable that provides it non-interactively; used when set and
        non-empty.
    prompt
        What to ask for (without a colon).

    Returns
    -------
    str
        The passphrase (never printed, logged or put into an exception).

    Raises
    ------
    ValidationError
        Neither the variable nor a terminal is available, the passphrase is empty, the two
        entries differ, or a new passphrase is too short.
    """
    value = os.environ.get(env, "")
    source = f"${env}" if value else "the passphrase entered"
    if not value:
        if not sys.stdin.isatty():
            raise ValidationError(
                f"cannot ask for the {prompt.lower()}: no terminal; set {env} or run the command in a terminal"
            )
        value = _ask(prompt)
        if value and confirm:
            again = _ask(f"{prompt} (again)")
            if not hmac.compare_digest(value.encode("utf-8"), again.encode("utf-8")):
                raise ValidationError(f"the two entries of the {prompt.lower()} differ; nothing was changed")
    if not value:
        raise ValidationError(f"the {prompt.lower()} is empty; expected a passphrase")
    if confirm and len(value) < MIN_PASSPHRASE_LENGTH:
        raise ValidationError(
            f"{source} is shorter than {MIN_PASSPHRASE_LENGTH} characters; expected a {prompt.lower()} of at "
            f"least {MIN_PASSPHRASE_LENGTH} (several random words make a good one)"
        )
    return value


def signer_is_running(layout: HomeLayout) -> bool:
    """Return whether a signer listens on the layout's socket.

    Connects to the Unix socket and closes the connection at once, sending nothing. A
    socket file that no process listens on (left by a crash) counts as not running.

    Parameters
    ----------
    layout
        The Bastion home to look in.

    Returns
    -------
    bool
        ``True`` when ``layout.socket`` exists and accepts a connection.
    """
    path = layout.socket
    if not path.exists():
        return False
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(_CONNECT_TIMEOUT_S)
        sock.connect(os.fsencode(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True
