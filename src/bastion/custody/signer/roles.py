"""Who may call what: the roles of the signer's clients, as data, and the signer's client list.

The signer learns a peer's uid from the kernel (``SO_PEERCRED``) and serves it only the
operations of the roles that uid is given in the signer configuration::

    # /etc/bastion/signer.toml (written by `bastion install --system`)
    socket = "/run/bastion-signer/signer.sock"

    [[clients]]
    user = "bastion"          # for people; the uid is what counts
    uid = 998
    roles = ["engine", "web"]

    [[clients]]
    user = "root"
    uid = 0
    roles = ["operator"]

Without a configuration the signer runs the development layout: its own uid is the only client
and gets the operator role (every operation), which is what ``./dev demo`` and the tests use.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from bastion.errors import ConfigError

__all__ = [
    "EVERY_OP",
    "RESERVED_OPS",
    "ROLE_OPS",
    "ROLE_REFUSED_PARAMS",
    "Client",
    "Role",
    "SignerConfig",
    "refusal_reason",
]


class Role(StrEnum):
    """What a client of the signer is for."""

    ENGINE = "engine"
    """Runs bots: orders, balances, trades, key status."""
    WEB = "web"
    """The web process: relays what the browser sealed (a key, the passphrase of a loosening), tightens a
    policy, panics, shows status and balances."""
    OPERATOR = "operator"
    """The user's own CLI: everything (loosening a policy or adding a key still needs the passphrase)."""


#: Stands for "every operation the signer has", including ones added later.
EVERY_OP = "*"

#: The operations each role may call. There is no withdraw or transfer operation anywhere.
ROLE_OPS: Mapping[Role, frozenset[str]] = MappingProxyType(
    {
        Role.ENGINE: frozenset(
            {
                "ping",
                "key_status",
                "place_order",
                "cancel_order",
                "get_order",
                "open_orders",
                "my_trades",
                "balances",
                "policy_show",  # read-only: `bot create`/`bot start` check a bot's orders against the policy
            }
        ),
        Role.WEB: frozenset(
            {
                "ping",
                "key_status",
                "policy_show",
                "policy_set",  # without a passphrase: tightening only (ROLE_REFUSED_PARAMS)
                "seal_public_key",
                "keys_add_sealed",
                "audit_tail",
                "audit_verify",
                # Loosening needs the vault passphrase sealed in the page to the signer's key: the web
                # relays a blob it cannot open, bound to one change at one revision, opened once;
                # wrong passphrases are throttled and alerted (policies.py).
                "policy_loosen_sealed",
                # Protective only: cancels every open order, purges the decrypted keys and stops the
                # signer. Nothing it does can move money; what it can do to a user (stop trading) a
                # compromised web could already do by halting every account with policy_set.
                "panic",
                # Read-only and not a secret (the overview's portfolio values); every call is audited.
                # It reveals what a key can trade, nothing that lets anyone trade it.
                "balances",
            }
        ),
        Role.OPERATOR: frozenset({EVERY_OP}),
    }
)

#: Parameters a role may not send with an operation. The web may change a policy only in the
#: direction that needs no passphrase (tightening): a passphrase from it is refused.
ROLE_REFUSED_PARAMS: Mapping[tuple[Role, str], frozenset[str]] = MappingProxyType(
    {(Role.WEB, "policy_set"): frozenset({"passphrase"})}
)

#: Names kept for operations that are planned but not served yet (none at the moment).
RESERVED_OPS: Mapping[str, str] = MappingProxyType({})


