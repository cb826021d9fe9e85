"""The local simulator's Binance flavor (``bastion exchange serve``): ccxt's binance on loopback.

Same allowlist, permission query and client-order-id parameter as :mod:`.binance`; the key's
"restrictions" live in the simulator's keys file, and its tickers carry replay time.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from bastion.exchanges.venues import binance
from bastion.exchanges.venues._venue import KeyWords

__all__ = ["VENUE"]

WORDS = KeyWords(
    where='the key\'s "restrictions" in the simulator keys file (then restart the simulator)',
    withdraw='set "enableWithdrawals" to false (Binance: "Enable Withdrawals")',
    internal='set "enableInternalTransfer" to false (Binance: "Enable Internal Transfer")',
    universal='set "permitsUniversalTransfer" to false (Binance: "Permits Universal Transfer")',
    read='set "enableReading" to true (Binance: "Enable Reading")',
    trade='set "enableSpotAndMarginTrading" to true (Binance: "Enable Spot & Margin Trading")',
    ip='set "ipRestrict" to true',
)

REVOKE: tuple[str, ...] = (
    "Stop the signer using the key: `bastion keys remove --account NAME`.",
    "Delete the key's entry (its api_key ends with the four characters Bastion shows) from the simulator keys "
    "file given to `bastion exchange serve --keys-file`, then restart the simulator: the key is then unknown "
    "to it (error -2015).",
    "Review the account's orders and trades: GET /_sim/orders?account=NAME and GET /_sim/trades?account=NAME "
    "on the simulator, and `bastion keys check`.",
    "To go on: make a new entry with `bastion exchange keygen`, add it to the keys file, restart the simulator "
    "and add the key with `bastion keys add`.",
)

VENUE = dataclasses.replace(
    binance.VENUE,
    id="simulator",
    title="the local simulator (Binance flavor)",
    options=MappingProxyType({**binance.OPTIONS, "adjustForTimeDifference": False}),
    simulator=True,
    words=WORDS,
    revoke_steps=REVOKE,
    quirks=(*binance.VENUE.quirks, "loopback only; tickers carry the replay's market time"),
)
