"""A backtest's figures: deals, profit, drawdown, capital used, fees; as JSON (decimals as strings).

* ``profit_quote``: the closed deals' profit (fees included, as the engine core computes it);
  ``open_profit_quote``: the open deals' marked at the last close.
* ``max_capital_used``: the most quote that was out of the free balance at once (spent on
  positions or locked in resting buy orders).
* ``profit_pct``: ``profit_quote / max_capital_used``.
* ``max_drawdown_pct``: the largest fall of the marked profit (closed and open, every candle's
  close) from its previous peak, as a share of ``max_capital_used``; computed on float columns
  and rounded to two decimals (a report figure, not money).
* ``fees_quote``: every fee in quote (a fee paid in base at its fill's price).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bastion.backtest.runner import Run, deal_fees
from bastion.engine.core.model import DealSnapshot, DealStatus
from bastion.services.deal_fields import DEAL_FIELDS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["DEAL_FIELDS", "FILL_RULES", "deal_rows", "equity_curve", "report", "summary"]


FILL_RULES = (
    "A bot decides at a candle's open (the previous close's time), knowing only completed candles.",
    "A market order walks the simulator's book of the previous candle: mid at its close, one tick of spread "
    "each side, depth from its volume.",
    "Inside a candle the price moves open -> nearer extreme -> farther extreme -> close (low first on a tie).",
    "A resting limit order fills where that path first reaches it: at its price, or at the open when the "
    "candle opens through it.",
    "After a fill the engine and the bot react at that point; orders they place may fill later on the same path.",
    "Fees are paid in the asset received (base on buys, quote on sells).",
    "Tick, lot step and minimum notional are checked as on the exchange.",
)

_CENT = Decimal("0.01")
#: The figures of :func:`summary` that :func:`report` lists after the deals, in this order.
_FIGURES = ("closed_deals", "open_deals", "profit_quote", "open_profit_quote", "profit_pct", "max_drawdown_pct",
            "max_capital_used", "fees_quote")  # fmt: skip
_Q8 = Decimal("1E-8")


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "value"):
        return value.value
    return value


def _utc(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _snapshots(run: Run) -> list[tuple[DealSnapshot, dict[str, Decimal]]]:
    out = [(a.deal, a.fees) for a in run.archived.values()]
    for deal in run.core.deals.values():
        out.append((deal.snapshot(run.core.orders), deal_fees(run.core, deal)))
    return sorted(out, key=lambda pair: pair[0].id)


def deal_rows(
    run: Run, bot: str, snapshots: list[tuple[DealSnapshot, dict[str, Decimal]]] | None = None
) -> list[dict[str, Any]]:
    """Every deal with the fields of ``bastion deal list --json``, plus ``outcome``, ``cost_quote`` and ``fees``."""
    rows = []
    for snap, fees in _snapshots(run) if snapshots is None else snapshots:
        row = {
            "id": snap.id,
            "bot": bot,
            "pair": snap.pair,
            "status": snap.status.value,
            "direction": snap.direction,
            "base_order_price": snap.base_order_price,
            "safety_orders_filled": snap.safety_orders_filled,
            "avg_price": snap.avg_price,
            "take_profit_price": snap.take_profit_price,
            "close_price": snap.close_price,
            "amount": snap.amount,
            "profit_quote": snap.profit_quote,
            "opened_at": _utc(snap.opened_ms),
            "closed_at": _utc(snap.closed_ms),
            "outcome": None if snap.outcome is None else snap.outcome.value,
            "cost_quote": snap.cost_quote,
            "fees": {k: format(v, "f") for k, v in sorted(fees.items())},
        }
        rows.append({k: _text(v) for k, v in row.items()})
    return rows


def equity_curve(run: Run) -> npt.NDArray[np.float64]:
    """Marked profit (quote) at every candle's close: quote held plus base held at the close, minus the start."""
    import numpy as np

    n = len(run.markets[0].arrays)
    at = np.asarray(run.equity_index, dtype=np.int64)
    # pos[i]: the last record at or before candle i (the first record before it): O(n), no search.
    steps = np.zeros(n, dtype=np.int64)
    np.add.at(steps, at[(at > 0) & (at < n)], 1)
    pos = np.cumsum(steps) + (np.count_nonzero(at <= 0) - 1)
    pos = np.clip(pos, 0, len(at) - 1)
    quote = np.asarray([float(q) for q in run.equity_quote])[pos]
    equity = quote.copy()
    for m in run.markets:
        base = np.asarray([float(b[m.symbol]) for b in run.equity_base])[pos]
        equity += base * m.arrays.close
    start = float(run.balances_start.get(run.quote, Decimal(0)))
    start += sum(
        float(run.balances_start.get(m.rules.base, Decimal(0))) * float(m.arrays.close[0]) for m in run.markets
    )
    return equity - start


