"""Account balances: a free and a locked part per asset, and the fees each account paid.

Several API keys may share one account; the ledger only knows accounts. Every operation checks
that no part goes negative and refuses with Binance's -2010 when the free part is short.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from bastion.exchanges.simulator.apierrors import insufficient_balance

__all__ = ["Ledger"]

_ZERO = Decimal(0)


class Ledger:
    """Balances of every account: ``free`` and ``locked`` Decimal parts per asset."""

    def __init__(self) -> None:
        self._accounts: dict[str, dict[str, list[Decimal]]] = {}
        self._fees: dict[str, dict[str, Decimal]] = {}

    def open_account(self, account: str, balances: Mapping[str, Decimal], assets: Iterable[str] = ()) -> None:
        """Create ``account`` with free ``balances``; ``assets`` are listed with zero balance."""
        entry = self._accounts.setdefault(account, {})
        for asset in assets:
            entry.setdefault(asset, [_ZERO, _ZERO])
        for asset, amount in balances.items():
            if amount < 0:
                raise ValueError(f"account {account!r}: {asset} balance must not be negative, got {amount}")
            entry[asset] = [amount, _ZERO]
        self._fees.setdefault(account, {})

    def has_account(self, account: str) -> bool:
        """Return True if ``account`` exists."""
        return account in self._accounts

    @property
    def accounts(self) -> list[str]:
        """Return the account names."""
        return list(self._accounts)

    def _part(self, account: str, asset: str) -> list[Decimal]:
        entry = self._accounts[account]
        part = entry.get(asset)
        if part is None:
            part = entry[asset] = [_ZERO, _ZERO]
        return part

    def free(self, account: str, asset: str) -> Decimal:
        """Return the free balance of ``asset``."""
        return self._part(account, asset)[0]

    def locked(self, account: str, asset: str) -> Decimal:
        """Return the locked balance of ``asset``."""
        return self._part(account, asset)[1]

    def lock(self, account: str, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from free to locked; -2010 if the free part is short."""
        part = self._part(account, asset)
        if part[0] < amount:
            raise insufficient_balance()
        part[0] -= amount
        part[1] += amount

    def unlock(self, account: str, asset: str, amount: Decimal) -> None:
        """Move ``amount`` from locked back to free."""
        part = self._part(account, asset)
        if part[1] < amount:
            raise AssertionError(f"{account} {asset}: unlock {amount} exceeds locked {part[1]}")
        part[1] -= amount
        part[0] += amount

    def require_free(self, account: str, asset: str, amount: Decimal) -> None:
        """Raise -2010 unless at least ``amount`` of ``asset`` is free."""
        if self._part(account, asset)[0] < amount:
            raise insufficient_balance()

    def spend_free(self, account: str, asset: str, amount: Decimal) -> None:
        """Take ``amount`` out of the free part; -2010 if it is short."""
        part = self._part(account, asset)
        if part[0] < amount:
            raise insufficient_balance()
        part[0] -= amount

    def spend_locked(self, account: str, asset: str, amount: Decimal) -> None:
        """Take ``amount`` out of the locked part (an order's settlement)."""
        part = self._part(account, asset)
        if part[1] < amount:
            raise AssertionError(f"{account} {asset}: spend {amount} exceeds locked {part[1]}")
        part[1] -= amount

    def credit(self, account: str, asset: str, amount: Decimal, *, fee: Decimal = _ZERO) -> None:
        """Add ``amount - fee`` to the free part and record ``fee`` as paid in ``asset``."""
        self._part(account, asset)[0] += amount - fee
        if fee:
            fees = self._fees[account]
            fees[asset] = fees.get(asset, _ZERO) + fee

    def balances(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        """Return ``{asset: (free, locked)}`` for ``account``."""
        return {asset: (part[0], part[1]) for asset, part in self._accounts[account].items()}

    def free_balances(self, account: str) -> dict[str, Decimal]:
        """Return ``{asset: free}`` for ``account``."""
        return {asset: part[0] for asset, part in self._accounts[account].items()}

    def fees_paid(self, account: str) -> dict[str, Decimal]:
        """Return the fees ``account`` paid, per asset."""
        return dict(self._fees[account])
