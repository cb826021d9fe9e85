"""The role tables and the signer configuration, in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.custody.signer.protocol import CONTROL_OPS, TRADING_OPS
from bastion.custody.signer.roles import ROLE_OPS, Role, SignerConfig, refusal_reason
from bastion.errors import ConfigError


def test_the_engine_role_is_exactly_the_trading_operations_ping_and_reading_a_policy():
    assert ROLE_OPS[Role.ENGINE] == TRADING_OPS | {"ping", "policy_show"}
    for op in sorted(TRADING_OPS | {"policy_show"}):
        assert refusal_reason({Role.ENGINE}, op, {}) is None
    for op in sorted(CONTROL_OPS - {"ping", "policy_show"}):
        reason = refusal_reason({Role.ENGINE}, op, {})
        assert reason is not None
        assert f"role engine may not call {op!r}" in reason


def test_the_web_may_set_a_policy_only_without_a_passphrase():
    assert refusal_reason({Role.WEB}, "policy_set", {"account": "a", "changes": {}}) is None
    reason = refusal_reason({Role.WEB}, "policy_set", {"account": "a", "passphrase": "s3cr3t-value"})
    assert reason is not None
    assert "only tighten" in reason
    assert "s3cr3t-value" not in reason  # never echoes a value
    assert refusal_reason({Role.WEB}, "place_order", {}) is not None
    assert refusal_reason({Role.WEB}, "keys_add_sealed", {}) is None  # it relays keys sealed in the browser
    assert refusal_reason({Role.WEB}, "seal_public_key", {}) is None
    assert refusal_reason({Role.WEB}, "keys_add", {}) is not None  # a key in clear: never through the web


def test_the_operator_may_call_anything_and_roles_add_up():
    assert refusal_reason({Role.OPERATOR}, "a_future_op", {"passphrase": "x"}) is None
    assert refusal_reason({Role.ENGINE, Role.WEB}, "policy_show", {}) is None
    assert refusal_reason({Role.ENGINE, Role.WEB}, "place_order", {}) is None
    assert refusal_reason(set(), "ping", {}) == "role none may not call 'ping'; it may call: nothing"


def test_a_configuration_gives_each_uid_its_roles(tmp_path: Path):
    path = tmp_path / "signer.toml"
    path.write_text(
        'socket = "/run/bastion-signer/signer.sock"\n'
        '[[clients]]\nuid = 998\nuser = "bastion"\nroles = ["engine", "web"]\n'
        '[[clients]]\nuid = 0\nroles = ["operator"]\n'
    )
    config = SignerConfig.from_file(path)
    assert config.production
    assert config.roles_of(998) == {Role.ENGINE, Role.WEB}
    assert config.roles_of(0) == {Role.OPERATOR}
    assert config.roles_of(1000) == frozenset()
    assert config.uids == {0, 998}
    assert config.socket == Path("/run/bastion-signer/signer.sock")
    assert not SignerConfig.development(1000).production
    assert SignerConfig.development(1000).roles_of(1000) == {Role.OPERATOR}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected at least one [[clients]] table"),
        ("[[clients]]\nuid = -1\nroles = ['engine']\n", "uid must be a non-negative integer"),
        ("[[clients]]\nuid = 5\nroles = ['root']\n", "unknown role 'root'; expected some of engine, web, operator"),
        ("[[clients]]\nuid = 5\nroles = []\n", "roles must be a non-empty list"),
        ("[[clients]]\nuid = 5\nroles = ['web']\ngroup = 1\n", "unknown key(s) group"),
        ("sockett = '/x'\n[[clients]]\nuid = 5\nroles = ['web']\n", "unknown key(s) sockett"),
        ("socket = 'relative'\n[[clients]]\nuid = 5\nroles = ['web']\n", "socket must be an absolute path"),
        ("[[clients]\n", "is not valid TOML"),
    ],
)
def test_a_bad_configuration_is_refused_with_what_was_expected(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "signer.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        SignerConfig.from_file(path)
    assert expected in str(caught.value)


def test_the_web_may_read_and_verify_the_audit_log_and_the_engine_may_not() -> None:
    for op in ("audit_tail", "audit_verify"):
        assert refusal_reason({Role.WEB}, op, {"accounts": ["a"]}) is None
        assert refusal_reason({Role.ENGINE}, op, {}) is not None


def test_the_web_may_panic_read_balances_and_relay_a_sealed_loosening_but_never_trade_or_unseal() -> None:
    for op in ("panic", "balances", "policy_loosen_sealed"):
        assert refusal_reason({Role.WEB}, op, {"account": "a"}) is None
    for op in ("place_order", "cancel_order", "keys_add", "keys_remove", "ack_findings", "keys_check", "my_trades"):
        assert refusal_reason({Role.WEB}, op, {}) is not None, op
    assert refusal_reason({Role.ENGINE}, "policy_loosen_sealed", {}) is not None
    assert refusal_reason({Role.ENGINE}, "panic", {}) is not None
