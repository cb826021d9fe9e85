"""The web process: the REST API (FastAPI) and, later, the dashboard. It holds no exchange secret.

Signal bots' webhooks are ``POST /api/v1/signals/{bot_uuid}`` (:mod:`bastion.web.intake` says
what is checked and which status each refusal gets); ``GET /api/v1/health`` answers when the
process and its database do. ``bastion web`` serves :func:`create_app` with uvicorn on loopback.
"""

from bastion.web.app import MAX_BODY_BYTES, create_app
from bastion.web.intake import MAX_CLOCK_SKEW_MS, IntakeResult, payload_digest, receive_signal
from bastion.web.schemas import AcceptedSignal, Health, Problem, SignalOrder, SignalPayload
from bastion.web.server import bind, is_loopback_host, serve

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CLOCK_SKEW_MS",
    "AcceptedSignal",
    "Health",
    "IntakeResult",
    "Problem",
    "SignalOrder",
    "SignalPayload",
    "bind",
    "create_app",
    "is_loopback_host",
    "payload_digest",
    "receive_signal",
    "serve",
]
