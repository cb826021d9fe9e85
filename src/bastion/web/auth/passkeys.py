"""Passkeys (WebAuthn, the ``webauthn`` library): register one, and use one as the second factor.

The challenge lives in the session row (one at a time, five minutes); the browser's answer must
come from one of this server's origins and name its relying party id, so a page on another
origin (a phishing clone) gets nothing it can use. Attestation ``none``: the key is trusted
on first registration, which needs a fresh second factor once the user has one.
"""

from __future__ import annotations

import json
from typing import Any

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bastion.errors import ValidationError
from bastion.storage.repositories.users import PasskeyRecord, WebSessionRepository
from bastion.web.auth.context import ActiveSession, AuthContext
from bastion.web.auth.login import LoginRefused

__all__ = ["authentication_options", "registration_options", "verify_authentication", "verify_registration"]

REGISTER = "register"
AUTHENTICATE = "authenticate"


def _descriptors(keys: list[PasskeyRecord]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for key in keys:
        transports = []
        for name in key.transports:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        out.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(key.credential_id), transports=transports))
    return out


def _remember(context: AuthContext, active: ActiveSession, challenge: bytes, kind: str) -> None:
    with context.sessions.begin() as s:
        WebSessionRepository(s).set_challenge(active.record.id, bytes_to_base64url(challenge), kind, context.now())


def _take_challenge(context: AuthContext, active: ActiveSession, kind: str) -> bytes:
    """Return the session's pending challenge of ``kind`` and forget it (one answer per challenge)."""
    with context.sessions.begin() as s:
        sessions = WebSessionRepository(s)
        record = sessions.find_by_id(active.record.id)
        if record is not None:
            sessions.set_challenge(record.id, None, None, None)
    if (
        record is None
        or record.challenge is None
        or record.challenge_kind != kind
        or record.challenge_at is None
        or context.now() - record.challenge_at > context.settings.challenge_ttl
    ):
        raise LoginRefused(400, f"no passkey {kind} challenge is pending for this session (or it expired); "
                                f"ask for new options first")  # fmt: skip
    return base64url_to_bytes(record.challenge)


def registration_options(context: AuthContext, active: ActiveSession) -> dict[str, Any]:
    """Return ``PublicKeyCredentialCreationOptions`` (JSON) for a new passkey of the session's user."""
    with context.sessions() as s:
        existing = WebSessionRepository(s).passkeys(active.user.id)
    options = generate_registration_options(
        rp_id=context.settings.rp_id,
        rp_name=context.settings.rp_name,
        user_name=active.user.name,
        user_id=f"bastion-user-{active.user.id}".encode(),
        exclude_credentials=_descriptors(existing),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
    )
    _remember(context, active, options.challenge, REGISTER)
    return dict(json.loads(options_to_json(options)))


def verify_registration(
    context: AuthContext, active: ActiveSession, credential: dict[str, Any], label: str | None
) -> PasskeyRecord:
    """Check the browser's registration answer and store the passkey.

    Raises
    ------
    LoginRefused
        400 no pending challenge, or the answer does not verify (wrong origin, RP id, challenge...).
    """
    challenge = _take_challenge(context, active, REGISTER)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=context.settings.rp_id,
            expected_origin=list(context.settings.origins),
        )
    except Exception as error:
        raise LoginRefused(400, f"the passkey registration does not verify: {_reason(error)}") from None
    response = credential.get("response")
    transports = response.get("transports") if isinstance(response, dict) else None
    names = tuple(str(t) for t in transports)[:8] if isinstance(transports, list) else ()
    with context.sessions.begin() as s:
        try:
            return WebSessionRepository(s, clock=context.now).add_passkey(
                active.user.id,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=names,
                label=(label or "passkey").strip()[:64] or "passkey",
            )
        except ValidationError as error:  # a credential id registered before
            raise LoginRefused(409, str(error)) from None


def authentication_options(context: AuthContext, active: ActiveSession) -> dict[str, Any]:
    """Return ``PublicKeyCredentialRequestOptions`` (JSON) allowing the session user's passkeys.

    Raises
    ------
    LoginRefused
        409 the user has no passkey.
    """
    with context.sessions() as s:
        keys = WebSessionRepository(s).passkeys(active.user.id)
    if not keys:
        raise LoginRefused(409, "this user has no passkey; register one, or use a TOTP code")
    options = generate_authentication_options(
        rp_id=context.settings.rp_id,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember(context, active, options.challenge, AUTHENTICATE)
    return dict(json.loads(options_to_json(options)))


def verify_authentication(context: AuthContext, active: ActiveSession, credential: dict[str, Any]) -> None:
    """Check the browser's assertion against one of the session user's passkeys; count it used.

    Raises
    ------
    LoginRefused
        400 no pending challenge; 401 not one of this user's passkeys, or it does not verify
        (origin, RP id, challenge, signature, a signature counter that went back).
    """
    challenge = _take_challenge(context, active, AUTHENTICATE)
    raw = credential.get("rawId") or credential.get("id")
    with context.sessions() as s:
        key = WebSessionRepository(s).passkey(raw) if isinstance(raw, str) else None
    if key is None or key.user_id != active.user.id:
        raise LoginRefused(401, "this passkey is not registered for this user")
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=context.settings.rp_id,
            expected_origin=list(context.settings.origins),
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
        )
    except Exception as error:
        raise LoginRefused(401, f"the passkey answer does not verify: {_reason(error)}") from None
    with context.sessions.begin() as s:
        WebSessionRepository(s).passkey_used(key.id, sign_count=verified.new_sign_count, when=context.now())


def _reason(error: BaseException) -> str:
    text = str(error).split(". See __cause__")[0]
    return text[:200] or type(error).__name__
