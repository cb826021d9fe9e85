"""The web login: users (Argon2id), passkeys (WebAuthn), TOTP, sessions, CSRF, roles, step-up, headers.

Routes code against :mod:`bastion.web.auth.deps` (``current_user``, ``require_role``,
``require_csrf``, ``require_fresh_factor``, ``csrf_token_for``).
"""

from bastion.web.auth.context import ActiveSession, AuthContext, WebUser
from bastion.web.auth.headers import CSP, SecurityHeaders
from bastion.web.auth.settings import AuthSettings

__all__ = ["CSP", "ActiveSession", "AuthContext", "AuthSettings", "SecurityHeaders", "WebUser"]
