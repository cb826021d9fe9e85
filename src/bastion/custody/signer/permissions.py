"""API key permission checks: read what a key may do from the exchange, and refuse dangerous keys.

The signer refuses a key that can move money off the account (withdrawals, internal or
universal transfers, and the like), that cannot read or cannot trade spot (the bots could not
work), or that a live exchange accepts from any IP address. It checks at connect and again
every day, so a key that gains a permission later is caught.

Where each exchange reports a key's permissions (field names as in the public API docs):

- Binance, ``GET /sapi/v1/account/apiRestrictions``: booleans ``ipRestrict``,
  ``enableReading``, ``enableSpotAndMarginTrading``, ``enableWithdrawals``,
  ``enableInternalTransfer``, ``permitsUniversalTransfer`` (and margin/futures/options flags).
  https://developers.binance.com/docs/wallet/account/api-key-permission
- OKX, ``GET /api/v5/account/config``: ``data[0].perm``, comma-separated ``read_only``,
  ``trade``, ``withdraw``; ``data[0].ip``, comma-separated bound IPs, ``""`` when none.
  https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration
- Bybit, ``GET /v5/user/query-api``: ``result.readOnly`` (0 read-write, 1 read only),
  ``result.permissions`` (``Spot: ["SpotTrade"]``, ``Wallet: ["AccountTransfer",
  "SubMemberTransfer", "SubMemberTransferList", "Withdraw"]``, ``FiatP2P``, ``FiatBybitPay``,
  ...), ``result.ips`` (``["*"]`` when the key is not bound to an IP).
  https://bybit-exchange.github.io/docs/v5/user/apikey-info
- KuCoin, ``GET /api/v1/user/api-key`` ("Get API Key Info"): ``data.permission``,
  comma-separated (``General``, ``Spot``, ``Margin``, ``Futures``, ``Earn``, ``Withdrawal``,
  ``InnerTransfer``, ``FlexTransfers``; older keys ``Trade``, ``Transfer``);
  ``data.ipWhitelist``, comma-separated, empty when none.
  https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-apikey-info
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ccxt

from bastion.errors import ExchangeError, KeyRefused
from bastion.exchanges.ccxt.errors import translate
from bastion.exchanges.port import ApiRestrictions

__all__ = [
    "SUPPORTED_EXCHANGES",
    "assess",
    "check_key",
    "fetch_permissions",
    "parse_binance",
    "parse_bybit",
    "parse_kucoin",
    "parse_okx",
]

#: Exchange ids whose key permissions can be read and assessed.
SUPPORTED_EXCHANGES = ("simulator", "binance", "okx", "bybit", "kucoin")

# The ccxt implicit method that reads the key's permissions, per exchange id.
_METHODS = {
    "simulator": "sapi_get_account_apirestrictions",
    "binance": "sapi_get_account_apirestrictions",
    "okx": "private_get_account_config",
    "bybit": "private_get_v5_user_query_api",
    "kucoin": "private_get_user_api_key",
}

_SECRET_FIELDS = frozenset({"secret", "secretkey", "apisecret", "passphrase", "password", "signature"})
_KEY_FIELDS = frozenset({"apikey", "api_key", "accesskey"})


def _unsupported(exchange_id: str) -> ExchangeError:
    return ExchangeError(
        f"reading API key permissions is not supported for exchange {exchange_id!r}; "
        f"supported exchange ids: {', '.join(SUPPORTED_EXCHANGES)}",
        exchange=exchange_id,
    )


def _redact(value: Any) -> Any:
    """Return ``value`` with secret-like fields dropped and API keys shown as ``****abcd``."""
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for name, item in value.items():
            lowered = str(name).lower()
            if lowered in _SECRET_FIELDS:
                continue
            if lowered in _KEY_FIELDS and isinstance(item, str):
                result[name] = f"****{item[-4:]}" if item else item
            else:
                result[name] = _redact(item)
        return result
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def _flag(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _unwrap(raw: Any, exchange: str, envelope: str | None, expected: str) -> dict[str, Any]:
    """Return the payload object of an exchange answer, given whole or already unwrapped."""
    if not isinstance(raw, Mapping):
        raise ExchangeError(f"{exchange} answered the key-permission query with {type(raw).__name__}; {expected}")
    if envelope is not None and envelope in raw:
        payload = raw[envelope]
        if isinstance(payload, list):
            if len(payload) != 1 or not isinstance(payload[0], Mapping):
                raise ExchangeError(
                    f"{exchange} answered the key-permission query with {len(payload)} entries in "
                    f"{envelope!r}; {expected}"
                )
            payload = payload[0]
        if not isinstance(payload, Mapping):
            raise ExchangeError(
                f"{exchange} answered the key-permission query without an object in {envelope!r}; {expected}"
            )
        return dict(payload)
    return dict(raw)


def _require(payload: Mapping[str, Any], name: str, exchange: str, expected: str) -> Any:
    if name not in payload:
        fields = ", ".join(sorted(str(k) for k in payload)[:12]) or "none"
        raise ExchangeError(
            f"{exchange} answered the key-permission query without {name!r} (fields: {fields}); {expected}"
        )
    return payload[name]


def _csv(value: Any) -> list[str]:
    if value is None:
        return []
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]


def parse_binance(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Binance's ``GET /sapi/v1/account/apiRestrictions`` answer (also the simulator's).

    Raises
    ------
    ExchangeError
        The answer is not an object with ``enableWithdrawals`` and ``ipRestrict``.
    """
    expected = "expected Binance apiRestrictions fields such as enableWithdrawals and ipRestrict"
    payload = _unwrap(raw, "Binance", None, expected)
    for name in ("enableWithdrawals", "ipRestrict"):
        _require(payload, name, "Binance", expected)
    return ApiRestrictions(
        can_read=_flag(payload.get("enableReading")),
        can_trade_spot=_flag(payload.get("enableSpotAndMarginTrading")),
        can_withdraw=_flag(payload.get("enableWithdrawals")),
        can_internal_transfer=_flag(payload.get("enableInternalTransfer")),
        can_universal_transfer=_flag(payload.get("permitsUniversalTransfer")),
        ip_restricted=_flag(payload.get("ipRestrict")),
        raw=_redact(payload),
    )


