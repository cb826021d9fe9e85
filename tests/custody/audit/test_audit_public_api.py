from __future__ import annotations

import bastion.custody.audit as audit_pkg
from bastion.custody.audit import AuditError, AuditPayloadError, AuditSecretError, AuditTruncatedError
from bastion.errors import BastionError, ValidationError


def test_audit_public_surface_is_pinned() -> None:
    assert sorted(audit_pkg.__all__) == sorted(
        [
            "EXPORT_FORMAT", "GENESIS_HASH", "SECRET_KEY_NAMES", "AuditCorruptError", "AuditEntry", "AuditError",
            "AuditKeyMismatch", "AuditLockedError", "AuditLog", "AuditPayloadError", "AuditSecretError",
            "AuditTruncatedError", "AuditWriteError", "Checkpoint", "EntryKind", "Problem", "ReplayReport",
            "SignedHead", "VerifyFailure",
            "VerifyResult", "canonical_json", "export", "heads_path_for", "verify", "verify_export",
        ]
    )
    for name in audit_pkg.__all__:
        assert hasattr(audit_pkg, name)


def test_audit_errors_join_the_bastion_tree() -> None:
    assert issubclass(AuditError, BastionError)
    assert issubclass(AuditPayloadError, ValidationError)
    assert issubclass(AuditSecretError, AuditPayloadError)
    assert issubclass(AuditTruncatedError, AuditError)
