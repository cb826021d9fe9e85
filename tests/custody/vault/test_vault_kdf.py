from __future__ import annotations

import json
from pathlib import Path

import pytest

from bastion.custody.vault import KdfParams, KdfProfileError, PassphraseKek, Vault, VaultFormatError
from bastion.custody.vault._kdf import resolve_kdf_params, weak_kdf_allowed
from bastion.errors import ValidationError


def test_production_defaults_meet_rfc_9106_second_recommendation() -> None:
    params = KdfParams.production()
    assert params == KdfParams()
    assert params.memory_kib == 64 * 1024
    assert params.time_cost == 3
    assert params.parallelism == 4
    assert params.salt_len == 16
    assert params.hash_len == 32
    assert not params.is_weak


def test_test_profile_is_weak() -> None:
    assert KdfParams.test().is_weak


def test_weak_params_are_refused_without_consent() -> None:
    with pytest.raises(KdfProfileError, match="allow_weak_kdf=True"):
        resolve_kdf_params(KdfParams.test(), environ={})


def test_weak_params_are_accepted_with_explicit_consent() -> None:
    assert resolve_kdf_params(KdfParams.test(), allow_weak_kdf=True, environ={}) == KdfParams.test()


def test_env_profile_test_selects_and_allows_weak_params() -> None:
    assert resolve_kdf_params(None, environ={"BASTION_KDF_PROFILE": "test"}) == KdfParams.test()
    assert weak_kdf_allowed(environ={"BASTION_KDF_PROFILE": "test"})


def test_default_profile_is_production_when_env_is_unset() -> None:
    assert resolve_kdf_params(None, environ={}) == KdfParams.production()
    assert not weak_kdf_allowed(environ={})


def test_unknown_env_profile_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(KdfProfileError, match="'prod'"):
        resolve_kdf_params(None, environ={"BASTION_KDF_PROFILE": "prod"})


def test_vault_init_refuses_weak_params_without_consent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_KDF_PROFILE", raising=False)
    with pytest.raises(KdfProfileError):
        Vault.init(tmp_path, "pw", kdf=KdfParams.test())
    assert not Vault.exists(tmp_path)


def test_vault_init_honours_the_env_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    Vault.init(tmp_path, "pw").close()
    kdf = json.loads((tmp_path / "vault.json").read_text())["kek"]["kdf"]
    assert kdf["memory_kib"] == KdfParams.test().memory_kib


def test_production_signer_refuses_to_open_a_test_strength_vault(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Vault.init(tmp_path, "pw", kdf=KdfParams.test(), allow_weak_kdf=True).close()
    monkeypatch.delenv("BASTION_KDF_PROFILE", raising=False)
    with pytest.raises(KdfProfileError, match="refusing to open"):
        Vault.open(tmp_path, "pw")
    Vault.open(tmp_path, "pw", allow_weak_kdf=True).close()


def test_header_with_absurd_memory_cost_is_refused_before_deriving(tmp_path: Path) -> None:
    Vault.init(tmp_path, "pw", kdf=KdfParams.test(), allow_weak_kdf=True).close()
    path = tmp_path / "vault.json"
    header = json.loads(path.read_text())
    header["kek"]["kdf"]["memory_kib"] = 2**40
    path.write_text(json.dumps(header))
    with pytest.raises(VaultFormatError, match="memory_kib"):
        Vault.open(tmp_path, "pw", allow_weak_kdf=True)


@pytest.mark.parametrize(
    "fields",
    [{"hash_len": 16}, {"salt_len": 8}, {"parallelism": 0}, {"memory_kib": 7}, {"time_cost": 0}, {"time_cost": 1.5}],
)
def test_kdf_params_validate_ranges(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        KdfParams(**fields)  # type: ignore[arg-type]


def test_constructing_a_passphrase_kek_directly_with_weak_params_needs_consent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BASTION_KDF_PROFILE", raising=False)
    with pytest.raises(KdfProfileError):
        PassphraseKek("pw", KdfParams.test(), b"\x00" * 16)
    PassphraseKek("pw", KdfParams.test(), b"\x00" * 16, allow_weak_kdf=True).close()
