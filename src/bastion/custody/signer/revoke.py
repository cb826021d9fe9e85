"""How to revoke an exchange API key by hand: the steps ``bastion panic`` and the leak alerts print.

Bastion cannot delete a key for you: no key-management endpoint is on the signer's allowlist
(and Bybit, for one, lets a key delete itself only when it holds a transfer or withdrawal
permission, which Bastion refuses). The steps follow the exchanges' public help pages
(Binance and KuCoin "API Management"; OKX "API" under the profile icon; Bybit "How to Delete
Your API Key").
"""

from __future__ import annotations

import re

__all__ = ["revoke_instructions"]

_CHECK = (
    "Run `bastion keys check`: it lists orders on the exchange that Bastion did not send. Then review the spot "
    "order and trade history and the wallet's withdrawal and transfer history for anything you do not recognise."
)
_CANCEL = "In the website's Orders menu, open the spot open orders and cancel every order you did not place."
_RECREATE = (
    "Only if you keep trading there: create a new key with {perms} only, bind it to the signer's "
    "IP address ({ip}), and add it with `bastion keys add`."
)

_STEPS: dict[str, tuple[str, ...]] = {
    "binance": (
        "Log in at https://www.binance.com and open Account > API Management "
        "(https://www.binance.com/en/my/settings/api-management).",
        "Find the key (Bastion shows its last four characters, such as ****abcd), click Delete and confirm with "
        "your two-factor code. Delete it; do not only edit its restrictions.",
        _CANCEL,
        _CHECK,
        _RECREATE.format(
            perms='"Enable Reading" and "Enable Spot & Margin Trading"',
            ip='"Restrict access to trusted IPs only (Recommended)"',
        ),
    ),
    "okx": (
        "Log in at https://www.okx.com, click the profile icon and choose API (https://www.okx.com/account/my-api).",
        "Find the key by its API key name and its last four characters, click Delete and confirm with your "
        "verification codes.",
        _CANCEL,
        _CHECK,
        _RECREATE.format(perms='the "Read" and "Trade" permissions', ip='the "IP address" field'),
    ),
    "bybit": (
        "Log in on the Bybit website (keys cannot be deleted in the app) and open your username > Account & "
        "Security > API Management (https://www.bybit.com/app/user/api-management).",
        "Find the key by its last four characters, click Delete in the Action column and Confirm.",
        _CANCEL,
        _CHECK,
        _RECREATE.format(
            perms='"Read-Write" and the SPOT trade permission',
            ip='"Only IPs with permissions granted are allowed to access the OpenAPI"',
        ),
    ),
    "kucoin": (
        "Log in at https://www.kucoin.com, click the avatar and choose API Management "
        "(https://www.kucoin.com/account/api).",
        "Find the key by its name and its last four characters, click Delete and complete the security "
        "verification (trading password, email and Google codes).",
        _CANCEL,
        _CHECK,
        _RECREATE.format(perms='the "General" and "Spot" permissions', ip='"IP Restriction"'),
    ),
    "simulator": (
        "Stop the signer using the key: `bastion keys remove --account NAME`.",
        "Delete the key's entry (its api_key ends with the four characters Bastion shows) from the simulator keys "
        "file given to `bastion exchange serve --keys-file`, then restart the simulator: the key is then unknown "
        "to it (error -2015).",
        "Review the account's orders and trades: GET /_sim/orders?account=NAME and GET /_sim/trades?account=NAME "
        "on the simulator, and `bastion keys check`.",
        "To go on: make a new entry with `bastion exchange keygen`, add it to the keys file, restart the simulator "
        "and add the key with `bastion keys add`.",
    ),
}

_SAFE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def _website(exchange_id: str) -> str | None:
    try:
        import ccxt

        if exchange_id not in ccxt.exchanges:
            return None
        www = getattr(ccxt, exchange_id)().urls.get("www")
    except Exception:  # a ccxt class that cannot even be built offline: no URL, the steps stay valid
        return None
    return www if isinstance(www, str) and www.startswith("https://") else None


def _generic(exchange_id: str) -> tuple[str, ...]:
    name = exchange_id if _SAFE_ID.match(exchange_id) else "the exchange"
    website = _website(exchange_id) if name != "the exchange" else None
    where = f"{name}'s website ({website})" if website else f"{name}'s website"
    return (
        f"Log in on {where} and open its API key management page (usually under Account, Security or API Management).",
        "Find the key by its last four characters (Bastion shows ****abcd), delete it and confirm; deleting is "
        "final, disabling or editing is not enough.",
        _CANCEL,
        _CHECK,
        _RECREATE.format(perms="read and spot-trading permissions", ip="the key's IP restriction or whitelist"),
    )


def revoke_instructions(exchange_id: str) -> tuple[str, ...]:
    """Return numbered steps to delete an API key on ``exchange_id`` and check what it did.

    Binance, OKX, Bybit, KuCoin and the simulator get their own steps (pages, buttons, where to
    look for orders); any other id gets generic steps naming the exchange's website when ccxt
    knows it.

    Parameters
    ----------
    exchange_id
        ``"binance"``, ``"okx"``, ``"bybit"``, ``"kucoin"``, ``"simulator"`` or another ccxt id.
    """
    steps = _STEPS.get(exchange_id) or _generic(exchange_id)
    return tuple(f"{i}. {step}" for i, step in enumerate(steps, 1))
