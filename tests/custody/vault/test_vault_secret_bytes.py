from __future__ import annotations

import copy
import pickle

import pytest

from bastion.custody.vault import SecretBytes, SecretClosedError
from bastion.errors import ValidationError


def test_secret_bytes_repr_and_str_never_show_the_content() -> None:
    secret = SecretBytes(b"hunter2-api-secret")
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}"):
        assert "hunter2" not in text
        assert text == "SecretBytes(****)"


def test_secret_bytes_close_zeroes_the_buffer_in_place() -> None:
    secret = SecretBytes(b"abcdef")
    buffer = secret._buf  # the one copy the holder owns
    secret.close()
    assert buffer == bytearray(6)
    assert secret.closed
    assert repr(secret) == "SecretBytes(closed)"


def test_secret_bytes_context_manager_zeroes_on_exit_even_after_an_error() -> None:
    secret = SecretBytes(b"abcdef")
    buffer = secret._buf
    with pytest.raises(RuntimeError), secret:
        raise RuntimeError("boom")
    assert buffer == bytearray(6)


def test_secret_bytes_reads_after_close_raise() -> None:
    secret = SecretBytes(b"abc")
    secret.close()
    for read in (secret.reveal, secret.reveal_str, secret.view, lambda: len(secret)):
        with pytest.raises(SecretClosedError):
            read()


def test_secret_bytes_view_shows_zeros_after_close() -> None:
    secret = SecretBytes(b"abc")
    view = secret.view()
    assert bytes(view) == b"abc"
    assert view.readonly
    secret.close()
    assert bytes(view) == b"\x00\x00\x00"


def test_secret_bytes_take_zeroes_the_source_buffer() -> None:
    source = bytearray(b"moved-secret")
    secret = SecretBytes.take(source)
    assert source == bytearray(len(b"moved-secret"))
    assert secret.reveal() == b"moved-secret"


def test_secret_bytes_from_str_round_trips_utf8() -> None:
    with SecretBytes.from_str("pässwörd") as secret:
        assert secret.reveal_str() == "pässwörd"


def test_secret_bytes_reveal_str_on_binary_content_does_not_show_it() -> None:
    secret = SecretBytes(b"\xff\xfe\xfd")
    with pytest.raises(ValidationError) as info:
        secret.reveal_str()
    assert "\\xff" not in str(info.value)


def test_secret_bytes_refuse_pickling_and_copying() -> None:
    secret = SecretBytes(b"abc")
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        copy.copy(secret)
    with pytest.raises(TypeError):
        copy.deepcopy(secret)


def test_secret_bytes_compare_by_content_and_are_unhashable() -> None:
    assert SecretBytes(b"abc") == SecretBytes(b"abc")
    assert SecretBytes(b"abc") != SecretBytes(b"abd")
    with pytest.raises(TypeError):
        hash(SecretBytes(b"abc"))


def test_secret_bytes_rejects_non_bytes() -> None:
    with pytest.raises(ValidationError, match="given str"):
        SecretBytes("text")  # type: ignore[arg-type]
