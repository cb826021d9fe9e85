"""The binding rule: loopback unless TLS (cert and key) and --public; HTTPS with the strict headers."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bastion.errors import ConfigError
from bastion.web.server import load_auth_key, plan_listen


def _pem_pair(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_loopback_needs_nothing_and_anything_else_needs_tls_public_and_an_origin(tmp_path: Path) -> None:
    cert, key = _pem_pair(tmp_path)
    assert plan_listen("127.0.0.1", public=False, tls_cert=None, tls_key=None, origin=None).tls is False
    assert plan_listen("::1", public=False, tls_cert=cert, tls_key=key, origin=None).tls is True
    with pytest.raises(ConfigError, match="is not a loopback address"):
        plan_listen("0.0.0.0", public=False, tls_cert=cert, tls_key=key, origin="https://b.example")  # noqa: S104
    with pytest.raises(ConfigError, match="--public needs TLS"):
        plan_listen("0.0.0.0", public=True, tls_cert=None, tls_key=None, origin="https://b.example")  # noqa: S104
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key go together"):
        plan_listen("0.0.0.0", public=True, tls_cert=cert, tls_key=None, origin="https://b.example")  # noqa: S104
    with pytest.raises(ConfigError, match="--public needs --origin"):
        plan_listen("0.0.0.0", public=True, tls_cert=cert, tls_key=key, origin="http://b.example")  # noqa: S104
    with pytest.raises(ConfigError, match="is not a file"):
        plan_listen("0.0.0.0", public=True, tls_cert=tmp_path / "nope.pem", tls_key=key,  # noqa: S104
                    origin="https://b.example")  # fmt: skip
    public = plan_listen("0.0.0.0", public=True, tls_cert=cert, tls_key=key, origin="https://b.example/")  # noqa: S104
    assert public.origin == "https://b.example"


def test_the_web_key_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "web-auth.key"
    first = load_auth_key(path)
    assert len(first) == 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_auth_key(path) == first
    path.write_bytes(b"short")
    with pytest.raises(ConfigError, match="has 5 bytes; expected 32"):
        load_auth_key(path)


def test_with_tls_the_server_speaks_https_and_sends_hsts(tmp_path: Path) -> None:
    cert, key = _pem_pair(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "BASTION_DATABASE_URL"}
    env["BASTION_HOME"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "bastion", "web", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("listening on https://127.0.0.1:"), line
        url = line.removeprefix("listening on ").strip()
        with httpx.Client(verify=False, trust_env=False, timeout=10) as client:  # noqa: S501 - a throwaway cert
            answer = client.get(f"{url}/api/v1/health")
        assert answer.status_code == 200
        assert answer.headers["strict-transport-security"].startswith("max-age=")
        assert (tmp_path / "web-auth.key").stat().st_mode & 0o777 == 0o600
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
