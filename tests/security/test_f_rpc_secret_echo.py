"""Finding: a signer refusal must never carry a secret the client sent back into an answer or a log.

The typed RPC parses every request in one place (``bastion.custody.signer.rpc``) and its
refusals quote the bad value so the user can see what was wrong. For a secret field (API key,
secret, password, vault passphrase) that quote would put the secret into the refusal, which the
server sends back, may log, and the CLI prints.
"""

from __future__ import annotations

from typing import Any

import pytest

from bastion.custody.signer import rpc
from bastion.custody.signer._model import Refusal
from bastion.custody.signer.protocol import decode, encode
from bastion.errors import SignerBadRequest

SECRET = "canary-9f8e7d6c5b4a3210"

GOOD: dict[str, Any] = {
    "account": "alice",
    "exchange": "simulator",
    "api_key": "k" * 16,
    "secret": "s" * 32,
    "passphrase": "vault pass",
}


@pytest.mark.parametrize("field", ["api_key", "secret", "password", "passphrase"])
@pytest.mark.parametrize("bad", [[SECRET], {"value": SECRET}, 12345678901234567890])
def test_a_malformed_secret_is_refused_without_echoing_it(field: str, bad: Any) -> None:
    with pytest.raises(SignerBadRequest) as refused:
        rpc.KeysAddRequest.from_wire({**GOOD, field: bad})
    answer = encode({"id": 1, "ok": False, "error": Refusal.from_error(refused.value).to_json()})
    assert field in str(refused.value)  # it still says which parameter was wrong
    for shown in (str(refused.value), repr(refused.value), decode(answer[4:]).__repr__()):
        assert SECRET not in shown
        assert "12345678901234567890" not in shown


def test_a_misspelt_secret_field_is_named_but_its_value_is_not_shown() -> None:
    with pytest.raises(SignerBadRequest, match="does not take api_secret") as refused:
        rpc.KeysAddRequest.from_wire({**GOOD, "api_secret": SECRET})
    assert SECRET not in str(refused.value)


def test_a_request_with_secrets_prints_none_of_them() -> None:
    request = rpc.KeysAddRequest.from_wire({**GOOD, "password": SECRET})
    for secret in (SECRET, "k" * 16, "s" * 32, "vault pass"):
        assert secret not in repr(request)
    changes = rpc.PolicySetRequest(account="alice", changes={"pairs": ["BTC/USDT"]}, passphrase=SECRET)
    assert SECRET not in repr(changes)
