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


def test_a_body_over_256_kib_is_refused_before_any_route_reads_it(web: WebApp) -> None:
    client = web.client()
    big = {"name": "a", "password": "x" * (300 * 1024)}
    answer = client.post("/api/v1/auth/login", json=big)
    assert answer.status_code == 413
    assert "expected at most 262144" in answer.json()["detail"]
    assert answer.headers["x-frame-options"] == "DENY"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 8192  # no Content-Length: counted as it arrives

    streamed = client.post("/api/v1/auth/login", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    small = client.post("/api/v1/auth/login", json={"name": "nobody", "password": "x" * 20})
    assert small.status_code == 401  # the body reached the route intact
