"""``/``: the overview (portfolio value per account and in total in one quote currency, money in
open deals, today's and all-time profit, open deals, alerts) and ``/alerts``.

Values come from :func:`bastion.services.portfolio.portfolio`: live balances through the signer's
``balances`` (the web role may read them: not a secret), priced from the exchanges' public
tickers; paper accounts from their documents in this database. Only the user's own accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bastion.errors import BastionError
from bastion.services import dashboard
from bastion.storage import AccountRepository, DealStatus
from bastion.web.api._common import signer_of
from bastion.web.auth.deps import WebUser, auth_context
from bastion.web.pages._common import login_redirect, owned_ids, page_user, render, sessions_of
from bastion.web.pages._signer import signer_alerts

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def portfolio_rows(views: list[dashboard.DealView]) -> list[dict[str, str]]:
    """Money held in open deals (cost), per account and in total, per quote currency."""
    per_account: dict[tuple[str, str], Decimal] = {}
    total: dict[str, Decimal] = {}
    for view in views:
        if view.deal.status is not DealStatus.OPEN:
            continue
        key = (view.account, view.quote)
        per_account[key] = per_account.get(key, Decimal(0)) + view.deal.cost_quote
        total[view.quote] = total.get(view.quote, Decimal(0)) + view.deal.cost_quote
    rows = [
        {"label": f"In open deals · {account}", "value": f"{_plain(value)} {quote}"}
        for (account, quote), value in sorted(per_account.items())
    ]
    rows += [{"label": "In open deals · total", "value": f"{_plain(value)} {quote}"} for quote, value in total.items()]
    return rows


#: The one quote currency the overview values every account in.
QUOTE = "USDT"


def value_rows(request: Request, user: WebUser) -> tuple[list[dict[str, str]], str | None]:
    """The value of each of the user's accounts and their total in :data:`QUOTE`, and what could not be read."""
    from bastion.services.portfolio import AccountBalances, portfolio
    from bastion.services.users import owned_accounts

    records = owned_accounts(sessions_of(request), user.id)
    if not records:
        return [], None
    with sessions_of(request)() as session:
        documents = {r.name: AccountRepository(session).paper_document(r.id) for r in records if r.paper}
    paper = [
        AccountBalances(account=r.name, exchange=r.exchange, url=r.url, paper=True,
                        balances={a: Decimal(free) + Decimal(locked)
                                  for a, (free, locked) in (documents.get(r.name) or {}).get("balances", {}).items()})
        for r in records if r.paper
    ]  # fmt: skip
    try:
        valued = portfolio(quote=QUOTE, signer=signer_of(request), paper=lambda: paper,
                           accounts={r.name for r in records if not r.paper},
                           prices=request.app.state.prices.source)  # fmt: skip
    except BastionError as error:
        return [], f"portfolio values unavailable: {error}"
    rows = []
    problems = []
    for account in (*valued.accounts, *valued.paper):
        label = f"Value · {account.account}" + (" (paper)" if account.paper else "")
        if account.error is not None:
            problems.append(f"{account.account}: {account.error}")
            rows.append({"label": label, "value": "unknown"})
            continue
        unpriced = f" + {', '.join(account.unpriced)} unpriced" if account.unpriced else ""
        rows.append({"label": label, "value": f"{_plain(account.total)} {QUOTE}{unpriced}"})
    if valued.accounts:
        rows.append({"label": "Value · total (live)", "value": f"{_plain(valued.total)} {QUOTE}"})
    return rows, "; ".join(problems) or None


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def all_alerts(
    request: Request, user: WebUser, *, from_signer: list[dashboard.Alert] | None = None
) -> list[dashboard.Alert]:
    """The signer's alerts (leaks, halts, paused keys; ``from_signer`` when already fetched) and the
    database's (bots paused or failing, refused signals) on the user's accounts, most serious first."""
    from bastion.services.users import owned_accounts

    accounts = owned_accounts(sessions_of(request), user.id)
    if from_signer is None:
        from_signer = signer_alerts(request, [a.name for a in accounts])
    found = from_signer + dashboard.alerts(sessions_of(request), {a.id for a in accounts})
    return sorted(found, key=lambda a: a.level != "danger")


@router.get("/")
def overview(request: Request) -> Response:
    """The overview page."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    sessions = sessions_of(request)
    owned = owned_ids(request, user)
    views = dashboard.deal_views(sessions, owned)
    pnl = dashboard.profit(views, day_start=_day_start(auth_context(request).now()))
    bots = dashboard.bot_counts(sessions, owned)
    values, problem = value_rows(request, user)
    note = "Values: balances from the signer, priced at the exchanges' last prices; open deals at what they cost."
    return render(
        request,
        "overview.html",
        user,
        section="/",
        title="Overview",
        portfolio=values + portfolio_rows(views),
        portfolio_note=note if problem is None else f"{note} Not read: {problem}",
        pnl=pnl,
        open_deals=[v for v in views if v.deal.status is DealStatus.OPEN],
        alerts=all_alerts(request, user),
        bots_running=bots[0],
        bots_total=bots[1],
        live_url="/live",
    )


@router.get("/alerts")
def alerts(request: Request) -> Response:
    """Policy halts, paused or failing bots and refused signals on the user's accounts."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    found = all_alerts(request, user)
    return render(request, "alerts.html", user, section="/alerts", alerts=found, live_url="/live")
