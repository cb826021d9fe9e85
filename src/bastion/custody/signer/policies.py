"""The signer's policy operations: show, set (loosening needs the passphrase), halt, signed rows."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bastion.custody.policy import (
    PolicyConfig,
    PolicyState,
    loosening,
)
from bastion.custody.signer._model import (
    ACCOUNT_STATE,
    POLICY_FIELDS,
    Account,
    Refusal,
    log,
    policy_message,
    utc,
)
from bastion.custody.signer._parts import SignerParts
from bastion.custody.vault import Vault, WrongPassphrase
from bastion.errors import (
    ConfigError,
)
from bastion.storage import AccountRepository, PolicyRepository

__all__ = ["PolicyOps"]


class PolicyOps(SignerParts):
    """Policy operations of :class:`~bastion.custody.signer.service.SignerService`."""

    # ------------------------------------------------------------------ policy

    def _signed_policy(self, name: str, config: dict[str, Any], reason: str | None, revision: int) -> str:
        return self._signing_key.sign(policy_message(name, config, reason, revision)).hex()

    def _persist_policy(
        self,
        account: Account,
        *,
        reason: str | None,
        change: str,
        before: dict[str, Any] | None = None,
        loosened: list[str] | None = None,
        authorized: bool = False,
    ) -> None:
        config = account.policy.config.to_dict()
        revision = account.revision + 1
        signature = self._signed_policy(account.name, config, reason, revision)
        with self.sessions.begin() as session:
            PolicyRepository(session).put(
                account.account_id,
                config=config,
                reason=reason,
                revision=revision,
                updated_at=utc(self.clock()),
                signature=signature,
            )
            AccountRepository(session).set_state(account.name, ACCOUNT_STATE[account.policy.state])
        account.revision = revision
        account.reason = reason
        self._audit_policy(account, change, before, loosened, authorized)

    def _audit_policy(
        self,
        account: Account,
        change: str,
        before: dict[str, Any] | None,
        loosened: list[str] | None,
        authorized: bool,
    ) -> None:
        self._append(
            "policy_change",
            {
                "account": account.name,
                "revision": account.revision,
                "change": change,
                "before": before,
                "after": account.policy.config.to_dict(),
                "loosening": loosened or [],
                "user_confirmed": authorized,
                "reason": account.reason,
            },
            account,
        )

    async def _passphrase_ok(self, params: Mapping[str, Any]) -> bool:
        passphrase = params.get("passphrase")
        if not isinstance(passphrase, str) or not passphrase:
            return False
        home = self.layout.home

        def check() -> bool:
            try:
                Vault.open(home, passphrase).close()
            except WrongPassphrase:
                return False
            return True

        return await asyncio.get_running_loop().run_in_executor(None, check)

    async def op_policy_show(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return an account's policy, state and how much of its budget is used."""
        account = self._account(params)
        usage = account.policy.usage(self.clock())
        return {
            "account": account.name,
            "policy": account.policy.config.to_dict(),
            "state": account.policy.state.value,
            "reason": account.reason,
            "revision": account.revision,
            "usage": {
                "orders_last_minute": usage.orders_last_minute,
                "notional_24h": {q: str(v) for q, v in usage.notional_24h.items()},
                "denials_in_window": usage.denials_in_window,
            },
        }

    async def op_policy_set(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Change an account's policy; a change that loosens it needs the vault passphrase."""
        account = self._account(params)
        changes = params.get("changes")
        if not isinstance(changes, Mapping) or not changes:
            raise Refusal("bad_request", "policy_set needs 'changes', a non-empty mapping of policy fields")
        unknown = sorted(set(changes) - POLICY_FIELDS)
        if unknown:
            raise Refusal(
                "bad_request",
                f"unknown policy field(s) {', '.join(unknown)}; expected some of {', '.join(sorted(POLICY_FIELDS))}",
            )
        before = account.policy.config.to_dict()
        try:
            new = PolicyConfig.from_mapping({**before, **changes})
        except ConfigError as exc:
            raise Refusal("bad_request", str(exc)) from None
        loosened = loosening(account.policy.config, new)
        authorized = False
        if loosened:
            authorized = await self._passphrase_ok(params)
            if not authorized:
                self._append(
                    "refused",
                    {
                        "account": account.name,
                        "op": "policy_set",
                        "reason": "loosening without the vault passphrase",
                        "loosening": loosened,
                        "peer": dict(peer),
                    },
                    account,
                )
                raise Refusal(
                    "unauthorized",
                    "this change loosens the policy (" + "; ".join(loosened) + "); it needs the vault passphrase",
                )
        async with account.lock:
            was_halted = account.policy.state is PolicyState.HALTED
            account.policy.set_config(new)
            if was_halted and new.state is not PolicyState.HALTED and account.foreign:
                ids = sorted(account.foreign)
                account.sent.acknowledge(ids)
                self._append("leak_ack", {"account": account.name, "exchange_order_ids": ids}, account)
                account.foreign.clear()
            reason = params.get("reason") if isinstance(params.get("reason"), str) else None
            self._persist_policy(
                account,
                reason=reason,
                change="set by the user",
                before=before,
                loosened=loosened,
                authorized=authorized,
            )
        return await self.op_policy_show({"account": account.name}, peer)

    def _halt(self, account: Account, reason: str) -> None:
        if account.policy.state is not PolicyState.HALTED:
            account.policy.set_state(PolicyState.HALTED)
            self._persist_policy(account, reason=reason, change="halted by the signer")
        self._alert(account, reason)

    def _alert(self, account: Account, message: str, kind: str = "leak_alert") -> None:
        log.error("ALERT %s", message)
        self._append("alert", {"account": account.name, "message": message}, account)
        self.notifier.notify(kind, f"Bastion: account {account.name} needs you", message)
