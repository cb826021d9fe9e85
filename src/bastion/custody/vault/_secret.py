"""A holder for decrypted secret material that never shows it and zeroes it on close.

What this can and cannot do in CPython
--------------------------------------
The content lives in one private ``bytearray`` that :meth:`SecretBytes.close` overwrites
with zeros in place. That removes *this* copy from memory, nothing more:

- ``bytes`` and ``str`` objects are immutable; CPython offers no way to wipe them. Every
  :meth:`SecretBytes.reveal` / :meth:`SecretBytes.reveal_str` call (ccxt wants ``str``
  secrets) makes such a copy, and it stays in freed heap memory until reused.
- Libraries make their own copies (OpenSSL key schedules, argon2-cffi's input buffer,
  ``os.urandom`` results) that Python cannot reach.
- The OS may have swapped the page out, or put it in a core dump.

Zeroing is defence in depth (fewer, shorter-lived copies), not a guarantee. The process
boundary (only the signer ever decrypts) is the real protection.
"""

from __future__ import annotations

import hmac
from types import TracebackType
from typing import NoReturn, Self

from bastion.custody.vault._errors import SecretClosedError
from bastion.errors import ValidationError

__all__ = ["SecretBytes", "zero"]


def zero(buf: bytearray | memoryview) -> None:
    """Overwrite a writable buffer with zeros in place.

    Parameters
    ----------
    buf
        A ``bytearray`` or writable ``memoryview``; its length does not change.
    """
    n = len(buf)
    if n:
        buf[:] = bytes(n)


class SecretBytes:
    """Secret bytes that print as ``SecretBytes(****)`` and are zeroed on :meth:`close`.

    Use it as a context manager so the content is zeroed however the block ends::

        with vault.unseal(sealed, binding) as secret:
            client = make_client(secret.reveal_str())

    Equality is constant-time; instances are unhashable and refuse to be pickled.
    See the module docstring for what zeroing cannot reach.

    Parameters
    ----------
    data
        The content. It is copied; a ``bytearray`` given here is **not** zeroed (use
        :meth:`take` to move a buffer in and wipe the original).
    """

    __slots__ = ("_buf", "_closed")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValidationError(f"SecretBytes takes bytes, bytearray or memoryview; given {type(data).__name__}")
        self._buf = bytearray(data)
        self._closed = False

    @classmethod
    def take(cls, buf: bytearray) -> SecretBytes:
        """Copy ``buf`` into a new holder and zero ``buf``.

        Parameters
        ----------
        buf
            The buffer to move in; it is all zeros afterwards.

        Returns
        -------
        SecretBytes
            The holder that now owns the only copy made here.
        """
        if not isinstance(buf, bytearray):
            raise ValidationError(f"SecretBytes.take needs a bytearray it can zero; given {type(buf).__name__}")
        secret = cls(buf)
        zero(buf)
        return secret

    @classmethod
    def from_str(cls, text: str) -> SecretBytes:
        """Encode ``text`` as UTF-8 into a new holder (the ``str`` itself cannot be wiped).

        Parameters
        ----------
        text
            The secret text, e.g. an exchange API secret.

        Returns
        -------
        SecretBytes
            The UTF-8 bytes of ``text``.
        """
        if not isinstance(text, str):
            raise ValidationError(f"SecretBytes.from_str takes str; given {type(text).__name__}")
        return cls.take(bytearray(text.encode("utf-8")))

    def _check_open(self) -> bytearray:
        if self._closed:
            raise SecretClosedError("this SecretBytes was closed and zeroed; expected an open one")
        return self._buf

    def view(self) -> memoryview:
        """Return a read-only view of the content without copying it.

        Returns
        -------
        memoryview
            Valid until :meth:`close`, which zeroes the bytes it shows.
        """
        return memoryview(self._check_open()).toreadonly()

    def reveal(self) -> bytes:
        """Return an immutable ``bytes`` copy of the content (cannot be wiped later).

        Returns
        -------
        bytes
            A copy of the content.
        """
        return bytes(self._check_open())

    def reveal_str(self) -> str:
        """Return the content decoded as UTF-8 (an immutable copy that cannot be wiped).

        Returns
        -------
        str
            The decoded content.

        Raises
        ------
        ValidationError
            If the content is not valid UTF-8 (the message does not show it).
        """
        try:
            return self._check_open().decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationError(
                f"secret of {len(self._buf)} bytes is not valid UTF-8 text; expected UTF-8"
            ) from None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has zeroed the content."""
        return self._closed

    def close(self) -> None:
        """Zero the content in place; later reads raise :class:`SecretClosedError`."""
        zero(self._buf)
        self._closed = True

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._check_open())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretBytes):
            return NotImplemented
        return hmac.compare_digest(self._check_open(), other._check_open())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "SecretBytes(closed)" if self._closed else "SecretBytes(****)"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("SecretBytes cannot be pickled or copied; keep secrets inside the signer process")

    def __copy__(self) -> NoReturn:
        raise TypeError("SecretBytes cannot be copied; pass the holder itself")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("SecretBytes cannot be copied; pass the holder itself")

    def __del__(self) -> None:
        # Best effort: zero the buffer when the holder is collected without close().
        buf = getattr(self, "_buf", None)
        if buf is not None:
            zero(buf)
