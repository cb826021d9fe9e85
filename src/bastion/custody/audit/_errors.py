"""The audit log's exceptions (all derive from :class:`bastion.errors.BastionError`).

::

    BastionError
    └── AuditError                      anything the audit log refuses or cannot do
        ├── AuditLockedError            another process has the log open for writing
        ├── AuditKeyMismatch            the log's signed heads were made with another key
        ├── AuditWriteError             an append failed; the log is closed for writing
        └── AuditCorruptError           the log does not verify (carries the VerifyResult)
            └── AuditTruncatedError     entries covered by a signed head are gone
    ValidationError
    └── AuditPayloadError (+AuditError) a payload, kind or timestamp that cannot be logged
        └── AuditSecretError            a payload key that names a secret
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bastion.errors import BastionError, ValidationError

if TYPE_CHECKING:
    from bastion.custody.audit._verify import VerifyResult

__all__ = [
    "AuditCorruptError",
    "AuditError",
    "AuditKeyMismatch",
    "AuditLockedError",
    "AuditPayloadError",
    "AuditSecretError",
    "AuditTruncatedError",
    "AuditWriteError",
]


class AuditError(BastionError):
    """Something the audit log refuses or cannot do."""


class AuditLockedError(AuditError):
    """Another process (or another AuditLog in this one) has the log open for writing."""


class AuditKeyMismatch(AuditError):
    """The log's signed heads carry another public key than the signing key given."""


class AuditWriteError(AuditError):
    """Writing or syncing an entry failed; the log refuses further appends until reopened."""


class AuditCorruptError(AuditError):
    """The log (or its signed heads) does not verify.

    Attributes
    ----------
    result
        The :class:`~bastion.custody.audit.VerifyResult` describing the first problem, when known.
    """

    def __init__(self, message: str, *, result: VerifyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class AuditTruncatedError(AuditCorruptError):
    """A signed head covers entries that are no longer in the log: its tail was removed."""


class AuditPayloadError(AuditError, ValidationError):
    """A payload, kind or timestamp that cannot be logged; the message says what was expected."""


class AuditSecretError(AuditPayloadError):
    """A payload key that names secret material (``secret``, ``apiSecret``, ``password`` ...)."""
