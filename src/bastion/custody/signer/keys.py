"""The signer's key operations: add (permission check, seal, store), remove, check, leak detection."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from bastion.custody.policy import (
    PolicyConfig,
    PolicyState,
)
from bastion.custody.signer._model import (
    Account,
    Refusal,
    fingerprint,
    log,
    permissions_json,
    utc,
)
from bastion.custody.signer._parts import SignerParts
from bastion.custody.signer.leak import ForeignOrder, LeakScan
from bastion.custody.signer.permissions import assess, fetch_permissions
from bastion.custody.signer.revoke import revoke_instructions
from bastion.custody.signer.rpc import KeysAddRequest, KeysAddSealedRequest, SealPublicKeyRequest
from bastion.custody.signer.sealing import SealError, SealingKey
from bastion.custody.vault import SecretBinding
from bastion.errors import (
    BastionError,
    ConfigError,
    KeyRefused,
    ValidationError,
)
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues import canonical_id, get_venue
from bastion.storage import AccountRepository, ApiKeyRecord, ApiKeyRepository, PolicyRepository

__all__ = ["KeyOps"]


class KeyOps(SignerParts):
    """Key operations of :class:`~bastion.custody.signer.service.SignerService`."""

    sealing: SealingKey

    # ------------------------------------------------------------------ keys

    async def op_keys_add(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Check a new key's permissions on the exchange, then seal and store it."""
        ask = KeysAddRequest.from_wire(params)
        audit_params = {
            "account": ask.account,
            "exchange": canonical_id(ask.exchange),  # gateio -> gate
            "url": ask.url,
            "allow_unrestricted_ip": ask.allow_unrestricted_ip,
        }
        if not await self._passphrase_ok(params):
            self._append(
                "refused",
                {
                    "op": "keys_add",
                    "params": audit_params,
                    "reason": "wrong or missing vault passphrase",
                    "peer": dict(peer),
                },
            )
            raise Refusal("unauthorized", "adding a key needs the vault passphrase, and the one given is wrong")
        credentials = ApiCredentials(ask.api_key, ask.secret, ask.password)
        return await self._add_key("keys_add", audit_params, credentials, peer)

    async def op_seal_public_key(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return the signer's X25519 sealing key (made at start, held in memory only) and its key id."""
        SealPublicKeyRequest.from_wire(params)
        return self.sealing.describe()

    async def op_keys_add_sealed(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Open an API key sealed in the browser to the sealing key, then add it as ``keys_add`` does.

        No vault passphrase: the caller (the web process, after a fresh second factor) relays a
        blob it cannot open. The account details sent in clear are bound to the blob, so what is
        checked and stored is what the page sealed. A blob opens once; its digest is audited.
        """
        ask = KeysAddSealedRequest.from_wire(params)
        audit_params = {
            "account": ask.account,
            "exchange": ask.exchange,
            "url": ask.url,
            "allow_unrestricted_ip": ask.allow_unrestricted_ip,
            "sealed_to": ask.key_id[:32],
        }
        try:
            opened = self.sealing.open(
                key_id=ask.key_id,
                enc=ask.enc,
                ciphertext=ask.ciphertext,
                account=ask.account,
                exchange=ask.exchange,
                url=ask.url,
                allow_unrestricted_ip=ask.allow_unrestricted_ip,
            )
        except SealError as exc:
            self._append(
                "refused",
                {"op": "keys_add_sealed", "params": audit_params, "reason": str(exc), "peer": dict(peer)},
            )
            raise Refusal("bad_request", str(exc)) from None
        credentials = ApiCredentials(opened.api_key, opened.secret, opened.password)
        return await self._add_key("keys_add_sealed", {**audit_params, "blob": opened.blob_id}, credentials, peer)

    async def _add_key(
        self, op: str, audit_params: dict[str, Any], credentials: ApiCredentials, peer: Mapping[str, int]
    ) -> dict[str, Any]:
        """Check a key's permissions on the exchange, then seal and store it (the vault passphrase or
        the sealed blob was checked by the caller)."""
        name, exchange_id, url = audit_params["account"], canonical_id(audit_params["exchange"]), audit_params["url"]
        allow_unrestricted = bool(audit_params["allow_unrestricted_ip"])
        secrets_ = tuple(s for s in (credentials.api_key, credentials.secret, credentials.password) if s)
        if name in self.accounts:
            self._append(
                "refused",
                {"op": op, "params": audit_params, "reason": "the account already has a key", "peer": dict(peer)},
            )
            raise Refusal(
                "bad_request", f"account {name!r} already has a key; remove it first with `bastion keys remove`"
            )
        seq = self._append("request", {"account": name, "op": op, "params": audit_params, "peer": dict(peer)})
        try:
            exchange = self._client(exchange_id, url, credentials)
        except (ConfigError, ValidationError) as exc:
            raise Refusal("bad_request", str(exc)) from None
        try:
            perms = await fetch_permissions(exchange.client, exchange_id)
            reasons = assess(perms, exchange_id=exchange_id, allow_unrestricted_ip=allow_unrestricted)
            if reasons:
                raise KeyRefused("the key was refused: " + " ".join(reasons), reasons=tuple(reasons))
            await exchange.load_markets()
        except BastionError as exc:
            await exchange.close()
            self.audit.append(
                "outcome",
                {
                    "account": name,
                    "op": op,
                    "request_seq": seq,
                    "ok": False,
                    "error": {"kind": type(exc).__name__, "message": str(exc)},
                },
                secrets=secrets_,
            )
            raise Refusal.from_error(exc) from None
        await exchange.close()
        record = self._store_key(name, exchange_id, url, credentials, perms, allow_unrestricted)
        account = await self._open_account(record, credentials)
        self._audit_policy(account, "key added: the stored policy applies", None, None, False)
        try:  # the leak detector's baseline: balances and trades as the key starts here
            async with account.lock:
                await self.check_for_leaks(account)
        except BastionError as exc:
            log.warning("account %s: first leak scan failed (it runs again at the next poll): %s", name, exc)
        result = {
            "account": name,
            "exchange": exchange_id,
            "key_hint": record.key_hint,
            "fingerprint": record.fingerprint,
            "permissions": record.permissions,
            "policy": account.policy.config.to_dict(),
        }
        self._append(
            "key_event",
            {
                "account": name,
                "event": "added",
                "request_seq": seq,
                "key_hint": record.key_hint,
                "fingerprint": record.fingerprint,
                "permissions": record.permissions,
            },
            account,
        )
        return result

    def _store_key(
        self,
        name: str,
        exchange_id: str,
        url: str | None,
        credentials: ApiCredentials,
        perms: ApiRestrictions,
        allow_unrestricted: bool,
    ) -> ApiKeyRecord:
        key_id = secrets.token_hex(8)
        binding = SecretBinding(account=name, exchange=exchange_id, key_id=key_id, version=1)
        sealed_key = self.vault.seal(credentials.api_key, binding).to_bytes()
        sealed_secret = self.vault.seal(credentials.secret, binding).to_bytes()
        sealed_password = (
            None if credentials.password is None else self.vault.seal(credentials.password, binding).to_bytes()
        )
        with self.sessions.begin() as session:
            accounts = AccountRepository(session)
            existing = accounts.get(name)
            try:
                if existing is None:
                    existing = accounts.create(name, exchange_id, url=url)
                elif existing.exchange != exchange_id:
                    raise ValidationError(f"account {name!r} is on exchange {existing.exchange!r}, not {exchange_id!r}")
                else:
                    accounts.set_url(name, url)
                record = ApiKeyRepository(session).add(
                    account_id=existing.id,
                    key_id=key_id,
                    version=1,
                    exchange=exchange_id,
                    url=url,
                    key_hint=credentials.api_key[-4:],
                    fingerprint=fingerprint(credentials.api_key),
                    sealed_api_key=sealed_key,
                    sealed_secret=sealed_secret,
                    sealed_password=sealed_password,
                    allow_unrestricted_ip=allow_unrestricted,
                    permissions=permissions_json(perms),
                )
                policies = PolicyRepository(session)
                if policies.get(existing.id) is None:  # a re-added key keeps the account's policy
                    revision = self._policy_revisions.get(name, 0) + 1
                    config = PolicyConfig().to_dict()
                    policies.put(
                        existing.id,
                        config=config,
                        reason=None,
                        revision=revision,
                        updated_at=utc(self.clock()),
                        signature=self._signed_policy(name, config, None, revision),
                    )
                    self._policy_revisions[name] = revision
                return record
            except ValidationError as exc:
                raise Refusal("bad_request", str(exc)) from None

    async def op_keys_remove(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Forget an account's key: out of memory and out of the database (needs the vault passphrase)."""
        account = self._account(params)
        if not await self._passphrase_ok(params):
            self._append(
                "refused",
                {
                    "account": account.name,
                    "op": "keys_remove",
                    "reason": "wrong or missing vault passphrase",
                    "peer": dict(peer),
                },
                account,
            )
            raise Refusal("unauthorized", "removing a key needs the vault passphrase, and the one given is wrong")
        async with account.lock:
            self._append(
                "key_event",
                {
                    "account": account.name,
                    "event": "removed",
                    "key_hint": account.key.key_hint,
                    "fingerprint": account.key.fingerprint,
                    "peer": dict(peer),
                },
                account,
            )
            with self.sessions.begin() as session:
                ApiKeyRepository(session).remove(account.account_id)
            await self._purge(account)
            del self.accounts[account.name]
        return {"account": account.name, "removed": True, "revoke": list(revoke_instructions(account.key.exchange))}

    async def check_permissions(self, account: Account) -> dict[str, Any]:
        """Fetch the key's permissions; pause the account if it gained a dangerous one, resume if fixed."""
        perms = await fetch_permissions(account.exchange.client, account.key.exchange)
        reasons = assess(
            perms, exchange_id=account.key.exchange, allow_unrestricted_ip=account.key.allow_unrestricted_ip
        )
        summary = permissions_json(perms)
        with self.sessions.begin() as session:
            keys = ApiKeyRepository(session)
            keys.record_check(account.account_id, summary)
            if reasons and account.key.status != "paused":
                keys.set_status(account.account_id, "paused", " ".join(reasons))
            elif not reasons and account.key.status == "paused":
                keys.set_status(account.account_id, "active", None)
            record = keys.for_account(account.account_id)
        assert record is not None
        was_paused = account.paused
        account.key = record
        account.last_permission_check_ms = self.clock()
        self._append(
            "key_event",
            {"account": account.name, "event": "checked", "permissions": summary, "refused_reasons": list(reasons)},
            account,
        )
        if reasons and not was_paused:
            self._alert(
                account,
                f"account {account.name} PAUSED: its key changed permissions. "
                + " ".join(reasons)
                + " It resumes by itself once the key is safe again: remove that permission on the exchange, then "
                f"run `bastion keys check --account {account.name}`.",
            )
        elif not reasons and was_paused:
            self._append("key_event", {"account": account.name, "event": "resumed"}, account)
        return {"permissions": summary, "refused_reasons": list(reasons), "paused": account.paused}

    async def check_for_leaks(self, account: Account) -> list[ForeignOrder]:
        """Reconcile the exchange's trades, orders and balances with what the signer sent; HALT on a finding.

        See :mod:`bastion.custody.signer.leak`. Findings stay reported while the account is
        HALTED, until ``bastion keys ack-findings`` acknowledges them.
        """
        if account.policy.state is not PolicyState.HALTED:
            account.unexplained.clear()
        created = int(account.key.created_at.timestamp() * 1000) - 60_000
        first = account.sent.first_ms
        scan = LeakScan(
            account.exchange,
            account.sent,
            pairs=account.policy.config.pairs,
            not_before_ms=created if first is None else min(first, created),
            now_ms=self.clock(),
            paging=get_venue(account.key.exchange).trade_paging,
        )
        report = await scan.run()
        account.last_leak_check_ms = self.clock()
        found = [f for f in report.foreign if f.key not in account.foreign]
        unexplained = [b for b in report.balances if b.key not in account.unexplained]
        if found or unexplained:
            for foreign in found:
                account.foreign[foreign.key] = foreign
            for finding in unexplained:
                account.unexplained[finding.key] = finding
            self._append(
                "leak",
                {
                    "account": account.name,
                    "foreign_orders": [f.to_json() for f in found],
                    "balance_findings": [b.to_json() for b in unexplained],
                },
                account,
            )
            what = []
            if found:
                what.append(f"{len(found)} order(s) on {account.key.exchange} were not sent by Bastion")
            if unexplained:
                assets = ", ".join(sorted({b.asset for b in unexplained}))
                what.append(f"balance changes no order of Bastion explains ({assets})")
            self._halt(
                account,
                f"account {account.name} HALTED: " + "; ".join(what) + ": the API key is being used elsewhere "
                "or funds moved outside Bastion. Revoke the key now if you did not do this.",
            )
        if report.changed and report.checkpoint is not None:
            account.sent.checkpoint = report.checkpoint
            self._append("leak_checkpoint", {"account": account.name, **report.checkpoint.to_json()}, account)
        return found

    async def op_keys_check(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Re-check permissions and reconcile orders now, for one account or all."""
        targets = [self._account(params)] if params.get("account") is not None else list(self.accounts.values())
        report = []
        for account in targets:
            async with account.lock:
                entry: dict[str, Any] = {"account": account.name, "exchange": account.key.exchange}
                try:
                    entry.update(await self.check_permissions(account))
                    await self.check_for_leaks(account)
                except BastionError as exc:
                    entry["error"] = f"{type(exc).__name__}: {exc}"
                entry["foreign_orders"] = [f.to_json() for f in account.foreign.values()]
                entry["balance_findings"] = [b.to_json() for b in account.unexplained.values()]
                entry["state"] = account.policy.state.value
                entry["state_reason"] = account.reason
                if account.foreign or account.unexplained or entry.get("paused"):
                    entry["revoke"] = list(revoke_instructions(account.key.exchange))
                report.append(entry)
        return report