def refusal_reason(roles: Iterable[Role], op: str, params: Mapping[str, Any]) -> str | None:
    """Return why a peer with ``roles`` may not call ``op`` with ``params``, or None when it may."""
    held = sorted(set(roles))
    for role in held:
        allowed = ROLE_OPS[role]
        if EVERY_OP in allowed:
            return None
        if op in allowed and not (ROLE_REFUSED_PARAMS.get((role, op), frozenset()) & set(params)):
            return None
    names = ", ".join(r.value for r in held) or "none"
    refused_params = sorted(set().union(*(ROLE_REFUSED_PARAMS.get((r, op), frozenset()) for r in held)) & set(params))
    if refused_params and any(op in ROLE_OPS[r] for r in held):
        return (
            f"role {names} may call {op} but not with {', '.join(refused_params)}: it may only tighten a policy; "
            "loosen it with the operator's CLI"
        )
    offered = sorted(set().union(*(ROLE_OPS[r] for r in held))) if held else []
    return f"role {names} may not call {op[:64]!r}; it may call: {', '.join(offered) or 'nothing'}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """One uid allowed on the signer's socket, and its roles."""

    uid: int
    roles: frozenset[Role]
    user: str | None = None


def _client(raw: object, where: str) -> Client:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: a client must be a table with uid and roles, got {type(raw).__name__}")
    unknown = sorted(set(raw) - {"uid", "user", "roles"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; expected uid, user, roles")
    uid = raw.get("uid")
    if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
        raise ConfigError(f"{where}: uid must be a non-negative integer, got {uid!r}")
    user = raw.get("user")
    if user is not None and not isinstance(user, str):
        raise ConfigError(f"{where}: user must be a string, got {user!r}")
    names = raw.get("roles")
    if not isinstance(names, list) or not names:
        raise ConfigError(f"{where}: roles must be a non-empty list of {', '.join(r.value for r in Role)}")
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            raise ConfigError(
                f"{where}: unknown role {name!r}; expected some of {', '.join(r.value for r in Role)}"
            ) from None
    return Client(uid=uid, roles=frozenset(roles), user=user)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerConfig:
    """The signer's clients (uid → roles) and, optionally, where its socket is.

    Parameters
    ----------
    clients
        Every uid allowed to connect, with its roles.
    socket
        The socket path (default: ``signer.sock`` in the signer's home).
    production
        Whether this came from a configuration file (the two-user layout); False for the
        development layout.
    """

    clients: tuple[Client, ...]
    socket: Path | None = None
    production: bool = False
    _by_uid: Mapping[int, frozenset[Role]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_uid: dict[int, frozenset[Role]] = {}
        for client in self.clients:
            by_uid[client.uid] = by_uid.get(client.uid, frozenset()) | client.roles
        object.__setattr__(self, "_by_uid", MappingProxyType(by_uid))

    @classmethod
    def development(cls, uid: int) -> SignerConfig:
        """The one-user layout: ``uid`` (the signer's own) is the operator."""
        return cls(clients=(Client(uid=uid, roles=frozenset({Role.OPERATOR})),))

    @classmethod
    def from_file(cls, path: Path) -> SignerConfig:
        """Read a signer configuration (TOML, unknown keys refused).

        Raises
        ------
        ConfigError
            The file is missing, unreadable, not TOML, or a value is not what is expected.
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read the signer configuration {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"the signer configuration {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(data) - {"socket", "clients"})
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; expected socket, clients")
        raw_clients = data.get("clients")
        if not isinstance(raw_clients, list) or not raw_clients:
            raise ConfigError(f"{path}: expected at least one [[clients]] table with uid and roles")
        clients = tuple(_client(raw, f"{path} clients[{i}]") for i, raw in enumerate(raw_clients))
        socket = data.get("socket")
        if socket is not None and (not isinstance(socket, str) or not socket.startswith("/")):
            raise ConfigError(f"{path}: socket must be an absolute path, got {socket!r}")
        return cls(clients=clients, socket=None if socket is None else Path(socket), production=True)

    def roles_of(self, uid: int) -> frozenset[Role]:
        """Return the roles of ``uid``; empty when it is not a client."""
        return self._by_uid.get(uid, frozenset())

    @property
    def uids(self) -> frozenset[int]:
        """Every uid allowed to connect."""
        return frozenset(self._by_uid)
