from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.custody.vault import KdfParams, Vault

# Duplicated in the test modules that need it: importing conftest is ambiguous.
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def fast_kdf() -> KdfParams:
    return KdfParams.test()


@pytest.fixture
def vault(tmp_path: Path, fast_kdf: KdfParams) -> Iterator[Vault]:
    with Vault.init(tmp_path / "home", PASSPHRASE, kdf=fast_kdf, allow_weak_kdf=True) as v:
        yield v


@pytest.fixture(scope="module")
def shared_vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vault]:
    """One vault per module, for hypothesis tests (they cannot use function-scoped fixtures)."""
    home = tmp_path_factory.mktemp("shared") / "home"
    with Vault.init(home, PASSPHRASE, kdf=KdfParams.test(), allow_weak_kdf=True) as v:
        yield v
