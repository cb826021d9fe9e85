"""Strict security headers on every answer: pages, API, refusals, the OpenAPI document."""

from __future__ import annotations

from support.webapp import WebApp


def test_every_answer_carries_the_strict_headers(web: WebApp) -> None:
    client = web.client()
    for path in ("/api/v1/health", "/openapi.json", "/api/v1/auth/whoami", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert "'unsafe-eval'" not in csp
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in headers  # plain HTTP on loopback
    assert client.get("/api/v1/auth/whoami").headers["cache-control"] == "no-store"
