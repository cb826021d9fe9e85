"""What the signer does for each request: policy, audit, then the exchange.

:class:`SignerService` holds, per account, the decrypted key inside a guarded ccxt client (its
HTTP layer refuses any URL outside the exchange's allowlist), the account's trade-policy
firewall, the signer's own reference prices and the record of the orders it sent. Every request
is appended to the audit log before anything goes to the exchange, and its outcome after.

Order of work for ``place_order``::

    key paused? -> reference price (the signer's own, cached briefly) -> policy.evaluate
      denied:  audit "denial" -> (burst: HALT, signed policy row, alert) -> refuse
      allowed: audit "request" -> exchange -> policy.record_sent -> audit "outcome"

One lock per account serialises ``evaluate -> send -> record_sent`` so two requests in flight
cannot both spend the same remaining budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session, sessionmaker

from bastion.custody.audit import AuditCorruptError, AuditEntry, AuditError, AuditLog
from bastion.custody.layout import HomeLayout
from bastion.custody.policy import (
    CappedOrder,
    Denied,
    OrderRequest,
    PolicyConfig,
    PolicyEngine,
    PolicyState,
    ReferenceMarket,
    cap_market_order,
)
from bastion.custody.policy.rules import check_request
from bastion.custody.signer._model import (
    Account,
    AuditedKey,
    Refusal,
    SignerOptions,
    audited_key_event,
    balance_json,
    log,
    order_json,
    policy_message,
    text_param,
    trade_json,
    utc,
    wall_ms,
)
from bastion.custody.signer.audit_ops import AuditOps
from bastion.custody.signer.endpoints import guard_client
from bastion.custody.signer.keys import KeyOps
from bastion.custody.signer.policies import PolicyOps, resume_hint
from bastion.custody.signer.protocol import FrameError, check_values
from bastion.custody.signer.revoke import revoke_instructions
from bastion.custody.signer.rpc import (
    BalancesRequest,
    CancelOrderRequest,
    GetOrderRequest,
    KeyStatusRequest,
    MyTradesRequest,
    OpenOrdersRequest,
    policy_request,
)
from bastion.custody.signer.sealing import SealingKey
from bastion.custody.vault import SealedSecret, SecretBinding, Vault
from bastion.errors import (
    BastionError,
    ConfigError,
    DuplicateOrder,
    ExchangeError,
    NetworkTimeout,
    ValidationError,
)
from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
from bastion.exchanges.ccxt.factory import create_client
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import OrderSnapshot
from bastion.exchanges.venues import find_venue
from bastion.services.notify import Notifier
from bastion.storage import ApiKeyRecord, ApiKeyRepository, PolicyRepository

__all__ = ["Refusal", "SignerOptions", "SignerService"]


class SignerService(PolicyOps, KeyOps, AuditOps):
    """The signer's operations. One instance per signer process; not thread-safe (asyncio).

    Parameters
    ----------
    layout
        The custody files (socket, audit log, vault).
    vault
        The unlocked vault.
    audit
        The open audit log.
    signing_key
        The Ed25519 key that signs audit heads and policy rows.
    sessions
        Database session factory.
    options
        Timings.
    clock
        Epoch milliseconds.
    """

    def __init__(
        self,
        *,
        layout: HomeLayout,
        vault: Vault,
        audit: AuditLog,
        signing_key: Ed25519PrivateKey,
        sessions: sessionmaker[Session],
        options: SignerOptions | None = None,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.layout = layout
        self.vault = vault
        self.audit = audit
        self._signing_key = signing_key
        self._public_key: Ed25519PublicKey = signing_key.public_key()
        self.sessions = sessions
        self.options = options or SignerOptions()
        self.clock = clock
        self.accounts: dict[str, Account] = {}
        self.sealing = SealingKey()  # for keys sealed in the browser; in memory only, new at every start
        self._sealed_failures: list[int] = []  # when sealed passphrases were wrong (PolicyOps' lockout)
        self.notifier = Notifier.from_environment(home=layout.home)
        self.stopping = asyncio.Event()
        self._last_head_ms = clock()
        self._history: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self._policy_revisions: dict[str, int] = {}
        self._key_states: dict[str, AuditedKey] = {}
        self._last_witness_ms = clock()

    # ------------------------------------------------------------------ start-up

    def replay_audit(self) -> int:
        """Verify the audit log, then read it: orders each account sent, 24 h budgets, policy revisions, key status.

        Nothing is taken from a log that does not verify: the bytes up to the signed checkpoint
        must hash to its digest and every later entry must continue the chain
        (:meth:`AuditLog.replay`), and a non-empty log must have a signed head.

        Raises
        ------
        AuditError
            The log was altered; the signer does not start on it.
        """
        history: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        revisions: dict[str, int] = {}
        key_states: dict[str, AuditedKey] = {}
        count = 0

        def visit(entry: AuditEntry) -> None:
            nonlocal count
            payload = entry.payload
            account = payload.get("account")
            if not isinstance(account, str):
                return
            kind = entry.kind
            history.setdefault(account, []).append((kind, {**payload, "_ts_ms": entry.ts_ms}))
            if kind == "policy_change" and isinstance(payload.get("revision"), int):
                revisions[account] = payload["revision"]
            if kind == "key_event":
                audited_key_event(key_states, account, payload, entry.ts_ms)
            count += 1

        report = self.audit.replay(visit)
        if report.entries and self.audit.latest_head is None:
            raise AuditCorruptError(
                f"{self.audit.path} has {report.entries} entries but no signed head: its heads file was removed or "
                "replaced; run `bastion audit verify` and keep the log for investigation"
            )
        self._history, self._policy_revisions, self._key_states = history, revisions, key_states
        log.info(
            "audit log verified: %d entries (%d checked one by one after the checkpoint at seq %d)",
            report.entries,
            report.checked_entries,
            report.checkpoint_seq,
        )
        return count

    async def load_accounts(self) -> None:
        """Unseal every stored key into a guarded client and restore each account's policy."""
        with self.sessions.begin() as session:
            records = ApiKeyRepository(session).all()
        for record in records:
            try:
                credentials = self._unseal(record)
            except BastionError as exc:
                log.error("account %s: key cannot be unsealed: %s", record.account, exc)
                self._append("alert", {"account": record.account, "message": f"key cannot be unsealed: {exc}"})
                continue
            account = await self._open_account(record, credentials)
            self._apply_audited_key(account)
            for kind, payload in self._history.pop(record.account, []):
                account.sent.replay(kind, payload)
                self._preload_budget(account, kind, payload)
        self._history.clear()
        self.send_witness("signer started")

    def _apply_audited_key(self, account: Account) -> None:
        """Take the key's status and last check from the verified audit log, not the unsigned database row."""
        audited = self._key_states.get(account.name)
        account.last_permission_check_ms = audited.checked_ms if audited is not None else 0
        if audited is not None and audited.paused and not account.paused:
            message = (
                f"account {account.name} PAUSED: the database says its key is active, but the audit log's last "
                f"permission check paused it ({audited.reason}); the database was changed outside the signer. "
                f"It resumes by itself once the key is safe: run `bastion keys check --account {account.name}`."
            )
            account.key = dataclasses.replace(account.key, status="paused", status_reason=audited.reason)
            self._alert(account, message)

    def _unseal(self, record: ApiKeyRecord) -> ApiCredentials:
        binding = SecretBinding(
            account=record.account, exchange=record.exchange, key_id=record.key_id, version=record.version
        )
        with self.vault.unseal(SealedSecret.from_bytes(record.sealed_api_key), binding) as api_key:
            key_text = api_key.reveal_str()
        with self.vault.unseal(SealedSecret.from_bytes(record.sealed_secret), binding) as secret:
            secret_text = secret.reveal_str()
        password_text = None
        if record.sealed_password is not None:
            with self.vault.unseal(SealedSecret.from_bytes(record.sealed_password), binding) as password:
                password_text = password.reveal_str()
        return ApiCredentials(key_text, secret_text, password_text)

    def _client(self, exchange: str, url: str | None, credentials: ApiCredentials) -> AsyncCcxtExchange:
        options = {"warnOnFetchOpenOrdersWithoutSymbol": False, "fetchCurrencies": False}
        client = create_client(
            exchange,
            asynchronous=True,
            credentials=credentials,
            url=url,
            timeout_ms=self.options.exchange_timeout_ms,
            options=options,
        )
        guard_client(client, exchange)
        return AsyncCcxtExchange(exchange, client=client)

    async def _open_account(self, record: ApiKeyRecord, credentials: ApiCredentials) -> Account:
        exchange = self._client(record.exchange, record.url, credentials)
        config, revision, reason = self._load_policy(record)
        account = Account(
            name=record.account,
            account_id=record.account_id,
            key=record,
            exchange=exchange,
            policy=PolicyEngine(account=record.account, config=config),
            revision=revision,
            reason=reason,
            secrets=tuple(s for s in (credentials.api_key, credentials.secret, credentials.password) if s),
        )
        if record.checked_at is not None:
            account.last_permission_check_ms = int(record.checked_at.timestamp() * 1000)
        self.accounts[record.account] = account
        try:
            await exchange.load_markets()
        except ExchangeError as exc:  # retried on the first order
            log.warning("account %s: markets not loaded yet: %s", record.account, exc)
        return account

    def _load_policy(self, record: ApiKeyRecord) -> tuple[PolicyConfig, int, str | None]:
        with self.sessions.begin() as session:
            stored = PolicyRepository(session).get(record.account_id)
        if stored is None:
            return PolicyConfig(), 0, None
        problem = None
        try:
            self._public_key.verify(
                bytes.fromhex(stored.signature),
                policy_message(record.account, stored.config, stored.reason, stored.revision),
            )
        except (InvalidSignature, ValueError):
            problem = "its signature does not verify: the row was changed outside the signer"
        audited = self._policy_revisions.get(record.account)
        if problem is None and audited is not None and audited != stored.revision:
            problem = f"it is revision {stored.revision} but the audit log's latest is {audited} (an old row restored)"
        config = None
        if problem is None:
            try:
                config = PolicyConfig.from_mapping(stored.config)
            except ConfigError as exc:
                problem = f"it does not parse: {exc}"
        if problem is not None or config is None:
            message = (
                f"account {record.account} HALTED: the stored policy was refused, {problem}. "
                f"Check it with `bastion policy show --account {record.account}`. " + resume_hint(record.account)
            )
            log.error(message)
            self._append("alert", {"account": record.account, "message": message})
            return PolicyConfig(state=PolicyState.HALTED), stored.revision, message
        return config, stored.revision, stored.reason

    def _preload_budget(self, account: Account, kind: str, payload: Mapping[str, Any]) -> None:
        if kind != "request" or payload.get("op") != "place_order":
            return
        decision = payload.get("decision") or {}
        stamp = payload.get("_ts_ms")
        symbol = (payload.get("params") or {}).get("symbol")
        if not isinstance(stamp, int) or not isinstance(symbol, str) or self.clock() - stamp >= 86_400_000:
            return
        try:
            notional = Decimal(str(decision.get("notional")))
        except InvalidOperation:
            return
        if notional.is_finite() and notional >= 0:
            account.policy.preload_sent(symbol=symbol, notional=notional, sent_ms=stamp)

    # ------------------------------------------------------------------ audit

    def _append(self, kind: str, payload: Mapping[str, Any], account: Account | None = None) -> int:
        """Append to the audit log; when it cannot be written, alert and refuse (fail closed)."""
        secrets_ = account.secrets if account is not None else ()
        # A request is fsynced before it goes to the exchange. Its outcome is written at once
        # but fsynced with the next request (or within a second, see tick): one fsync per call.
        try:
            entry = self.audit.append(kind, payload, secrets=secrets_, sync=kind != "outcome")
        except AuditError as exc:
            name = payload.get("account") if isinstance(payload.get("account"), str) else "*"
            message = (
                f"the audit log cannot be written ({type(exc).__name__}: {exc}); the signer refuses every request "
                "it cannot record. Free disk space or fix the audit folder, then restart the signer."
            )
            log.error("ALERT account %s: %s", name, message)
            self.notifier.notify("error", f"Bastion: the signer cannot write its audit log ({name})", message)
            raise Refusal("audit_unavailable", message) from None
        return entry.seq

    def send_witness(self, reason: str) -> str | None:
        """Send the signed audit head to the notification channel, as a witness kept off this machine.

        Returns ``SEQ:HASH`` (what ``bastion audit verify --witness`` takes), or None for an empty log.
        """
        if self.audit.unsigned_entries:
            self.audit.sign_head()
        head = self.audit.latest_head
        self._last_witness_ms = self.clock()
        if head is None or head.seq < 0:
            return None
        witness = f"{head.seq}:{head.hash}"
        signed = utc(head.ts_ms).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.notifier.notify(
            "audit_witness",
            "audit log witness",
            f"Signed audit head ({reason}): entry {head.seq}, hash {head.hash}, signed {signed} by key "
            f"{head.public_key[:16]}. Keep this message: `bastion audit verify --witness {witness}` proves later "
            "that the log still holds this entry (a log replaced by an older copy fails).",
        )
        self._append("witness", {"account": "*", "seq": head.seq, "hash": head.hash, "reason": reason})
        return witness

    def sign_head_if_due(self, *, force: bool = False) -> None:
        """Sign the audit head when entries were added and the interval passed (or ``force``)."""
        now = self.clock()
        if self.audit.unsigned_entries and (force or now - self._last_head_ms >= self.options.head_interval_s * 1000):
            self.audit.sign_head()
            self._last_head_ms = now

    # ------------------------------------------------------------------ dispatch

    async def handle(self, op: str, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Run one request and return its result, or raise :class:`Refusal`.

        The whole request is validated first (text, nesting, integer sizes), so a malformed one is
        refused before any policy counts it as a denial.
        """
        try:
            check_values({"op": op, "params": params}, where="the request")
        except FrameError as exc:
            safe_op = op.encode("utf-8", "backslashreplace").decode("utf-8")[:64] if isinstance(op, str) else "?"
            self._append("refused", {"account": "*", "op": safe_op, "reason": str(exc), "peer": dict(peer)})
            raise Refusal("bad_request", str(exc)) from None
        handler = self._handlers().get(op)
        if handler is None:
            self._append("refused", {"op": op[:64], "reason": "unknown operation", "peer": dict(peer)})
            raise Refusal(
                "unknown_op",
                f"operation {op[:64]!r} is not part of the signer's RPC; it answers: "
                + ", ".join(sorted(self._handlers())),
            )
        return await handler(params, peer)

    def _handlers(self) -> dict[str, Callable[[Mapping[str, Any], Mapping[str, int]], Awaitable[Any]]]:
        return {
            "ping": self.op_ping,
            "place_order": self.op_place_order,
            "cancel_order": self.op_cancel_order,
            "get_order": self.op_get_order,
            "open_orders": self.op_open_orders,
            "balances": self.op_balances,
            "my_trades": self.op_my_trades,
            "key_status": self.op_key_status,
            "keys_add": self.op_keys_add,
            "seal_public_key": self.op_seal_public_key,
            "keys_add_sealed": self.op_keys_add_sealed,
            "keys_check": self.op_keys_check,
            "keys_remove": self.op_keys_remove,
            "policy_show": self.op_policy_show,
            "policy_set": self.op_policy_set,
            "policy_loosen_sealed": self.op_policy_loosen_sealed,
            "ack_findings": self.op_ack_findings,
            "panic": self.op_panic,
            "audit_tail": self.op_audit_tail,
            "audit_verify": self.op_audit_verify,
        }

    def _account(self, params: Mapping[str, Any]) -> Account:
        name = text_param(params, "account")
        account = self.accounts.get(name)  # type: ignore[arg-type]
        if account is None:
            known = ", ".join(sorted(self.accounts)) or "none yet; add one with `bastion keys add`"
            raise Refusal("not_found", f"no API key for account {name!r} in this signer (accounts: {known})")
        return account

    def _failed(self, account: Account, op: str, request_seq: int, exc: BastionError) -> Refusal:
        """Audit a failed exchange call and return the refusal to answer with."""
        kind = type(exc).__name__
        self._append(
            "outcome",
            {
                "account": account.name,
                "op": op,
                "request_seq": request_seq,
                "ok": False,
                "error": {"kind": kind, "message": str(exc)},
            },
            account,
        )
        return Refusal.from_error(exc)

    def _outcome(self, account: Account, op: str, request_seq: int, result: Any) -> None:
        self._append(
            "outcome",
            {"account": account.name, "op": op, "request_seq": request_seq, "ok": True, "result": result},
            account,
        )

    async def _audited(
        self,
        account: Account,
        op: str,
        params: Mapping[str, Any],
        peer: Mapping[str, int],
        call: Callable[[], Awaitable[Any]],
        summary: Callable[[Any], dict[str, Any]],
    ) -> Any:
        """Audit the request, run the exchange call, audit a summary of its outcome, return its result."""
        clean = {
            k: v
            for k, v in params.items()
            if k in ("symbol", "exchange_order_id", "client_order_id", "since_ms", "limit")
        }
        seq = self._append("request", {"account": account.name, "op": op, "params": clean, "peer": dict(peer)}, account)
        try:
            result = await call()
        except BastionError as exc:
            raise self._failed(account, op, seq, exc) from None
        self._outcome(account, op, seq, summary(result))
        return result

    # ------------------------------------------------------------------ trading RPC

    async def op_ping(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Liveness: pid and accounts."""
        return {"pid": os.getpid(), "accounts": sorted(self.accounts)}

    async def _reference(self, account: Account, symbol: str) -> ReferenceMarket | None:
        now = self.clock()
        cached = account.references.get(symbol)
        if cached is not None and now - cached.as_of_ms < self.options.reference_refresh_ms:
            return cached
        try:
            ticker = await account.exchange.fetch_ticker(symbol)
        except ExchangeError as exc:
            log.warning("account %s: reference for %s unavailable: %s", account.name, symbol, exc)
            return cached
        received = self.clock()
        price = ticker.last
        if price is None and ticker.bid is not None and ticker.ask is not None:
            price = (ticker.bid + ticker.ask) / 2
        if price is None:
            return cached
        as_of = received
        # The simulator replays recorded history, so its tickers carry market time, not wall
        # time: date them by arrival. Live exchanges' own timestamps count (older one wins).
        venue = find_venue(account.key.exchange)
        if (venue is None or not venue.simulator) and ticker.timestamp_ms is not None:
            as_of = min(ticker.timestamp_ms, received)
        reference = ReferenceMarket(
            symbol=symbol,
            price=price,
            bid=ticker.bid,
            ask=ticker.ask,
            quote_volume_24h=ticker.quote_volume,
            as_of_ms=as_of,
        )
        account.references[symbol] = reference
        return reference

    async def _reduces_exposure(self, account: Account, request: OrderRequest) -> bool:
        """Whether a sell only sells base the account holds (checked with balances the signer fetched)."""
        if request.side != "sell" or not isinstance(request.symbol, str) or "/" not in request.symbol:
            return False
        base = request.symbol.split("/")[0]
        balances = await account.exchange.fetch_balance()
        held = balances.get(base)
        amount = request.amount
        return held is not None and isinstance(amount, Decimal) and amount.is_finite() and 0 < amount <= held.total

    async def op_place_order(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Judge an order with the policy, audit it, and place it if allowed."""
        account = self._account(params)
        clean = {
            k: params.get(k)
            for k in ("symbol", "side", "type", "amount", "price", "quote_amount", "client_order_id")
            if params.get(k) is not None
        }
        async with account.lock:
            request = policy_request(params, account=account.name)  # malformed values: the policy denies
            if account.paused:
                message = f"account {account.name} is paused: {account.key.status_reason}"
                self._append(
                    "denial",
                    {
                        "account": account.name,
                        "op": "place_order",
                        "params": clean,
                        "peer": dict(peer),
                        "rule": "key_paused",
                        "message": message,
                        "compared": {},
                    },
                    account,
                )
                raise Refusal("denied", message, rule="key_paused")
            reference = None
            if isinstance(request.symbol, str) and request.symbol in account.policy.config.pairs:
                reference = await self._reference(account, request.symbol)
            capped = await self._capped(account, request, reference, clean, peer)
            if capped is not None:
                request = capped.request
            if account.policy.state is PolicyState.REDUCING:
                request = OrderRequest(
                    account=request.account,
                    symbol=request.symbol,
                    side=request.side,
                    type=request.type,
                    amount=request.amount,
                    price=request.price,
                    quote_amount=request.quote_amount,
                    client_order_id=request.client_order_id,
                    reduces_exposure=await self._reduces_exposure(account, request),
                )
            if reference is None:
                reference = ReferenceMarket(symbol=str(request.symbol), price=Decimal(0), as_of_ms=0)
            decision = account.policy.evaluate(request, reference, self.clock())
            if isinstance(decision, Denied):
                self._append(
                    "denial",
                    {
                        "account": account.name,
                        "op": "place_order",
                        "params": clean,
                        "peer": dict(peer),
                        "rule": decision.rule.value,
                        "message": decision.message,
                        "compared": {k: str(v) for k, v in decision.compared_values.items()},
                        "halted_now": decision.halted_now,
                    },
                    account,
                )
                if decision.halted_now:
                    self._persist_policy(account, reason=decision.alert, change="halted by a burst of denials")
                    self._alert(account, decision.alert or "account halted", "policy_denial")
                raise Refusal(
                    "denied",
                    decision.message,
                    rule=decision.rule.value,
                    compared=decision.compared_values,
                )
            used_for = account.sent.used_for(request.client_order_id)
            if used_for is not None and used_for != (request.symbol, request.side):
                account.policy.withdraw(request.client_order_id)
                message = (
                    f"client_order_id {request.client_order_id!r} was already used for a {used_for[1]} {used_for[0]} "
                    "order; a retry must repeat that order exactly, a new order needs a new id"
                )
                self._append(
                    "refused",
                    {
                        "account": account.name,
                        "op": "place_order",
                        "params": clean,
                        "reason": message,
                        "peer": dict(peer),
                    },
                    account,
                )
                raise Refusal("DuplicateOrder", message)
            seq = self._append(
                "request",
                {
                    "account": account.name,
                    "op": "place_order",
                    "params": clean,
                    "peer": dict(peer),
                    "decision": {
                        "allowed": True,
                        "notional": str(decision.notional),
                        "quote": decision.quote,
                        "expected_price": str(decision.expected_price),
                    },
                    **({} if capped is None else {"sent_as": capped.to_json()}),
                },
                account,
            )
            retry = used_for is not None
            account.sent.sent(request.client_order_id, request.symbol, request.side)
            try:
                order = await account.exchange.create_order(
                    request.symbol,
                    request.side,
                    request.type,
                    request.amount,
                    request.price,
                    client_order_id=request.client_order_id,
                    quote_amount=request.quote_amount,
                    time_in_force=None if capped is None else capped.time_in_force,
                )
            except NetworkTimeout as exc:
                account.policy.record_sent(request, self.clock())  # it may have landed
                refusal = self._failed(account, "place_order", seq, exc)
                refusal.message += "; retry with the same client_order_id"
                raise refusal from None
            except DuplicateOrder as exc:
                existing = await self._existing(account, request) if retry else None
                if existing is None:
                    raise self._failed(account, "place_order", seq, exc) from None
                # A retry of an order this signer sent (the first answer was lost): the order
                # already exists, so answer with it; its budget was counted the first time.
                account.policy.withdraw(request.client_order_id)
                account.sent.answered(request.client_order_id, existing.exchange_order_id)
                result = order_json(existing)
                self._outcome(account, "place_order", seq, {**result, "existing": True})
                return result
            except BastionError as exc:
                raise self._failed(account, "place_order", seq, exc) from None
            account.policy.record_sent(request, self.clock())
            account.sent.answered(request.client_order_id, order.exchange_order_id)
            result = order_json(order)
            self._outcome(account, "place_order", seq, result)
            return result

    async def _capped(
        self,
        account: Account,
        request: OrderRequest,
        reference: ReferenceMarket | None,
        clean: Mapping[str, Any],
        peer: Mapping[str, int],
    ) -> CappedOrder | None:
        """Return the limit IOC order that replaces a well-formed market order (None: judge as given).

        A market order the policy will deny anyway (malformed, pair not allowed, no reference,
        account HALTED) is left alone so that the denial names the real rule.
        """
        if (
            request.type != "market"
            or reference is None
            or account.policy.state is PolicyState.HALTED
            or check_request(request, account.name) is not None
        ):
            return None
        try:
            try:
                market = account.exchange.market(request.symbol)
            except ExchangeError:  # markets not loaded yet (the exchange was down at start)
                await account.exchange.load_markets()
                market = account.exchange.market(request.symbol)
            return cap_market_order(request, reference, account.policy.config, market)
        except (ValidationError, ExchangeError) as exc:
            message = f"the market order cannot be sent capped as a limit IOC order: {exc}"
            self._append(
                "refused",
                {
                    "account": account.name,
                    "op": "place_order",
                    "params": dict(clean),
                    "reason": message,
                    "peer": dict(peer),
                },
                account,
            )
            raise Refusal("bad_request", message) from None

    async def _existing(self, account: Account, request: OrderRequest) -> OrderSnapshot | None:
        """Return the order already on the exchange under this client order id, if it is this request's."""
        try:
            order = await account.exchange.fetch_order(request.symbol, client_order_id=request.client_order_id)
        except BastionError:
            return None
        if order.symbol != request.symbol or order.side != request.side:
            return None
        return order

    async def op_cancel_order(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Cancel one order (allowed in every state: cancelling only reduces risk)."""
        ask = CancelOrderRequest.from_wire(params)
        account = self._account(params)
        order = await self._audited(
            account,
            "cancel_order",
            params,
            peer,
            lambda: account.exchange.cancel_order(
                ask.symbol, exchange_order_id=ask.exchange_order_id, client_order_id=ask.client_order_id
            ),
            lambda o: {"exchange_order_id": o.exchange_order_id, "status": str(o.status)},
        )
        return order_json(order)

    async def op_get_order(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return one order as the exchange reports it."""
        ask = GetOrderRequest.from_wire(params)
        account = self._account(params)
        order = await self._audited(
            account,
            "get_order",
            params,
            peer,
            lambda: account.exchange.fetch_order(
                ask.symbol, exchange_order_id=ask.exchange_order_id, client_order_id=ask.client_order_id
            ),
            lambda o: {"exchange_order_id": o.exchange_order_id, "status": str(o.status)},
        )
        return order_json(order)

    async def op_open_orders(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return the account's open orders (one market or all)."""
        ask = OpenOrdersRequest.from_wire(params)
        account = self._account(params)
        orders = await self._audited(
            account,
            "open_orders",
            params,
            peer,
            lambda: account.exchange.fetch_open_orders(ask.symbol),
            lambda r: {"count": len(r)},
        )
        return [order_json(o) for o in orders]

    async def op_balances(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return the account's non-zero balances."""
        BalancesRequest.from_wire(params)
        account = self._account(params)
        balances = await self._audited(
            account, "balances", params, peer, account.exchange.fetch_balance, lambda r: {"currencies": len(r)}
        )
        return balance_json(balances)

    async def op_my_trades(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return the account's own trades in one market, or those of one order (``exchange_order_id``)."""
        ask = MyTradesRequest.from_wire(params)
        account = self._account(params)
        exchange = account.exchange
        if ask.exchange_order_id is not None:
            fetch = functools.partial(exchange.fetch_order_trades, ask.symbol, ask.exchange_order_id)
        else:
            fetch = functools.partial(exchange.fetch_my_trades, ask.symbol, since_ms=ask.since_ms, limit=ask.limit)
        trades = await self._audited(account, "my_trades", params, peer, fetch, lambda r: {"count": len(r)})
        return [trade_json(t) for t in trades]

    def _status(self, account: Account) -> dict[str, Any]:
        key = account.key
        return {
            "account": account.name,
            "exchange": key.exchange,
            "url": key.url,
            "key_hint": key.key_hint,
            "fingerprint": key.fingerprint,
            "status": key.status,
            "status_reason": key.status_reason,
            "state": account.policy.state.value,
            "state_reason": account.reason,
            "permissions": key.permissions,
            "last_permission_check_ms": account.last_permission_check_ms or None,
            "last_leak_check_ms": account.last_leak_check_ms or None,
            "foreign_orders": [f.to_json() for f in account.foreign.values()],
            "balance_findings": [b.to_json() for b in account.unexplained.values()],
            "orders_sent": len(account.sent),
        }

    async def op_key_status(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return each key's status (never a secret): hint, fingerprint, permissions, state."""
        if KeyStatusRequest.from_wire(params).account is not None:
            return [self._status(self._account(params))]
        return [self._status(a) for _, a in sorted(self.accounts.items())]

    # ------------------------------------------------------------------ panic and shutdown

    async def op_panic(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Cancel every open order on every account, then forget all secrets and stop.

        ``requested_by`` (the web user behind a panic from the web) is recorded in the audit log.
        Other parameters are ignored: a panic is never refused over a stray parameter.
        """
        by = params.get("requested_by")
        entry_payload: dict[str, Any] = {"account": "*", "peer": dict(peer)}
        if isinstance(by, str):
            entry_payload["requested_by"] = by[:64]
        self._append("panic", entry_payload)
        report = []
        for account in list(self.accounts.values()):
            entry: dict[str, Any] = {
                "account": account.name,
                "exchange": account.key.exchange,
                "cancelled": [],
                "errors": [],
            }
            for _attempt in range(3):
                try:
                    open_orders = await account.exchange.fetch_open_orders(None)
                except BastionError as exc:
                    entry["errors"].append(f"listing open orders: {exc}")
                    continue
                if not open_orders:
                    break
                for order in open_orders:
                    try:
                        await account.exchange.cancel_order(order.symbol, exchange_order_id=order.exchange_order_id)
                        entry["cancelled"].append(order.exchange_order_id)
                    except BastionError as exc:
                        entry["errors"].append(f"cancel {order.exchange_order_id}: {exc}")
            try:
                left = await account.exchange.fetch_open_orders(None)
                entry["open_orders_left"] = len(left)
            except BastionError as exc:
                entry["open_orders_left"] = None
                entry["errors"].append(f"final check: {exc}")
            entry["revoke"] = list(revoke_instructions(account.key.exchange))
            self._append(
                "outcome",
                {
                    "account": account.name,
                    "op": "panic",
                    "ok": not entry["errors"],
                    "result": {k: v for k, v in entry.items() if k != "revoke"},
                },
                account,
            )
            report.append(entry)
        self.send_witness("panic")
        self.stopping.set()
        return {"accounts": report, "signer": "stopping: secrets purged"}

    async def _purge(self, account: Account) -> None:
        client = account.exchange.client
        for attribute in ("apiKey", "secret", "password"):
            if getattr(client, attribute, None):
                setattr(client, attribute, "")
        account.secrets = ()
        try:
            await account.exchange.close()
        except Exception:
            log.warning("account %s: closing the exchange session failed", account.name)

    async def shutdown(self) -> None:
        """Forget every decrypted secret, sign the audit head and close the log and the vault."""
        for account in list(self.accounts.values()):
            await self._purge(account)
        self.accounts.clear()
        try:
            self._append("lifecycle", {"account": "*", "event": "stopped"})
        except Refusal:  # the log failed: it was alerted, close the rest anyway
            pass
        finally:
            self.audit.close(sign=True)
            self.vault.close()

    # ------------------------------------------------------------------ background

    async def tick(self) -> None:
        """Run what is due: leak checks, permission re-checks, head signing."""
        now = self.clock()
        for account in list(self.accounts.values()):
            if now - account.last_permission_check_ms >= self.options.recheck_interval_s * 1000:
                await self._guarded(account, self.check_permissions)
            if now - account.last_leak_check_ms >= self.options.poll_interval_s * 1000:
                await self._guarded(account, self.check_for_leaks)
        self.audit.sync()
        self.sign_head_if_due()
        if now - self._last_witness_ms >= self.options.witness_interval_s * 1000:
            self.send_witness("hourly")
            self.audit.write_checkpoint()

    async def _guarded(self, account: Account, job: Callable[[Account], Awaitable[Any]]) -> None:
        if account.name not in self.accounts:
            return
        async with account.lock:
            try:
                await job(account)
            except BastionError as exc:
                log.warning("account %s: %s failed: %s", account.name, job.__name__, exc)
                if job == self.check_for_leaks:
                    account.last_leak_check_ms = self.clock()
                else:
                    account.last_permission_check_ms = self.clock()
