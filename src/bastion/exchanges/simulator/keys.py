"""The simulator's keys file: API keys, their secrets, accounts, balances and restrictions.

The file is a JSON list of entries (a single entry object is accepted too, which is what
``bastion exchange keygen`` prints)::

    [{"api_key": "...64 chars...", "secret": "...", "account": "alice",
      "balances": {"USDT": "10000", "BTC": "1"},
      "restrictions": {"enableWithdrawals": false}, "passphrase": null}]

Several keys may share an account: they see the same balances and orders. A ``passphrase`` is
required by the KuCoin flavor (``serve --flavor kucoin``) and ignored by the Binance one.
Restrictions use Binance's ``GET /sapi/v1/account/apiRestrictions`` field names on both flavors
(the KuCoin front reports them as KuCoin permissions ``General``, ``Spot``, ...); anything not given takes the
safe default (reading and spot trading on, everything dangerous off, no IP restriction).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bastion.errors import ConfigError

__all__ = [
    "DEFAULT_RESTRICTIONS",
    "KEY_PATTERN",
    "KeyEntry",
    "account_balances",
    "generate_entry",
    "load_keys_file",
    "parse_keys",
]

#: apiRestrictions fields and their defaults (``createTime`` is filled in per key).
DEFAULT_RESTRICTIONS: dict[str, bool] = {
    "ipRestrict": False,
    "enableReading": True,
    "enableSpotAndMarginTrading": True,
    "enableWithdrawals": False,
    "enableInternalTransfer": False,
    "permitsUniversalTransfer": False,
    "enableMargin": False,
    "enableFutures": False,
    "enableVanillaOptions": False,
    "enablePortfolioMarginTrading": False,
    "enableFixApiTrade": False,
    "enableFixReadOnly": False,
}
_FIELDS = ("api_key", "secret", "account", "balances", "restrictions", "passphrase")
#: What an API key may look like (Binance keys are 64 letters and digits).
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_ASSET = re.compile(r"^[A-Z0-9]{2,12}$")
_ALNUM = string.ascii_letters + string.digits
_MAX_BALANCE = Decimal(10) ** 15


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyEntry:
    """One API key of the simulator. ``repr`` shows the key's last four characters only."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    account: str
    balances: dict[str, Decimal] = field(default_factory=dict, repr=False)
    restrictions: dict[str, Any] = field(default_factory=dict, repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"KeyEntry(****{self.api_key[-4:]}, account={self.account!r})"

    __str__ = __repr__

    @property
    def hint(self) -> str:
        """Return the key's display form, ``****abcd``."""
        return f"****{self.api_key[-4:]}"

    def allows(self, permission: str) -> bool:
        """Return True if restriction ``permission`` (such as ``enableReading``) is on."""
        return bool(self.restrictions.get(permission, DEFAULT_RESTRICTIONS.get(permission, False)))


def _fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def _balances(value: Any, where: str) -> dict[str, Decimal]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f'"balances" must be an object such as {{"USDT": "10000"}}, got {type(value).__name__}')
    result: dict[str, Decimal] = {}
    for asset, amount in value.items():
        if not isinstance(asset, str) or _ASSET.match(asset) is None:
            raise _fail(where, f"balance asset must be an upper-case code such as 'USDT', got {asset!r}")
        if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
            raise _fail(where, f"balance of {asset} must be a decimal string such as '10000', got {amount!r}")
        try:
            number = Decimal(amount) if not isinstance(amount, Decimal) else amount
        except InvalidOperation:
            raise _fail(where, f"balance of {asset} must be a decimal number, got {amount!r}") from None
        if not number.is_finite() or number < 0 or number >= _MAX_BALANCE:
            raise _fail(
                where, f"balance of {asset} must be a non-negative number below 1e15, such as '10000', got {amount!r}"
            )
        result[asset] = number
    return result


def _restrictions(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, f'"restrictions" must be an object such as {{"enableWithdrawals": false}}, got {value!r}')
    result: dict[str, Any] = {}
    for name, flag in value.items():
        if name == "createTime":
            if isinstance(flag, bool) or not isinstance(flag, int) or flag < 0:
                raise _fail(where, f"restrictions.createTime must be epoch milliseconds (int), got {flag!r}")
        elif name not in DEFAULT_RESTRICTIONS:
            raise _fail(
                where,
                f"unknown restriction {name!r}; expected createTime or one of {', '.join(DEFAULT_RESTRICTIONS)}",
            )
        elif not isinstance(flag, bool):
            raise _fail(where, f"restriction {name} must be true or false, got {flag!r}")
        result[name] = flag
    return result


