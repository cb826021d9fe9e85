"""Argon2id parameters for the passphrase KEK, and the one switch that may weaken them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bastion.custody.vault._errors import KdfProfileError
from bastion.errors import ValidationError

__all__ = ["KDF_PROFILE_ENV", "KdfParams", "resolve_kdf_params", "weak_kdf_allowed"]

KDF_PROFILE_ENV = "BASTION_KDF_PROFILE"
"""Environment variable: ``production`` (the default when unset) or ``test``."""

_PROFILES = ("production", "test")

# RFC 9106 section 4, second recommended option: 64 MiB, t=3, p=4, 128-bit salt, 256-bit tag.
_PROD_MEMORY_KIB = 64 * 1024
_PROD_TIME_COST = 3
_PROD_PARALLELISM = 4
_SALT_LEN = 16
_HASH_LEN = 32

# Upper bounds so a modified header cannot make the signer allocate or spin forever.
_MAX_MEMORY_KIB = 4 * 1024 * 1024
_MAX_TIME_COST = 64
_MAX_PARALLELISM = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class KdfParams:
    """Argon2id cost parameters.

    The defaults are RFC 9106's second recommendation (64 MiB memory, 3 passes, 4 lanes,
    16-byte salt, 32-byte output). Anything cheaper is *weak* and is only accepted where the
    caller gives explicit consent (see :func:`weak_kdf_allowed`).

    Parameters
    ----------
    memory_kib
        Memory cost in KiB (at least ``8 * parallelism``, at most 4 GiB).
    time_cost
        Number of passes (1..64).
    parallelism
        Number of lanes (1..64).
    salt_len
        Salt length in bytes; at least 16.
    hash_len
        Output length in bytes; must be 32 (an AES-256 key).
    """

    memory_kib: int = _PROD_MEMORY_KIB
    time_cost: int = _PROD_TIME_COST
    parallelism: int = _PROD_PARALLELISM
    salt_len: int = _SALT_LEN
    hash_len: int = _HASH_LEN

    def __post_init__(self) -> None:
        for name in ("memory_kib", "time_cost", "parallelism", "salt_len", "hash_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"KdfParams.{name} must be int; given {value!r}")
        if not 1 <= self.parallelism <= _MAX_PARALLELISM:
            raise ValidationError(f"KdfParams.parallelism must be 1..{_MAX_PARALLELISM}; given {self.parallelism}")
        if not 8 * self.parallelism <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise ValidationError(
                f"KdfParams.memory_kib must be {8 * self.parallelism}..{_MAX_MEMORY_KIB}; given {self.memory_kib}"
            )
        if not 1 <= self.time_cost <= _MAX_TIME_COST:
            raise ValidationError(f"KdfParams.time_cost must be 1..{_MAX_TIME_COST}; given {self.time_cost}")
        if self.salt_len < _SALT_LEN or self.salt_len > 64:
            raise ValidationError(f"KdfParams.salt_len must be {_SALT_LEN}..64; given {self.salt_len}")
        if self.hash_len != _HASH_LEN:
            raise ValidationError(f"KdfParams.hash_len must be {_HASH_LEN} (an AES-256 key); given {self.hash_len}")

    @classmethod
    def production(cls) -> KdfParams:
        """Return RFC 9106's second recommended parameter set (the default)."""
        return cls()

    @classmethod
    def test(cls) -> KdfParams:
        """Return deliberately weak, fast parameters for tests (8 KiB, 1 pass, 1 lane).

        Using them needs explicit consent: ``allow_weak_kdf=True`` or
        ``BASTION_KDF_PROFILE=test`` (see :func:`weak_kdf_allowed`).
        """
        return cls(memory_kib=8, time_cost=1, parallelism=1)

    @property
    def is_weak(self) -> bool:
        """Whether these parameters are cheaper than the production floor."""
        return self.memory_kib < _PROD_MEMORY_KIB or self.time_cost < _PROD_TIME_COST

    def to_json(self) -> dict[str, Any]:
        """Return the header form (without the salt, which the KEK source adds)."""
        return {
            "name": "argon2id",
            "version": 19,
            "memory_kib": self.memory_kib,
            "time_cost": self.time_cost,
            "parallelism": self.parallelism,
            "hash_len": self.hash_len,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], *, salt_len: int) -> KdfParams:
        """Build parameters from a header's ``kdf`` object.

        Parameters
        ----------
        data
            The mapping written by :meth:`to_json`.
        salt_len
            The length of the stored salt.

        Returns
        -------
        KdfParams
            The validated parameters.

        Raises
        ------
        ValidationError
            If the name, version or any value is not what Bastion writes.
        """
        if data.get("name") != "argon2id" or data.get("version") != 19:
            raise ValidationError(
                f"KDF must be argon2id version 19; given name={data.get('name')!r} version={data.get('version')!r}"
            )
        try:
            return cls(
                memory_kib=data["memory_kib"],
                time_cost=data["time_cost"],
                parallelism=data["parallelism"],
                hash_len=data["hash_len"],
                salt_len=salt_len,
            )
        except KeyError as exc:
            raise ValidationError(f"KDF parameters lack {exc.args[0]!r}; expected memory_kib, time_cost, "
                                  "parallelism and hash_len") from None


def _profile_from_env(environ: Mapping[str, str] | None) -> str:
    env = os.environ if environ is None else environ
    profile = env.get(KDF_PROFILE_ENV, "production")
    if profile not in _PROFILES:
        raise KdfProfileError(f"{KDF_PROFILE_ENV}={profile!r} is not a known profile; expected one of {_PROFILES}")
    return profile


def weak_kdf_allowed(allow_weak_kdf: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Return whether weak (test) KDF parameters may be used or opened.

    Parameters
    ----------
    allow_weak_kdf
        Explicit consent from the caller (tests pass ``True``).
    environ
        The environment to read ``BASTION_KDF_PROFILE`` from; ``os.environ`` when ``None``.

    Returns
    -------
    bool
        ``True`` if ``allow_weak_kdf`` is set or ``BASTION_KDF_PROFILE=test``.

    Raises
    ------
    KdfProfileError
        If ``BASTION_KDF_PROFILE`` holds anything other than ``production`` or ``test``.
    """
    return allow_weak_kdf or _profile_from_env(environ) == "test"


def resolve_kdf_params(
    params: KdfParams | None = None,
    *,
    allow_weak_kdf: bool = False,
    environ: Mapping[str, str] | None = None,
) -> KdfParams:
    """Return the parameters to create a new vault with, refusing weak ones without consent.

    Parameters
    ----------
    params
        Explicit parameters; ``None`` picks the profile from ``BASTION_KDF_PROFILE``
        (``production`` when unset).
    allow_weak_kdf
        Explicit consent to weak parameters.
    environ
        The environment to read; ``os.environ`` when ``None``.

    Returns
    -------
    KdfParams
        The parameters to use.

    Raises
    ------
    KdfProfileError
        If the parameters are weak and neither ``allow_weak_kdf`` nor
        ``BASTION_KDF_PROFILE=test`` consents, or the profile name is unknown.
    """
    profile = _profile_from_env(environ)
    if params is None:
        params = KdfParams.test() if profile == "test" else KdfParams.production()
    if params.is_weak and not (allow_weak_kdf or profile == "test"):
        raise KdfProfileError(
            f"KDF parameters memory_kib={params.memory_kib} time_cost={params.time_cost} are below the production "
            f"floor (memory_kib>={_PROD_MEMORY_KIB}, time_cost>={_PROD_TIME_COST}); pass allow_weak_kdf=True or set "
            f"{KDF_PROFILE_ENV}=test, and only in tests"
        )
    return params
