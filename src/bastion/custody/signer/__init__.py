"""The signer process: the only place exchange API secrets are ever decrypted.

Modules: ``server`` (process start-up, Unix socket, peer uid → roles), ``roles`` (which uid may
call which operation, as data), ``hardening`` (not dumpable, passphrase sources, one signer per
home), ``service`` (the RPC: policy,
audit, exchange), ``keys`` and ``policies`` (the user's key and policy operations), ``leak`` (which
orders are ours), ``endpoints`` (the HTTP allowlist), ``permissions`` (API-key permission checks),
``revoke`` (per-exchange revoke steps), ``protocol`` and ``client`` (the wire format and clients).
"""

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
