from __future__ import annotations

import pytest

from bastion.custody.vault import SealedFormatError, SealedSecret, SecretBinding, SecretIntegrityError
from bastion.errors import ValidationError


def test_binding_aad_is_unambiguous_where_a_string_join_would_collide() -> None:
    a = SecretBinding(account="ab", exchange="c", key_id="k", version=1)
    b = SecretBinding(account="a", exchange="bc", key_id="k", version=1)
    assert a.aad("data") != b.aad("data")
    c = SecretBinding(account="a|b", exchange="c", key_id="k", version=1)
    d = SecretBinding(account="a", exchange="b|c", key_id="k", version=1)
    assert c.aad("data") != d.aad("data")


def test_binding_aad_differs_per_layer_and_per_version() -> None:
    a = SecretBinding(account="a", exchange="x", key_id="k", version=1)
    assert a.aad("wrap") != a.aad("data")
    assert a.aad("data") != SecretBinding(account="a", exchange="x", key_id="k", version=2).aad("data")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"account": ""}, "account must be 1..255"),
        ({"exchange": "x" * 256}, "exchange must be 1..255"),
        ({"key_id": 7}, "key_id must be str"),
        ({"version": 0}, "version must be 1.."),
        ({"version": True}, "version must be int"),
    ],
)
def test_binding_rejects_bad_fields_and_says_what_was_expected(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"account": "a", "exchange": "x", "key_id": "k", "version": 1}
    with pytest.raises(ValidationError, match=message):
        SecretBinding(**{**base, **fields})  # type: ignore[arg-type]


def _sealed() -> SealedSecret:
    return SealedSecret(
        binding=SecretBinding(account="alice", exchange="binance", key_id="k1", version=3),
        kek_id="ab" * 16,
        wrapped_key=b"\x01" * 61,
        nonce=b"\x02" * 12,
        ciphertext=b"\x03" * 40,
    )


def test_sealed_secret_bytes_round_trip() -> None:
    sealed = _sealed()
    assert SealedSecret.from_bytes(sealed.to_bytes()) == sealed


def test_sealed_secret_repr_names_the_row_not_the_bytes() -> None:
    text = repr(_sealed())
    assert "alice/binance/k1@v3" in text
    assert "\\x03" not in text


@pytest.mark.parametrize(
    "data",
    [b"", b"XYZ\x01", b"BVS\x02", _sealed().to_bytes()[:-1], _sealed().to_bytes() + b"\x00"],
    ids=["empty", "bad-magic", "unknown-version", "truncated", "trailing-bytes"],
)
def test_sealed_secret_from_bytes_rejects_malformed_input(data: bytes) -> None:
    with pytest.raises(SealedFormatError):
        SealedSecret.from_bytes(data)


def test_sealed_format_error_is_an_integrity_error() -> None:
    assert issubclass(SealedFormatError, SecretIntegrityError)


def test_sealed_secret_rejects_a_wrong_nonce_length_naming_the_row() -> None:
    with pytest.raises(SealedFormatError, match=r"alice/binance/k1@v3.*nonce must be 12 bytes"):
        SealedSecret(
            binding=SecretBinding(account="alice", exchange="binance", key_id="k1", version=3),
            kek_id="ab" * 16,
            wrapped_key=b"\x01",
            nonce=b"\x02" * 11,
            ciphertext=b"\x03" * 40,
        )