def _fees_quote(run: Run) -> Decimal:
    total = Decimal(0)
    for fill in run.fills:
        quote = fill.symbol.split("/")[1]
        total += fill.fee if fill.fee_asset == quote else fill.fee * fill.price
    return total.quantize(_Q8)


def summary(run: Run, snapshots: list[tuple[DealSnapshot, dict[str, Decimal]]] | None = None) -> dict[str, Any]:
    """The run's figures (what a sweep row shows): deals, profit, drawdown, capital and fees, as strings."""
    import numpy as np

    snaps = _snapshots(run) if snapshots is None else snapshots
    closed = [s for s, _ in snaps if s.status is not DealStatus.OPEN]
    profit = sum((s.profit_quote or Decimal(0) for s in closed), Decimal(0))
    open_profit = Decimal(0)
    for deal in run.core.deals.values():
        if not deal.open:
            continue
        figures = deal.figures(run.core.orders)
        market = next(m for m in run.markets if m.symbol == deal.pair)
        last = Decimal(repr(float(market.arrays.close[-1])))
        open_profit += figures.profit_quote(last)
    capital = run.capital_used
    curve = equity_curve(run)
    peak = np.maximum.accumulate(np.maximum(curve, 0.0))
    drawdown = float(np.max(peak - curve)) if curve.size else 0.0
    slot = next(iter(run.core.bots.values()))
    return {
        "bot_status": slot.status.value,
        "bot_reason": slot.reason,
        "closed_deals": len(closed),
        "open_deals": len(snaps) - len(closed),
        "profit_quote": format(profit.quantize(_Q8), "f"),
        "open_profit_quote": format(open_profit.quantize(_Q8), "f"),
        "profit_pct": format((profit / capital * 100).quantize(_CENT) if capital > 0 else Decimal(0), "f"),
        "max_drawdown_pct": format(
            (Decimal(repr(drawdown)) / capital * 100).quantize(_CENT) if capital > 0 else Decimal(0), "f"
        ),
        "max_capital_used": format(capital.quantize(_Q8), "f"),
        "fees_quote": format(_fees_quote(run), "f"),
    }


def report(run: Run, *, bot: str) -> dict[str, Any]:
    """The JSON report of a run (decimals as strings)."""
    snaps = _snapshots(run)
    deals = deal_rows(run, bot, snaps)
    figures = summary(run, snaps)
    first = run.markets[0]
    return {
        "bot": bot,
        "bot_status": figures["bot_status"],
        "bot_reason": figures["bot_reason"],
        "candles": len(first.arrays),
        "timeframe_ms": first.timeframe_ms,
        "start": _utc(int(first.arrays.ts[0])),
        "end": _utc(int(first.arrays.ts[-1]) + first.timeframe_ms),
        "markets": [
            {
                "symbol": m.symbol,
                "file": m.path.name,
                "tick": format(m.rules.tick_size, "f"),
                "step": format(m.rules.step_size, "f"),
                "min_qty": format(m.rules.min_qty, "f"),
                "min_notional": format(m.rules.min_notional, "f"),
                "max_notional": format(m.rules.max_notional, "f"),
            }
            for m in run.markets
        ],
        "fee_pct": format((run.fee_rate * 100).normalize(), "f"),
        "fill_rules": list(FILL_RULES),
        "deals": deals,
        **{k: figures[k] for k in _FIGURES},
        "quote": run.quote,
        "balances_start": {k: format(v, "f") for k, v in sorted(run.balances_start.items())},
        "balances_end": {k: format(v, "f") for k, v in sorted(run.balances_end.items())},
        "events": run.events,
        "decisions": run.decisions,
        "fills": [
            {
                "time": _utc(f.time_ms),
                "candle": f.index,
                "pair": f.symbol,
                "deal": f.deal_id,
                "leg": f.leg,
                "role": f.role,
                "side": f.side,
                "price": format(f.price, "f"),
                "amount": format(f.amount, "f"),
                "fee": format(f.fee, "f"),
                "fee_asset": f.fee_asset,
            }
            for f in run.fills
        ],
        "elapsed_s": round(run.elapsed_s, 4),
        "cpu_s": round(run.cpu_s, 4),
    }
