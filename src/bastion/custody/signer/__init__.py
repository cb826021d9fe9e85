"""The signer process: the only place exchange API secrets are ever decrypted.

Modules: ``server`` (process start-up, Unix socket, peer uid → roles), ``roles`` (which uid may
call which operation, as data), ``hardening`` (not dumpable, passphrase sources, one signer per
home), ``service`` (the RPC: policy,
audit, exchange), ``keys`` and ``policies`` (the user's key and policy operations), ``leak`` (which
orders are ours), ``endpoints`` (the HTTP allowlist), ``permissions`` (API-key permission checks),
``revoke`` (per-exchange revoke steps), ``protocol``, ``rpc`` and ``client`` (the wire format, the
typed requests and answers, and the clients).

The names below are imported on first use, so a process that only talks to the signer
(``bastion.custody.signer.client``) never loads the vault, the audit log or the service.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bastion.custody.signer._model import Refusal, SignerOptions
    from bastion.custody.signer.client import AsyncSignerClient, SignerClient
    from bastion.custody.signer.server import SignerServer, run_signer
    from bastion.custody.signer.service import SignerService

__all__ = [
    "AsyncSignerClient",
    "Refusal",
    "SignerClient",
    "SignerOptions",
    "SignerServer",
    "SignerService",
    "run_signer",
]

_HOME = {
    "AsyncSignerClient": "client",
    "Refusal": "_model",
    "SignerClient": "client",
    "SignerOptions": "_model",
    "SignerServer": "server",
    "SignerService": "service",
    "run_signer": "server",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