def parse_okx(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse OKX's ``GET /api/v5/account/config`` answer (whole, or its ``data[0]``).

    ``perm`` is comma-separated ``read_only``, ``trade``, ``withdraw``; ``ip`` lists the bound
    IP addresses, ``""`` when the key is not bound. OKX reports no separate transfer permission.

    Raises
    ------
    ExchangeError
        The answer has no ``perm`` or no ``ip``.
    """
    expected = "expected OKX account config with 'perm' (such as 'read_only,trade') and 'ip'"
    payload = _unwrap(raw, "OKX", "data", expected)
    perms = {p.lower() for p in _csv(_require(payload, "perm", "OKX", expected))}
    ips = _csv(_require(payload, "ip", "OKX", expected))
    return ApiRestrictions(
        can_read="read_only" in perms,
        can_trade_spot="trade" in perms,
        can_withdraw="withdraw" in perms,
        can_internal_transfer=False,
        can_universal_transfer=False,
        ip_restricted=bool(ips),
        raw=_redact(payload),
    )


def _bybit_permissions(payload: Mapping[str, Any]) -> dict[str, list[str]]:
    permissions = payload.get("permissions") or {}
    if not isinstance(permissions, Mapping):
        raise ExchangeError(
            f"Bybit answered 'permissions' as {type(permissions).__name__}; expected an object of lists"
        )
    return {str(group): _csv(items) for group, items in permissions.items()}


def parse_bybit(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Bybit's ``GET /v5/user/query-api`` answer (whole, or its ``result``).

    ``Wallet: Withdraw`` is withdrawal, ``Wallet: SubMemberTransfer``/``SubMemberTransferList``
    internal (master/sub) transfer, ``Wallet: AccountTransfer`` transfer between the account's
    own wallets (reported as universal transfer, as Binance names it). ``ips == ["*"]`` means
    the key is not bound to an IP.

    Raises
    ------
    ExchangeError
        The answer has no ``readOnly``, ``permissions`` or ``ips``.
    """
    expected = "expected Bybit API key info with 'readOnly', 'permissions' and 'ips'"
    payload = _unwrap(raw, "Bybit", "result", expected)
    for name in ("readOnly", "permissions"):
        _require(payload, name, "Bybit", expected)
    permissions = _bybit_permissions(payload)
    wallet = set(permissions.get("Wallet", []))
    ips = [ip for ip in _csv(_require(payload, "ips", "Bybit", expected)) if ip != "*"]
    read_write = str(payload.get("readOnly")).strip() == "0"
    return ApiRestrictions(
        can_read=True,  # every Bybit key can read; readOnly=1 only takes writing away
        can_trade_spot=read_write and "SpotTrade" in permissions.get("Spot", []),
        can_withdraw="Withdraw" in wallet,
        can_internal_transfer=bool(wallet & {"SubMemberTransfer", "SubMemberTransferList"}),
        can_universal_transfer="AccountTransfer" in wallet,
        ip_restricted=bool(ips),
        raw=_redact(payload),
    )


_KUCOIN_WITHDRAW = {"withdrawal", "withdraw", "transfer"}  # "Transfer" is the pre-2023 name of withdrawal
_KUCOIN_INTERNAL = {"innertransfer"}
_KUCOIN_UNIVERSAL = {"flextransfers", "flextransfer"}


def parse_kucoin(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse KuCoin's ``GET /api/v1/user/api-key`` answer (whole, or its ``data``).

    Raises
    ------
    ExchangeError
        The answer has no ``permission``.
    """
    expected = "expected KuCoin API key info with 'permission' (such as 'General,Spot') and 'ipWhitelist'"
    payload = _unwrap(raw, "KuCoin", "data", expected)
    perms = {p.lower() for p in _csv(_require(payload, "permission", "KuCoin", expected))}
    return ApiRestrictions(
        can_read="general" in perms,
        can_trade_spot=bool(perms & {"spot", "trade"}),
        can_withdraw=bool(perms & _KUCOIN_WITHDRAW),
        can_internal_transfer=bool(perms & _KUCOIN_INTERNAL),
        can_universal_transfer=bool(perms & _KUCOIN_UNIVERSAL),
        ip_restricted=bool(_csv(payload.get("ipWhitelist"))),
        raw=_redact(payload),
    )


_PARSERS: dict[str, Callable[[Mapping[str, Any]], ApiRestrictions]] = {
    "simulator": parse_binance,
    "binance": parse_binance,
    "okx": parse_okx,
    "bybit": parse_bybit,
    "kucoin": parse_kucoin,
}


async def fetch_permissions(client: Any, exchange_id: str) -> ApiRestrictions:
    """Ask the exchange what the client's API key may do.

    Parameters
    ----------
    client
        A ccxt client with the key (asyncio or sync), normally guarded by
        :func:`bastion.custody.signer.endpoints.guard_client`.
    exchange_id
        ``"simulator"``, ``"binance"``, ``"okx"``, ``"bybit"`` or ``"kucoin"``.

    Raises
    ------
    ExchangeError
        Unknown exchange id (the message names the supported ones), a ccxt without the query, an
        answer of an unexpected shape, or the exchange's error translated (such as
        AuthenticationFailed).
    """
    if exchange_id not in _METHODS:
        raise _unsupported(exchange_id)
    name = _METHODS[exchange_id]
    method = getattr(client, name, None)
    if method is None:
        raise ExchangeError(
            f"{exchange_id}: this ccxt ({getattr(ccxt, '__version__', '?')}) has no {name}() to read the API key's "
            f"permissions; the key cannot be checked, so it is not used",
            exchange=exchange_id,
        )
    try:
        raw = method()
        if inspect.isawaitable(raw):
            raw = await raw
    except ccxt.BaseError as exc:
        raise translate(exc, client) from None
    result = _PARSERS[exchange_id](raw)
    return result


@dataclass(frozen=True, slots=True)
class _Words:
    """How one exchange names its key settings and where they are."""

    where: str
    withdraw: str
    internal: str
    universal: str
    read: str
    trade: str
    ip: str


_BINANCE_PAGE = (
    "Binance's API Management page (https://www.binance.com/en/my/settings/api-management), Edit restrictions"
)
_OKX_PAGE = "OKX's API page (profile icon > API, https://www.okx.com/account/my-api), Edit"
_BYBIT_PAGE = "Bybit's API Management page (https://www.bybit.com/app/user/api-management), Edit"
_KUCOIN_PAGE = "KuCoin's API Management page (avatar > API Management, https://www.kucoin.com/account/api), Edit"

_WORDS: dict[str, _Words] = {
    "binance": _Words(
        where=_BINANCE_PAGE,
        withdraw='untick "Enable Withdrawals"',
        internal='untick "Enable Internal Transfer"',
        universal='untick "Permits Universal Transfer"',
        read='tick "Enable Reading"',
        trade='tick "Enable Spot & Margin Trading" (spot trading)',
        ip='choose "Restrict access to trusted IPs only (Recommended)" and add the signer\'s IP address',
    ),
    "simulator": _Words(
        where='the key\'s "restrictions" in the simulator keys file (then restart the simulator)',
        withdraw='set "enableWithdrawals" to false (Binance: "Enable Withdrawals")',
        internal='set "enableInternalTransfer" to false (Binance: "Enable Internal Transfer")',
        universal='set "permitsUniversalTransfer" to false (Binance: "Permits Universal Transfer")',
        read='set "enableReading" to true (Binance: "Enable Reading")',
        trade='set "enableSpotAndMarginTrading" to true (Binance: "Enable Spot & Margin Trading")',
        ip='set "ipRestrict" to true',
    ),
    "okx": _Words(
        where=_OKX_PAGE,
        withdraw='untick the "Withdraw" permission',
        internal='untick every permission except "Read" and "Trade"',
        universal='untick every permission except "Read" and "Trade"',
        read='tick the "Read" permission',
        trade='tick the "Trade" permission (spot trading)',
        ip='enter the signer\'s IP address under "IP address" to bind the key to it',
    ),
    "bybit": _Words(
        where=_BYBIT_PAGE,
        withdraw='untick "Wallet > Withdrawal"',
        internal='untick "Wallet > Subaccount Transfer"',
        universal='untick "Wallet > Account Transfer"',
        read="make sure the key is active (every Bybit key can read)",
        trade='choose "Read-Write" and tick the SPOT trade permission (the API reports it as Spot: SpotTrade)',
        ip='choose "Only IPs with permissions granted are allowed to access the OpenAPI" and add the signer\'s IP',
    ),
    "kucoin": _Words(
        where=_KUCOIN_PAGE,
        withdraw='untick the "Withdrawal" permission (older keys: "Transfer")',
        internal='untick the inner transfer permission (the API reports it as "InnerTransfer")',
        universal='untick the "FlexTransfers" permission',
        read='tick the "General" permission',
        trade='tick the "Spot" trading permission',
        ip='enable "IP Restriction" and add the signer\'s IP address',
    ),
}

# Further Bybit permission groups that move money off the account, with their UI names.
_BYBIT_MONEY_OUT = {"FiatP2P": "P2P (FiatP2P)", "FiatBybitPay": "Bybit Pay (FiatBybitPay)"}
_KUCOIN_KNOWN = {"general", "spot", "trade", "margin", "futures", "earn", "leadtradefutures"}


def _extra_reasons(exchange_id: str, perms: ApiRestrictions, words: _Words) -> list[str]:
    """Exchange-specific permissions beyond the common flags that also move money off the account."""
    reasons: list[str] = []
    raw = perms.raw
    if exchange_id == "bybit":
        listed = raw.get("permissions")
        groups = listed if isinstance(listed, Mapping) else {}
        for group, label in _BYBIT_MONEY_OUT.items():
            if _csv(groups.get(group)):
                reasons.append(
                    f"The key has the {label} permission, which can pay money out of the account: "
                    f"on {words.where}, untick {label.split(' (')[0]}."
                )
    elif exchange_id == "kucoin":
        names = _csv(raw.get("permission"))
        mapped = _KUCOIN_KNOWN | _KUCOIN_WITHDRAW | _KUCOIN_INTERNAL | _KUCOIN_UNIVERSAL
        for name in names:
            lowered = name.lower()
            if lowered not in mapped and ("transfer" in lowered or "withdraw" in lowered):
                reasons.append(
                    f'The key has the "{name}" permission, which can move money off the account: '
                    f'on {words.where}, untick "{name}".'
                )
    return reasons


def assess(perms: ApiRestrictions, *, exchange_id: str, allow_unrestricted_ip: bool) -> tuple[str, ...]:
    """Return the reasons to refuse a key, one sentence each; empty when the key is acceptable.

    Refused: any permission that moves money off the account (withdrawals, internal transfer,
    universal transfer and exchange-specific ones such as Bybit P2P), a key that cannot read or
    cannot trade spot, and, on a live exchange (anything but ``simulator``), a key without an IP
    restriction unless ``allow_unrestricted_ip``. Each sentence says which setting to change and
    where, in the exchange's own words.

    Raises
    ------
    ExchangeError
        Unknown exchange id; the message names the supported ones.
    """
    words = _WORDS.get(exchange_id)
    if words is None:
        raise _unsupported(exchange_id)
    reasons: list[str] = []
    if perms.can_withdraw:
        reasons.append(f"Withdrawals are enabled on this key: on {words.where}, {words.withdraw}.")
    if perms.can_internal_transfer:
        reasons.append(
            f"Internal transfer (to other accounts or sub-accounts) is enabled on this key: "
            f"on {words.where}, {words.internal}."
        )
    if perms.can_universal_transfer:
        reasons.append(f"Universal transfer is enabled on this key: on {words.where}, {words.universal}.")
    reasons.extend(_extra_reasons(exchange_id, perms, words))
    if not perms.can_read:
        reasons.append(f"The key cannot read the account, so the bots could not work: on {words.where}, {words.read}.")
    if not perms.can_trade_spot:
        reasons.append(
            f"The key cannot trade spot, so the bots could not work: enable spot trading on {words.where}: "
            f"{words.trade}."
        )
    if exchange_id != "simulator" and not perms.ip_restricted and not allow_unrestricted_ip:
        reasons.append(
            f"The key is not restricted to an IP address, so anyone who steals it can trade from anywhere: "
            f"restrict it to the signer's IP on {words.where}: {words.ip}; or start the signer with "
            f"--allow-unrestricted-ip to accept that risk."
        )
    return tuple(reasons)


def check_key(perms: ApiRestrictions, *, exchange_id: str, allow_unrestricted_ip: bool) -> None:
    """Raise KeyRefused listing every reason :func:`assess` finds; return quietly for a safe key.

    Raises
    ------
    KeyRefused
        With ``reasons`` set to the tuple from :func:`assess`.
    ExchangeError
        Unknown exchange id.
    """
    reasons = assess(perms, exchange_id=exchange_id, allow_unrestricted_ip=allow_unrestricted_ip)
    if reasons:
        listed = "\n".join(f"  {i}. {reason}" for i, reason in enumerate(reasons, 1))
        problems = "1 problem" if len(reasons) == 1 else f"{len(reasons)} problems"
        raise KeyRefused(
            f"the {exchange_id} API key is refused ({problems}):\n{listed}",
            reasons=reasons,
        )
