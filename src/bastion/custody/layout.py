"""Where custody keeps its files under ``BASTION_HOME``.

::

    $BASTION_HOME/
      vault.json              vault header (KDF parameters, salt, verifier); no secret in clear
      signer-key.sealed       the audit-signing Ed25519 key, sealed by the vault
      signer.pub              its public key, hex (what ``bastion audit verify`` pins)
      audit/audit.jsonl       the hash-chained audit log
      audit/audit.heads.jsonl its signed heads
      signer.sock             the signer's Unix socket (mode 0600; BASTION_SIGNER_SOCKET moves it)
      signer.pid              the running signer's pid
      signer.lock             held by the running signer (one per home); holds its pid
      logs/signer.log         the signer's log (never a secret)
      custody.db              production layout only: the signer's own database (sealed keys,
                              signed policies), 0600, readable by the signer's user alone

The API keys themselves live in a database, sealed to their row: in the development layout (one
user) the main ``bastion.db``; in the production layout (the signer runs as its own user, see
``bastion install --system``) the signer's ``custody.db``, out of the engine's and web's reach.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bastion.errors import ConfigError
from bastion.home import bastion_home, database_url

__all__ = ["CONFIG_ENV", "MAX_SOCKET_PATH", "SOCKET_ENV", "HomeLayout"]

#: The signer configuration (client uids and roles); set in the production layout.
CONFIG_ENV = "BASTION_SIGNER_CONFIG"

#: Where the signer's socket is when it is not in the home (production: the engine and the
#: signer have different homes, and the engine must reach the socket).
SOCKET_ENV = "BASTION_SIGNER_SOCKET"

#: ``sun_path`` holds 108 bytes on Linux, the terminating NUL included.
MAX_SOCKET_PATH = 107


@dataclass(frozen=True, slots=True)
class HomeLayout:
    """The custody files of one Bastion home.

    Parameters
    ----------
    home
        The ``BASTION_HOME`` directory.
    socket_path
        The signer's socket when it is not ``signer.sock`` in the home.
    """

    home: Path
    socket_path: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HomeLayout:
        """Return the layout of ``$BASTION_HOME`` (default ``~/.bastion``) and ``$BASTION_SIGNER_SOCKET``."""
        source = os.environ if env is None else env
        socket = (source.get(SOCKET_ENV) or "").strip()
        return cls(bastion_home(env), Path(socket) if socket else None)

    @property
    def vault_header(self) -> Path:
        """The vault header, ``vault.json``."""
        return self.home / "vault.json"

    @property
    def signing_key(self) -> Path:
        """The sealed audit-signing key."""
        return self.home / "signer-key.sealed"

    @property
    def public_key(self) -> Path:
        """The audit-signing public key, hex, one line."""
        return self.home / "signer.pub"

    @property
    def audit_dir(self) -> Path:
        """The audit log's directory."""
        return self.home / "audit"

    @property
    def audit_log(self) -> Path:
        """The audit log."""
        return self.audit_dir / "audit.jsonl"

    @property
    def socket(self) -> Path:
        """The signer's Unix socket."""
        return self.socket_path if self.socket_path is not None else self.home / "signer.sock"

    @property
    def pid_file(self) -> Path:
        """The running signer's pid."""
        return self.home / "signer.pid"

    @property
    def lock_file(self) -> Path:
        """Held (``flock``) by the running signer; holds its pid."""
        return self.home / "signer.lock"

    @property
    def custody_db(self) -> Path:
        """The signer's own database in the production layout."""
        return self.home / "custody.db"

    def custody_database_url(self, *, production: bool = False, env: Mapping[str, str] | None = None) -> str:
        """Return the database of the sealed keys and signed policies.

        The signer's own ``custody.db`` in the production layout (``production``, or
        ``BASTION_SIGNER_CONFIG`` set, or a ``custody.db`` already in this home); else the main
        database (development layout).
        """
        source = os.environ if env is None else env
        if production or source.get(CONFIG_ENV) or self.custody_db.exists():
            return f"sqlite:///{self.custody_db}"
        return database_url(env)

    @property
    def log_dir(self) -> Path:
        """Where processes write their logs."""
        return self.home / "logs"

    @property
    def signer_log(self) -> Path:
        """The signer's log file."""
        return self.log_dir / "signer.log"

    def check_socket_path(self) -> Path:
        """Return the socket path, or raise if it is too long for a Unix socket.

        Raises
        ------
        ConfigError
            The path exceeds the 107 bytes Linux allows.
        """
        path = self.socket
        size = len(os.fsencode(path))
        if size > MAX_SOCKET_PATH:
            raise ConfigError(
                f"the signer socket path {path} is {size} bytes; Unix sockets allow at most {MAX_SOCKET_PATH}. "
                "Set BASTION_HOME to a shorter directory"
            )
        return path

    def ensure(self) -> None:
        """Create the home, audit and log directories with mode 0700."""
        for directory in (self.home, self.audit_dir, self.log_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
