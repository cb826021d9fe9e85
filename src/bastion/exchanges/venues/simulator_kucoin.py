"""The local simulator's KuCoin flavor (``bastion exchange serve --flavor kucoin``): ccxt's kucoin on loopback.

Same allowlist, permission query and client-order-id parameter as :mod:`.kucoin`; the front
serves the classic (not hf) account, the key's permissions come from the keys file.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from bastion.exchanges.venues import kucoin
from bastion.exchanges.venues._venue import KeyWords

__all__ = ["VENUE"]

WORDS = KeyWords(
    where='the key\'s "restrictions" in the simulator keys file (then restart the simulator)',
    withdraw='set "enableWithdrawals" to false (KuCoin: the "Withdrawal" permission)',
    internal='set "enableInternalTransfer" to false (KuCoin: "InnerTransfer")',
    universal='set "permitsUniversalTransfer" to false (KuCoin: "Transfer")',
    read='set "enableReading" to true (KuCoin: "General")',
    trade='set "enableSpotAndMarginTrading" to true (KuCoin: "Spot")',
    ip='set "ipRestrict" to true',
)

REVOKE: tuple[str, ...] = (
    "Stop the signer using the key: `bastion keys remove --account NAME`.",
    "Delete the key's entry (its api_key ends with the four characters Bastion shows) from the simulator keys "
    "file given to `bastion exchange serve --flavor kucoin --keys-file`, then restart the simulator: the key is "
    "then unknown to it (KuCoin error 400003).",
    "Review the account's orders and trades: GET /_sim/orders?account=NAME and GET /_sim/trades?account=NAME "
    "on the simulator, and `bastion keys check`.",
    "To go on: make a new entry with `bastion exchange keygen --flavor kucoin`, add it to the keys file, restart "
    "the simulator and add the key with `bastion keys add`.",
)

VENUE = dataclasses.replace(
    kucoin.VENUE,
    id="simulator-kucoin",
    title="the local simulator (KuCoin flavor)",
    options=MappingProxyType(
        {
            **kucoin.OPTIONS,
            "fetchMarkets": {"types": ["spot"], "fetchTickersFees": True},
            "adjustForTimeDifference": False,
        }
    ),
    simulator=True,
    words=WORDS,
    revoke_steps=REVOKE,
    quirks=(*kucoin.VENUE.quirks, "loopback only; classic account; tickers carry the replay's market time"),
)
