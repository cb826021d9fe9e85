"""Request and answer bodies of ``/api/v1/auth/...`` (pydantic; they make the OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FactorAnswer",
    "LoginAnswer",
    "PasskeyAnswer",
    "PasskeyVerify",
    "PasswordLogin",
    "SessionAnswer",
    "TotpCode",
    "TotpEnrolment",
]

Factor = Literal["passkey", "totp"]


class PasswordLogin(BaseModel):
    """The password step."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class LoginAnswer(BaseModel):
    """After the password step: ``second_factor`` (give a passkey or TOTP code next) or ``full``."""

    stage: Literal["second_factor", "full"]
    factors: list[Factor]
    csrf_token: str


class FactorAnswer(BaseModel):
    """After a second factor: the session is complete (its CSRF token is new when the login just finished)."""

    stage: Literal["full"]
    csrf_token: str


class SessionAnswer(BaseModel):
    """The session: who, at which stage, its CSRF token, and whether a second factor is fresh."""

    id: int
    name: str
    role: Literal["admin", "trader", "viewer"]
    phrase: str
    stage: Literal["second_factor", "full"]
    factors: list[Factor]
    csrf_token: str
    fresh_factor: bool


class TotpCode(BaseModel):
    """A six-digit code from the authenticator app."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$")


class TotpEnrolment(BaseModel):
    """A new TOTP secret, shown once: scan ``uri`` (or type ``secret``), then confirm with a code."""

    secret: str
    uri: str


class PasskeyVerify(BaseModel):
    """The browser's answer (``PublicKeyCredential`` as JSON, as @simplewebauthn/browser returns it)."""

    model_config = ConfigDict(extra="forbid")

    credential: dict[str, Any]
    label: str | None = Field(default=None, max_length=64)


class PasskeyAnswer(BaseModel):
    """A registered passkey (never its key material)."""

    id: int
    label: str
    created_at: str
    last_used_at: str | None
