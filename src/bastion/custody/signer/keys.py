"""The signer's key operations: add (permission check, seal, store), remove, check, leak detection."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from bastion.custody.policy import (
    PolicyConfig,
)
from bastion.custody.signer._model import (
    Account,
    Refusal,
    fingerprint,
    permissions_json,
    text_param,
    utc,
)
from bastion.custody.signer.leak import ForeignOrder
from bastion.custody.signer.permissions import assess, fetch_permissions
from bastion.custody.signer.revoke import revoke_instructions
from bastion.custody.vault import SecretBinding
from bastion.errors import (
    BastionError,
    ConfigError,
    ExchangeError,
    KeyRefused,
    ValidationError,
)
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import ApiRestrictions, OrderSnapshot
from bastion.storage import AccountRepository, ApiKeyRecord, ApiKeyRepository, PolicyRepository

__all__ = ["KeyOps"]


class KeyOps:
    """Key operations of :class:`~bastion.custody.signer.service.SignerService`."""

    # ------------------------------------------------------------------ keys

    async def op_keys_add(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Check a new key's permissions on the exchange, then seal and store it."""
        name = text_param(params, "account")
        exchange_id = text_param(params, "exchange")
        url = text_param(params, "url", required=False)
        api_key = text_param(params, "api_key")
        secret = text_param(params, "secret")
        password = text_param(params, "password", required=False)
        allow_unrestricted = params.get("allow_unrestricted_ip") is True
        audit_params = {
            "account": name,
            "exchange": exchange_id,
            "url": url,
            "allow_unrestricted_ip": allow_unrestricted,
        }
        secrets_ = tuple(s for s in (api_key, secret, password) if s)
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
        if name in self.accounts:
            raise Refusal(
                "bad_request", f"account {name!r} already has a key; remove it first with `bastion keys remove`"
            )
        seq = self._append("request", {"account": name, "op": "keys_add", "params": audit_params, "peer": dict(peer)})
        credentials = ApiCredentials(api_key, secret, password)  # type: ignore[arg-type]
        try:
            exchange = self._client(exchange_id, url, credentials)  # type: ignore[arg-type]
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
                    "op": "keys_add",
                    "request_seq": seq,
                    "ok": False,
                    "error": {"kind": type(exc).__name__, "message": str(exc)},
                },
                secrets=secrets_,
            )
            raise Refusal.from_error(exc) from None
        await exchange.close()
        record = self._store_key(name, exchange_id, url, credentials, perms, allow_unrestricted)  # type: ignore[arg-type]
        account = await self._open_account(record, credentials)
        self._audit_policy(account, "key added: the stored policy applies", None, None, False)
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
                    existing = accounts.create(name, exchange_id)
                elif existing.exchange != exchange_id:
                    raise ValidationError(f"account {name!r} is on exchange {existing.exchange!r}, not {exchange_id!r}")
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
        """Forget an account's key: out of memory and out of the database."""
        account = self._account(params)
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
            self._alert(account, f"account {account.name} PAUSED: its key changed permissions. " + " ".join(reasons))
        elif not reasons and was_paused:
            self._append("key_event", {"account": account.name, "event": "resumed"}, account)
        return {"permissions": summary, "refused_reasons": list(reasons), "paused": account.paused}

    async def check_for_leaks(self, account: Account) -> list[ForeignOrder]:
        """Reconcile the exchange's orders and trades with what the signer sent; HALT on a foreign one."""
        exchange = account.exchange
        since = int(account.key.created_at.timestamp() * 1000) - 60_000
        seen: dict[str, OrderSnapshot] = {}
        for order in await exchange.fetch_open_orders(None):
            seen[order.exchange_order_id] = order
        symbols = set(account.policy.config.pairs)
        try:
            balances = await exchange.fetch_balance()
        except ExchangeError:
            balances = {}
        held = {c for c, b in balances.items() if b.total > 0}
        for symbol, market in (exchange.client.markets or {}).items():
            if market.get("spot") and market.get("base") in held and market.get("quote") in held:
                symbols.add(symbol)
        for symbol in sorted(symbols):
            if symbol not in (exchange.client.markets or {}):
                continue
            for trade in await exchange.fetch_my_trades(symbol, since_ms=since):
                if trade.order_id in seen or account.sent.is_ours(trade.order_id):
                    continue
                seen[trade.order_id] = await exchange.fetch_order(symbol, exchange_order_id=trade.order_id)
        found: list[ForeignOrder] = []
        for order in seen.values():
            if order.timestamp_ms is not None and order.timestamp_ms < since:
                continue
            foreign = account.sent.judge(order)
            if foreign is not None and foreign.exchange_order_id not in account.foreign:
                found.append(foreign)
        account.last_leak_check_ms = self.clock()
        if found:
            for foreign in found:
                account.foreign[foreign.exchange_order_id] = foreign
            self._append("leak", {"account": account.name, "foreign_orders": [f.to_json() for f in found]}, account)
            self._halt(
                account,
                f"account {account.name} HALTED: {len(found)} order(s) on {account.key.exchange} were not sent by "
                "Bastion; the API key is being used elsewhere. Revoke it now.",
            )
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
                entry["state"] = account.policy.state.value
                entry["state_reason"] = account.reason
                if account.foreign or entry.get("paused"):
                    entry["revoke"] = list(revoke_instructions(account.key.exchange))
                report.append(entry)
        return report
