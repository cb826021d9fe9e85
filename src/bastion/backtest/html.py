"""The HTML report: one file that opens offline (inline SVG and CSS, no script, nothing fetched).

A candle chart (at most :data:`COLUMNS` columns: candles are merged when there are more) with a
marker per fill (entry, safety, take-profit, stop, grid, exit), the marked profit curve, and the
deal table.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from bastion.backtest.report import equity_curve

if TYPE_CHECKING:
    from bastion.backtest.runner import Run

__all__ = ["COLUMNS", "html_report"]

COLUMNS = 600
_MARKERS = 3000
_ROWS = 1000
_W, _H, _PAD = 1200, 360, 50
_COLOURS = {
    "entry": "#1a9850",
    "safety": "#2b83ba",
    "add_funds": "#2b83ba",
    "take_profit": "#f46d43",
    "trailing": "#f46d43",
    "stop_loss": "#d73027",
    "exit": "#762a83",
    "grid": "#777777",
}


def _scale(lo: float, hi: float, top: float, height: float) -> Any:
    span = hi - lo or 1.0

    def y(value: float) -> float:
        return top + height - (value - lo) / span * height

    return y


def _candles_svg(run: Run, summary: dict[str, Any]) -> str:
    import numpy as np

    m = run.markets[0]
    a = m.arrays
    n = len(a)
    group = max(1, -(-n // COLUMNS))
    starts = np.arange(0, n, group)
    o = a.open[starts]
    h = np.maximum.reduceat(a.high, starts)
    low = np.minimum.reduceat(a.low, starts)
    c = a.close[np.r_[starts[1:] - 1, n - 1]]
    cols = len(starts)
    lo, hi = float(low.min()), float(h.max())
    y = _scale(lo, hi, 20, _H - 40)
    step = (_W - 2 * _PAD) / cols
    parts = [f'<svg viewBox="0 0 {_W} {_H}" width="100%" role="img" aria-label="candles and fills">']
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = lo + (hi - lo) * frac
        parts.append(
            f'<text x="2" y="{y(value) + 4:.1f}" font-size="10">{value:.6g}</text>'
            f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#eee"/>'
        )
    for i in range(cols):
        x = _PAD + (i + 0.5) * step
        up = c[i] >= o[i]
        colour = "#26a69a" if up else "#ef5350"
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y(float(h[i])):.1f}" y2="{y(float(low[i])):.1f}" stroke="{colour}"/>'
        )
        top, bottom = (c[i], o[i]) if up else (o[i], c[i])
        parts.append(
            f'<rect x="{x - step * 0.35:.1f}" y="{y(float(top)):.1f}" width="{max(step * 0.7, 0.5):.1f}" '
            f'height="{max(y(float(bottom)) - y(float(top)), 0.5):.1f}" fill="{colour}"/>'
        )
    fills = [f for f in run.fills if f.symbol == m.symbol]
    every = max(1, len(fills) // _MARKERS)
    for f in fills[::every]:
        x = _PAD + (f.index // group + 0.5) * step
        yy = y(float(f.price))
        colour = _COLOURS.get(f.role, "#000")
        shape = (
            f"{x:.1f},{yy + 6:.1f} {x - 5:.1f},{yy + 13:.1f} {x + 5:.1f},{yy + 13:.1f}"
            if f.side == "buy"
            else f"{x:.1f},{yy - 6:.1f} {x - 5:.1f},{yy - 13:.1f} {x + 5:.1f},{yy - 13:.1f}"
        )
        title = escape(f"deal {f.deal_id} {f.leg} ({f.role}) {f.side} {f.amount} at {f.price}")
        parts.append(f'<polygon points="{shape}" fill="{colour}"><title>{title}</title></polygon>')
    parts.append("</svg>")
    return "".join(parts)


def _equity_svg(run: Run) -> str:
    import numpy as np

    curve = equity_curve(run)
    n = curve.shape[0]
    group = max(1, -(-n // (COLUMNS * 2)))
    points = curve[::group]
    lo, hi = float(min(points.min(), 0.0)), float(max(points.max(), 0.0))
    y = _scale(lo, hi, 10, 180)
    step = (_W - 2 * _PAD) / max(len(points) - 1, 1)
    path = " ".join(f"{_PAD + i * step:.1f},{y(float(v)):.1f}" for i, v in enumerate(points))
    zero = y(0.0)
    labels = "".join(
        f'<text x="2" y="{y(v) + 4:.1f}" font-size="10">{v:.6g}</text>' for v in (lo, hi) if np.isfinite(v)
    )
    return (
        f'<svg viewBox="0 0 {_W} 200" width="100%" role="img" aria-label="profit curve">{labels}'
        f'<line x1="{_PAD}" x2="{_W - _PAD}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#bbb"/>'
        f'<polyline points="{path}" fill="none" stroke="#2b83ba" stroke-width="1.2"/></svg>'
    )


def html_report(run: Run, summary: dict[str, Any]) -> str:
    """The whole report page."""
    heads = ("id", "pair", "status", "outcome", "base_order_price", "safety_orders_filled", "avg_price",
             "close_price", "amount", "profit_quote", "opened_at", "closed_at")  # fmt: skip
    rows = "".join(
        "<tr>" + "".join(f"<td>{escape(str(d.get(h) if d.get(h) is not None else '-'))}</td>" for h in heads) + "</tr>"
        for d in summary["deals"][:_ROWS]
    )
    more = len(summary["deals"]) - _ROWS
    figures = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(str(summary[k]))}</td></tr>"
        for k in ("candles", "start", "end", "closed_deals", "open_deals", "profit_quote", "open_profit_quote",
                  "profit_pct", "max_drawdown_pct", "max_capital_used", "fees_quote", "fee_pct", "elapsed_s")
    )  # fmt: skip
    markets = "".join(
        f"<li>{escape(m['symbol'])} ({escape(m['file'])}): tick {m['tick']}, step {m['step']}, "
        f"min notional {m['min_notional']}</li>"
        for m in summary["markets"]
    )
    legend = " ".join(f'<span style="color:{c}">&#9650; {escape(r)}</span>' for r, c in _COLOURS.items())
    rules = "".join(f"<li>{escape(r)}</li>" for r in summary["fill_rules"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Backtest {escape(summary["bot"])}</title>
<style>body{{font-family:sans-serif;margin:1.5em;color:#222}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ddd;padding:2px 6px;text-align:right}}th{{background:#f5f5f5}}</style></head>
<body><h1>Backtest of {escape(summary["bot"])}</h1>
<table>{figures}</table><ul>{markets}</ul>
<h2>Candles and fills</h2><p>{legend} (buys below the price, sells above)</p>{_candles_svg(run, summary)}
<h2>Profit (closed and open, marked at each close)</h2>{_equity_svg(run)}
<h2>Deals</h2><table><tr>{"".join(f"<th>{h}</th>" for h in heads)}</tr>{rows}</table>
{f"<p>{more} more deals in the JSON report.</p>" if more > 0 else ""}
<h2>Fill rules</h2><ul>{rules}</ul></body></html>
"""