def _entry(raw: Any, where: str) -> KeyEntry:
    if not isinstance(raw, dict):
        raise _fail(where, f"expected an object with {', '.join(_FIELDS)}, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise _fail(where, f"unknown field(s) {', '.join(unknown)}; expected only {', '.join(_FIELDS)}")
    for name in ("api_key", "secret", "account"):
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise _fail(where, f'"{name}" must be a non-empty string')
    api_key = raw["api_key"]
    if KEY_PATTERN.match(api_key) is None:
        raise _fail(where, "api_key must be 8 to 128 letters, digits, '-' or '_' (Binance keys are 64 letters/digits)")
    passphrase = raw.get("passphrase")
    if passphrase is not None and not isinstance(passphrase, str):
        raise _fail(where, f'"passphrase" must be a string or null, got {type(passphrase).__name__}')
    where = f"{where} (api key ****{api_key[-4:]})"
    return KeyEntry(
        api_key=api_key,
        secret=raw["secret"],
        account=raw["account"],
        balances=_balances(raw.get("balances"), where),
        restrictions=_restrictions(raw.get("restrictions"), where),
        passphrase=passphrase,
    )


def parse_keys(data: Any, source: str = "keys file") -> list[KeyEntry]:
    """Validate decoded keys-file JSON (a list of entries, or one entry) and return the keys.

    Raises
    ------
    ConfigError
        What was wrong, where, and what was expected.
    """
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{source}: expected a JSON list of key entries (or one entry object), got {data!r:.60}")
    entries = [_entry(item, f"{source}: entry {i}") for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    balances: dict[str, tuple[int, dict[str, Decimal]]] = {}
    for i, entry in enumerate(entries):
        if entry.api_key in seen:
            raise ConfigError(
                f"{source}: entries {seen[entry.api_key]} and {i} have the same api_key ****{entry.api_key[-4:]}"
            )
        seen[entry.api_key] = i
        if entry.balances:
            first = balances.get(entry.account)
            if first is not None and first[1] != entry.balances:
                raise ConfigError(
                    f"{source}: entries {first[0]} and {i} both set balances for account {entry.account!r} "
                    f"and they differ; give the balances once per account"
                )
            balances.setdefault(entry.account, (i, entry.balances))
    return entries


def load_keys_file(path: Path | str) -> list[KeyEntry]:
    """Read and validate a keys file (see the module docstring for its format)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read keys file {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"keys file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse_keys(data, f"keys file {str(path)!r}")


def account_balances(entries: list[KeyEntry]) -> dict[str, dict[str, Decimal]]:
    """Return each account's starting balances (accounts without balances start empty)."""
    result: dict[str, dict[str, Decimal]] = {}
    for entry in entries:
        result.setdefault(entry.account, {})
        if entry.balances:
            result[entry.account] = dict(entry.balances)
    return result


def generate_entry(
    account: str, balances: Mapping[str, Decimal | str] | None = None, *, passphrase: bool = False
) -> dict[str, Any]:
    """Return a new keys-file entry with a random 64-character key and secret.

    Parameters
    ----------
    account
        The account the key trades for.
    balances
        Starting balances, such as ``{"USDT": "10000"}``.
    passphrase
        Add a random 32-character passphrase (KuCoin keys have one).
    """
    if not account.strip():
        raise ConfigError("account must be a non-empty name such as 'alice'")
    entry = {
        "api_key": "".join(secrets.choice(_ALNUM) for _ in range(64)),
        "secret": "".join(secrets.choice(_ALNUM) for _ in range(64)),
        "account": account,
        "balances": {asset: str(amount) for asset, amount in (balances or {}).items()},
        "restrictions": dict(DEFAULT_RESTRICTIONS),
    }
    if passphrase:
        entry["passphrase"] = "".join(secrets.choice(_ALNUM) for _ in range(32))
    parse_keys([entry], "generated entry")
    return entry
