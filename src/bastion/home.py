"""Where Bastion keeps its files and which database it opens: read from the environment.

A module of its own (standard library only) so that what needs a path, such as the custody
layout or a CLI command that only talks to the signer, does not load SQLAlchemy for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bastion.errors import StorageError

__all__ = ["DATABASE_URL_ENV", "HOME_ENV", "bastion_home", "database_url"]

DATABASE_URL_ENV = "BASTION_DATABASE_URL"
HOME_ENV = "BASTION_HOME"


def bastion_home(env: Mapping[str, str] | None = None) -> Path:
    """Return Bastion's home folder, creating it with mode 0700 when it does not exist.

    Parameters
    ----------
    env
        Environment to read ``BASTION_HOME`` from; ``os.environ`` when None. Without
        ``BASTION_HOME`` the home is ``~/.bastion``.
    """
    env = os.environ if env is None else env
    raw = env.get(HOME_ENV)
    home = Path(raw).expanduser() if raw else Path.home() / ".bastion"
    if not home.exists():
        try:
            home.mkdir(mode=0o700, parents=True)
            home.chmod(0o700)  # mkdir's mode is filtered by the umask
        except OSError as exc:
            raise StorageError(f"cannot create Bastion's home folder {home}: {exc.strerror}") from None
    elif not home.is_dir():
        raise StorageError(f"{HOME_ENV} is {home}, which is not a folder; expected a folder for Bastion's data")
    return home


def database_url(env: Mapping[str, str] | None = None) -> str:
    """Return the database URL: ``BASTION_DATABASE_URL``, else SQLite in the Bastion home.

    Parameters
    ----------
    env
        Environment to read; ``os.environ`` when None.
    """
    env = os.environ if env is None else env
    url = (env.get(DATABASE_URL_ENV) or "").strip()
    if url:
        return url
    return f"sqlite:///{bastion_home(env) / 'bastion.db'}"
