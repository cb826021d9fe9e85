"""ccxt adapters: the only way Bastion reaches an exchange."""

from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange, CcxtExchange
from bastion.exchanges.ccxt.errors import translate
from bastion.exchanges.ccxt.factory import SIMULATOR_ID, create_client

__all__ = ["SIMULATOR_ID", "AsyncCcxtExchange", "CcxtExchange", "create_client", "translate"]
