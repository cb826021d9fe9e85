"""The signer's read-only audit operations for the web: browse the log, verify it.

In the production layout only the signer's user can read the audit log, so the web asks the
signer (web role). ``audit_tail`` returns entries of the accounts named (the web passes the
accounts of the logged-in user; it checked them), newest last; ``audit_verify`` walks the whole
log and its signed heads against the signer's own public key, as ``bastion audit verify`` does.
Neither changes anything, and the log never holds a secret (appends refuse one).
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bastion.custody.audit import verify
from bastion.custody.signer._model import Refusal
from bastion.custody.signer._parts import SignerParts

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = ["MAX_TAIL", "AuditOps"]

#: The most entries one ``audit_tail`` answers.
MAX_TAIL = 500


def _int(params: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Refusal("bad_request", f"{name} must be an integer within {low}..{high}, got {value!r}")
    return value


def _accounts(params: Mapping[str, Any]) -> frozenset[str] | None:
    value = params.get("accounts")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 1000 or not all(isinstance(v, str) for v in value):
        raise Refusal("bad_request", "accounts must be a list of account names")
    return frozenset(value)


class AuditOps(SignerParts):
    """Audit operations of :class:`~bastion.custody.signer.service.SignerService`."""

    if TYPE_CHECKING:  # provided by SignerService
        _public_key: Ed25519PublicKey

    async def op_audit_tail(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Return up to ``limit`` entries after ``after_seq`` (of ``accounts`` when given) and the signed head."""
        after = _int(params, "after_seq", -1, -1, 2**62)
        limit = _int(params, "limit", 100, 1, MAX_TAIL)
        accounts = _accounts(params)
        entries = await asyncio.to_thread(self._tail, after, limit, accounts)
        head = self.audit.latest_head
        return {
            "entries": entries,
            "head": None if head is None else {"seq": head.seq, "hash": head.hash, "ts_ms": head.ts_ms},
        }

    def _tail(self, after: int, limit: int, accounts: frozenset[str] | None) -> list[dict[str, Any]]:
        kept: deque[dict[str, Any]] = deque(maxlen=limit)
        with self.audit.path.open("rb") as log:
            for line in log:
                if not line.endswith(b"\n"):
                    break  # an append in progress
                entry = json.loads(line)
                if entry["seq"] <= after:
                    continue
                payload = entry.get("payload") or {}
                if accounts is not None and payload.get("account") not in accounts:
                    continue
                kept.append({k: entry[k] for k in ("seq", "ts_ms", "kind", "payload", "hash")})
        return list(kept)

    async def op_audit_verify(self, params: Mapping[str, Any], peer: Mapping[str, int]) -> Any:
        """Verify the whole log and its signed heads against this signer's key; never raises for a bad log."""
        result = await asyncio.to_thread(verify, self.audit.path, self._public_key)
        return {
            "ok": result.ok,
            "entries": result.entries,
            "head_seq": None if result.head is None else result.head.seq,
            "head_hash": None if result.head is None else result.head.hash,
            "unsigned_entries": result.unsigned_entries,
            "failure": None if result.failure is None else str(result.failure),
        }
