"""The signer's policy operations: show, set (loosening needs the passphrase), halt, signed rows.

Loosening from the web (``policy_loosen_sealed``): the page seals the vault passphrase to the
signer's X25519 sealing key, bound to the account, the exact change, the policy revision it was
shown and the reason (:func:`~bastion.custody.signer.sealing.passphrase_context`). The web
relays the ciphertext; the signer opens it (once), checks the passphrase as it checks the
operator's, and applies the change. Anyone holding the public key can seal a guess, so wrong
sealed passphrases are throttled: after :data:`SEALED_FAILURES_ALLOWED` within
:data:`SEALED_LOCKOUT_MS`, sealed loosening is refused until the window has passed (the
operator's CLI is not affected), and the user is alerted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

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
from bastion.custody.signer.rpc import PolicyLoosenSealedRequest
from bastion.custody.signer.sealing import SealError
from bastion.custody.vault import Vault, WrongPassphrase
from bastion.errors import (
    ConfigError,
)
from bastion.storage import AccountRepository, PolicyRepository

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy.orm import Session, sessionmaker

    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.sealing import SealingKey
    from bastion.services.notify import Notifier

__all__ = ["SEALED_FAILURES_ALLOWED", "SEALED_LOCKOUT_MS", "PolicyOps", "leak_resume_hint", "resume_hint"]

#: Wrong sealed passphrases accepted within :data:`SEALED_LOCKOUT_MS` before sealed loosening is refused.
SEALED_FAILURES_ALLOWED = 5
#: The window (and the lockout) for wrong sealed passphrases: 15 minutes.
SEALED_LOCKOUT_MS = 15 * 60 * 1000
#: The largest ``changes_json`` accepted.
_MAX_CHANGES_JSON = 4096


def resume_hint(account: str) -> str:
    """Return the sentence telling how to resume a halted account."""
    return f"To resume: `bastion policy set --account {account} --state active` (asks for the vault passphrase)."


def leak_resume_hint(account: str) -> str:
    """Return the sentence telling how to resume an account the leak detector halted."""
    return (
        f"To resume once the key is revoked or the orders are known to be yours: `bastion keys ack-findings "
        f"--account {account}`, then `bastion policy set --account {account} --state active` (both ask for the "
        "vault passphrase)."
    )


class PolicyOps(SignerParts):
    """Policy operations of :class:`~bastion.custody.signer.service.SignerService`."""

    if TYPE_CHECKING:  # provided by SignerService
        layout: HomeLayout
        sessions: sessionmaker[Session]
        notifier: Notifier
        clock: Callable[[], int]
        sealing: SealingKey
        _signing_key: Ed25519PrivateKey
        _sealed_failures: list[int]

        def _append(self, kind: str, payload: Mapping[str, Any], account: Account | None = None) -> int: ...
        def _account(self, params: Mapping[str, Any]) -> Account: ...
        def send_witness(self, reason: str) -> str | None: ...

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
        requested_by: str | None = None,
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
        self._audit_policy(account, change, before, loosened, authorized, requested_by)
        if account.policy.state is PolicyState.HALTED:
            self.send_witness(f"account {account.name} halted")

    def _audit_policy(
        self,
        account: Account,
        change: str,
        before: dict[str, Any] | None,
        loosened: list[str] | None,
        authorized: bool,
        requested_by: str | None = None,
    ) -> None:
        payload: dict[str, Any] = {
            "account": account.name,
            "revision": account.revision,
            "change": change,
            "before": before,
            "after": account.policy.config.to_dict(),
            "loosening": loosened or [],
            "user_confirmed": authorized,
            "reason": account.reason,
        }
        if requested_by is not None:
            payload["requested_by"] = requested_by
        self._append("policy_change", payload, account)

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

    def _judge(self, account: Account, changes: Mapping[str, Any]) -> tuple[dict[str, Any], PolicyConfig, list[str]]:
        """Apply ``changes`` to the account's current policy: (before, proposed, what it loosens)."""
        before = account.policy.config.to_dict()
        try:
            new = PolicyConfig.from_mapping({**before, **changes})
        except ConfigError as exc:
            raise Refusal("bad_request", str(exc)) from None
        return before, new, loosening(account.policy.config, new)

    def _refuse_loosening(self, account: Account, peer: Mapping[str, int], loosened: list[str], why: str) -> Refusal:
        self._append(
            "refused",
            {"account": account.name, "op": "policy_set", "reason": why, "loosening": loosened, "peer": dict(peer)},
            account,
        )
        return Refusal(
            "unauthorized",
            "this change loosens the policy (" + "; ".join(loosened) + "); it needs the vault passphrase",
        )

    async def op_policy_set(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Change an account's policy; a change that loosens it needs the vault passphrase.

        The change is judged twice: once to know whether to check the passphrase (slow, so
        outside the account lock), and again inside the lock against the policy in force then.
        When the policy moved in between (a halt, another change: its revision differs), a
        change that now loosens it is refused unless the passphrase was given and checked, so a
        request queued behind a halt can never undo it.
        """
        return await self._policy_set(params, peer, passphrase_checked=False)

    async def _policy_set(
        self,
        params: Mapping[str, Any],
        peer: Mapping[str, int],
        *,
        passphrase_checked: bool,
        requested_by: str | None = None,
    ) -> Any:
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
        expected = params.get("expected_revision")
        if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
            raise Refusal("bad_request", f"expected_revision must be an integer revision, got {expected!r}")
        _, _, loosened = self._judge(account, changes)
        authorized = passphrase_checked
        if loosened and not authorized:
            authorized = await self._passphrase_ok(params)
            if not authorized:
                raise self._refuse_loosening(account, peer, loosened, "loosening without the vault passphrase")
        async with account.lock:
            if expected is not None and expected != account.revision:
                raise Refusal(
                    "conflict",
                    f"the policy of {account.name} is at revision {account.revision}, not {expected}: it changed "
                    "meanwhile; look at it again with `bastion policy show` and repeat the change",
                )
            before, new, loosened = self._judge(account, changes)  # against the policy in force now
            if loosened and not authorized:
                raise self._refuse_loosening(
                    account, peer, loosened, "loosening without the vault passphrase (the policy changed meanwhile)"
                )
            if (
                account.policy.state is PolicyState.HALTED
                and new.state is not PolicyState.HALTED
                and (account.foreign or account.unexplained)
            ):
                raise Refusal(
                    "unacknowledged_findings",
                    f"account {account.name} was halted by the leak detector ({len(account.foreign)} order(s) not "
                    f"sent by Bastion, {len(account.unexplained)} unexplained balance change(s)); revoke the key "
                    "if they are not yours, then acknowledge them with "
                    f"`bastion keys ack-findings --account {account.name}` before resuming",
                )
            account.policy.set_config(new)
            reason = params.get("reason") if isinstance(params.get("reason"), str) else None
            self._persist_policy(
                account,
                reason=reason,
                change="set by the user",
                before=before,
                loosened=loosened,
                authorized=authorized,
                requested_by=requested_by,
            )
        return await self.op_policy_show({"account": account.name}, peer)

    def _sealed_locked_out(self, now: int) -> int | None:
        """Return the ms until sealed loosening is allowed again, or None when it is allowed."""
        recent = [t for t in self._sealed_failures if now - t < SEALED_LOCKOUT_MS]
        self._sealed_failures[:] = recent
        if len(recent) < SEALED_FAILURES_ALLOWED:
            return None
        return recent[-SEALED_FAILURES_ALLOWED] + SEALED_LOCKOUT_MS - now

    async def op_policy_loosen_sealed(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Change an account's policy with the vault passphrase sealed in the page (see the module docstring).

        The passphrase is checked like the operator's (it must open the vault); a wrong one is
        audited, counts toward the lockout, and changes nothing. The opened passphrase is used
        for this one check and never stored, logged or answered.
        """
        ask = PolicyLoosenSealedRequest.from_wire(params)
        account = self._account(params)
        by = None if ask.requested_by is None else ask.requested_by[:64]
        audit = {"account": account.name, "op": "policy_loosen_sealed", "peer": dict(peer), "requested_by": by}
        now = self.clock()
        wait_ms = self._sealed_locked_out(now)
        if wait_ms is not None:
            self._append("refused", {**audit, "reason": "sealed passphrase lockout"}, account)
            raise Refusal(
                "throttled",
                f"{SEALED_FAILURES_ALLOWED} wrong sealed passphrases within {SEALED_LOCKOUT_MS // 60_000} minutes: "
                f"loosening from the web is refused for {wait_ms // 1000 + 1} more seconds; the operator's "
                "`bastion policy set` still works",
            )
        if len(ask.changes_json) > _MAX_CHANGES_JSON:
            raise Refusal("bad_request", f"changes_json has {len(ask.changes_json)} characters; at most "
                                         f"{_MAX_CHANGES_JSON} expected")  # fmt: skip
        try:
            opened = self.sealing.open_passphrase(
                key_id=ask.key_id,
                enc=ask.enc,
                ciphertext=ask.ciphertext,
                account=ask.account,
                changes_json=ask.changes_json,
                expected_revision=ask.expected_revision,
                reason=ask.reason,
            )
        except SealError as exc:
            self._append("refused", {**audit, "reason": str(exc)}, account)
            raise Refusal("bad_request", str(exc)) from None
        try:
            changes = json.loads(ask.changes_json)
        except json.JSONDecodeError:
            changes = None
        if not isinstance(changes, dict):
            raise Refusal("bad_request", "changes_json must be the JSON text of an object of policy fields")
        if not await self._passphrase_ok({"passphrase": opened.passphrase}):
            self._sealed_failures.append(now)
            self._append(
                "refused", {**audit, "reason": "wrong sealed vault passphrase", "blob": opened.blob_id}, account
            )
            if len(self._sealed_failures) >= SEALED_FAILURES_ALLOWED:
                self._alert(
                    account,
                    f"{len(self._sealed_failures)} wrong vault passphrases were sealed from the web to loosen a "
                    "policy; loosening from the web is locked for 15 minutes. If that was not you, the web "
                    "process or a session may be compromised.",
                    kind="policy_denial",
                )
            raise Refusal("unauthorized", "the sealed vault passphrase is wrong; the policy was not changed")
        del opened
        forwarded: dict[str, Any] = {
            "account": ask.account,
            "changes": changes,
            "expected_revision": ask.expected_revision,
        }
        if ask.reason is not None:
            forwarded["reason"] = ask.reason
        return await self._policy_set(forwarded, peer, passphrase_checked=True, requested_by=by)

    async def op_ack_findings(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Acknowledge the leak detector's findings on an account (needs the vault passphrase; audited).

        The orders are recorded as known, so they no longer block resuming; the account stays in
        the state it is in (resuming is a separate ``policy_set``).
        """
        account = self._account(params)
        if not await self._passphrase_ok(params):
            self._append(
                "refused",
                {
                    "account": account.name,
                    "op": "ack_findings",
                    "reason": "wrong or missing vault passphrase",
                    "peer": dict(peer),
                },
                account,
            )
            raise Refusal("unauthorized", "acknowledging leak findings needs the vault passphrase")
        async with account.lock:
            ids = sorted(account.foreign)
            findings = [account.foreign[i].to_json() for i in ids]
            balances = [b.to_json() for b in account.unexplained.values()]
            if ids:
                account.sent.acknowledge(ids)
            self._append(
                "leak_ack",
                {
                    "account": account.name,
                    "exchange_order_ids": ids,
                    "findings": findings,
                    "balance_findings": balances,
                    "user_confirmed": True,
                    "peer": dict(peer),
                },
                account,
            )
            account.foreign.clear()
            account.unexplained.clear()
        return {
            "account": account.name,
            "acknowledged": findings,
            "acknowledged_balance_changes": balances,
            "state": account.policy.state.value,
            "resume": None
            if account.policy.state is PolicyState.ACTIVE
            else f"bastion policy set --account {account.name} --state active",
        }

    def _halt(self, account: Account, reason: str) -> None:
        """HALT an account the leak detector found used elsewhere; the message says how to resume."""
        reason = f"{reason} {leak_resume_hint(account.name)}"
        if account.policy.state is not PolicyState.HALTED:
            account.policy.set_state(PolicyState.HALTED)
            self._persist_policy(account, reason=reason, change="halted by the signer")
        self._alert(account, reason)

    def _alert(self, account: Account, message: str, kind: str = "leak_alert") -> None:
        log.error("ALERT %s", message)
        self._append("alert", {"account": account.name, "message": message}, account)
        self.notifier.notify(kind, f"Bastion: account {account.name} needs you", message)
