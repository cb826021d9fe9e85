from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from bastion.custody.audit import GENESIS_HASH, canonical_json
from bastion.custody.audit._canonical import entry_hash, head_message


def test_canonical_json_sorts_keys_has_no_spaces_and_keeps_utf8() -> None:
    assert canonical_json({"b": 1, "a": ["x", None, True], "c": "€"}) == '{"a":["x",null,true],"b":1,"c":"€"}'.encode()


def test_canonical_json_writes_decimals_as_strings_exactly() -> None:
    assert canonical_json({"p": Decimal("0.00010"), "q": Decimal("1E+3")}) == b'{"p":"0.00010","q":"1E+3"}'


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_canonical_json_refuses_non_finite_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=r"non-finite|not JSON compliant"):
        canonical_json({"x": value})


def test_entry_hash_is_sha256_of_raw_previous_hash_then_body() -> None:
    body = b'{"kind":"request"}'
    assert GENESIS_HASH == "0" * 64
    assert entry_hash(GENESIS_HASH, body) == hashlib.sha256(b"\x00" * 32 + body).hexdigest()


def test_head_message_is_labelled_canonical_json() -> None:
    message = head_message(seq=4, head_hash="ab" * 32, ts_ms=7, offset=100, prev_head="cd" * 32)
    assert message == b"bastion.audit.head.v1\n" + canonical_json(
        {"hash": "ab" * 32, "offset": 100, "prev_head": "cd" * 32, "seq": 4, "ts_ms": 7}
    )
