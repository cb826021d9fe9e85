"""``/deals``: the live list, a deal's page (candle chart with its levels and fills) and the
manual controls (close at market, cancel, add funds), queued for the engine as the CLI does."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bastion.errors import BastionError, ValidationError
from bastion.services import control, dashboard
from bastion.web.auth.deps import require_csrf
from bastion.web.pages._common import (
    can_change,
    login_redirect,
    owned_ids,
    page_user,
    render,
    require_writer,
    sessions_of,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: How long a control waits for the engine's answer before the page says it is queued.
WAIT_S = 5.0


@router.get("/deals")
def deal_list(request: Request) -> Response:
    """Every deal of the user's accounts, newest first; the open ones update live."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    views = dashboard.deal_views(sessions_of(request), owned_ids(request, user))
    return render(request, "deals.html", user, section="/deals", deals=views, live_url="/live")


def _deal_page(request: Request, deal_id: int, **extra: Any) -> Response:
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    sessions = sessions_of(request)
    try:
        chart = dashboard.deal_chart_levels(sessions, owned_ids(request, user), deal_id)
    except ValidationError as error:
        return render(request, "error.html", user, section="/deals", status_code=404, error=str(error))
    from bastion.services.deals import show_deal

    _row, orders = show_deal(deal_id)
    return render(
        request,
        "deal.html",
        user,
        section="/deals",
        title=f"Deal {deal_id}",
        view=chart.deal,
        chart=chart,
        orders=orders,
        **extra,
    )


@router.get("/deals/{deal_id}")
def deal_page(request: Request, deal_id: int) -> Response:
    """One deal: its numbers, its orders, the chart and the controls."""
    done = request.query_params.get("done")
    return _deal_page(request, deal_id, notice=f"{done[:40]}: done" if done else None)


def _text(value: Decimal) -> str:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:  # a computed average: 8 places are plenty on a chart
        value = value.quantize(Decimal("1e-8"))
    return format(value, "f")


@router.get("/deals/{deal_id}/chart.json")
def deal_chart(request: Request, deal_id: int) -> Response:
    """The deal's candles (the exchange's public data), fills and levels, for the chart script."""
    user = page_user(request)
    if user is None:
        return JSONResponse({"detail": "not logged in"}, status_code=401)
    try:
        chart = dashboard.deal_chart_levels(sessions_of(request), owned_ids(request, user), deal_id)
    except ValidationError as error:
        return JSONResponse({"detail": str(error)}, status_code=404)
    try:
        candles = dashboard.candles(chart.exchange, chart.url, chart.deal.deal.pair)
        candle_error = None
    except BastionError as error:
        candles, candle_error = [], f"no candles from {chart.exchange}: {error}"
    return JSONResponse(
        {
            "pair": chart.deal.deal.pair,
            "candles": [
                {"time": c["ts_ms"] // 1000, **{k: _text(c[k]) for k in ("open", "high", "low", "close")}}
                for c in candles
            ],
            "markers": [
                {"time": m.ts_ms // 1000, "price": _text(m.price), "side": m.side, "label": m.label}
                for m in chart.markers
            ],
            "lines": [{"price": _text(line.price), "label": line.label, "kind": line.kind} for line in chart.lines],
            "error": candle_error,
        },
        headers={"Cache-Control": "no-store"},
    )


def _control(request: Request, deal_id: int, queue: Any, what: str) -> Response:
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    if not can_change(user):
        return _deal_page(request, deal_id, error=f"role {user.role} may not {what}; a viewer changes nothing")
    sessions = sessions_of(request)
    try:
        dashboard.deal_view(sessions, owned_ids(request, user), deal_id)  # the user's deal, or "no deal"
        command = queue(sessions)
    except BastionError as error:
        return _deal_page(request, deal_id, error=str(error))
    done = control.wait(sessions, command.id, timeout_s=WAIT_S)
    if done.status is control.CommandStatus.PENDING:
        notice = f"{what}: queued (command {done.id}); the engine applies it at its next step"
        return _deal_page(request, deal_id, notice=notice)
    if done.status is control.CommandStatus.DONE:
        return RedirectResponse(f"/deals/{deal_id}?done={what.replace(' ', '+')}", status_code=303)
    return _deal_page(request, deal_id, error=f"{what}: {done.result or done.status.value}")


@router.post("/deals/{deal_id}/close", dependencies=[Depends(require_csrf), Depends(require_writer)])
def close(request: Request, deal_id: int, limit_price: Annotated[str, Form()] = "") -> Response:
    """Cancel the deal's orders and sell what it holds at market (or at a limit)."""
    limit = limit_price.strip() or None
    return _control(request, deal_id, lambda s: control.close_deal(s, deal_id, limit_price=limit), "close the deal")


@router.post("/deals/{deal_id}/cancel", dependencies=[Depends(require_csrf), Depends(require_writer)])
def cancel(request: Request, deal_id: int) -> Response:
    """Cancel the deal's orders and keep what it holds."""
    return _control(request, deal_id, lambda s: control.cancel_deal(s, deal_id), "cancel the deal")


@router.post("/deals/{deal_id}/add-funds", dependencies=[Depends(require_csrf), Depends(require_writer)])
def add_funds(
    request: Request, deal_id: int, amount: Annotated[str, Form()] = "", price: Annotated[str, Form()] = ""
) -> Response:
    """One more entry of ``amount`` (base) at market or at ``price``; the take-profit follows."""
    limit = price.strip() or None
    return _control(
        request, deal_id, lambda s: control.add_funds(s, deal_id, amount=amount.strip(), price=limit), "add funds"
    )
