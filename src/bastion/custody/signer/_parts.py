"""What the signer's operation mixins (``KeyOps``, ``PolicyOps``) use of the service, declared once.

:class:`~bastion.custody.signer.service.SignerService` defines all of it; the declarations only
let the type checker follow a mixin's ``self``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy.orm import Session, sessionmaker

    from bastion.custody.audit import AuditLog
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer._model import Account
    from bastion.custody.vault import Vault
    from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
    from bastion.exchanges.credentials import ApiCredentials
    from bastion.services.notify import Notifier
    from bastion.storage import ApiKeyRecord

__all__ = ["SignerParts"]


class SignerParts:
    """The signer service's state and helpers as its mixins see them."""

    layout: HomeLayout
    vault: Vault
    audit: AuditLog
    sessions: sessionmaker[Session]
    clock: Callable[[], int]
    accounts: dict[str, Account]
    notifier: Notifier
    _signing_key: Ed25519PrivateKey
    _policy_revisions: dict[str, int]

    if TYPE_CHECKING:

        def _append(self, kind: str, payload: Mapping[str, Any], account: Account | None = None) -> int: ...
        def _account(self, params: Mapping[str, Any]) -> Account: ...
        def _client(self, exchange: str, url: str | None, credentials: ApiCredentials) -> AsyncCcxtExchange: ...
        async def _open_account(self, record: ApiKeyRecord, credentials: ApiCredentials) -> Account: ...
        async def _purge(self, account: Account) -> None: ...
        def _signed_policy(self, name: str, config: dict[str, Any], reason: str | None, revision: int) -> str: ...
        def _audit_policy(
            self,
            account: Account,
            change: str,
            before: dict[str, Any] | None,
            loosened: list[str] | None,
            authorized: bool,
        ) -> None: ...
        async def _passphrase_ok(self, params: Mapping[str, Any]) -> bool: ...
        def _halt(self, account: Account, reason: str) -> None: ...
        def _alert(self, account: Account, message: str, kind: str = "leak_alert") -> None: ...
