"""``/bots``: list, create and edit from a form or TOML, preview the orders a config places
(the safety-order ladder or the grid levels, with the money each needs), start, stop, export.

The form becomes TOML (:mod:`bastion.web.pages.bot_form`) and goes through the same use cases as
``bastion bot create --config`` (:mod:`bastion.services.bots`): the same loader, market checks
and pre-flight, so the page refuses exactly what the CLI refuses, with the same message.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from bastion.bots.registry import load_config
from bastion.errors import BastionError, ValidationError
from bastion.services import bots as bot_service
from bastion.services import control, dashboard
from bastion.web.auth.deps import WebUser, require_csrf
from bastion.web.pages._common import (
    can_change,
    fragment,
    login_redirect,
    owned_ids,
    page_user,
    render,
    require_writer,
    sessions_of,
)
from bastion.web.pages.bot_form import KINDS, form_fields, form_to_toml, toml_to_values

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _account_names(request: Request, user: WebUser) -> list[str]:
    from bastion.services.users import owned_accounts

    return sorted(a.name for a in owned_accounts(sessions_of(request), user.id))


def _visible(request: Request, user: WebUser) -> list[bot_service.BotSummary]:
    names = set(_account_names(request, user))
    return [b for b in bot_service.list_bots() if b.account in names]


def _own_bot(request: Request, user: WebUser, name: str) -> bot_service.BotDetail:
    detail = bot_service.show_bot(name)  # ValidationError "no bot named ..." when there is none
    if detail.summary.account not in _account_names(request, user):
        raise ValidationError(f"no bot named {name!r}")
    return detail


@router.get("/bots")
def bot_list(request: Request) -> Response:
    """The user's bots with their state and deal counts."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    return render(request, "bots.html", user, section="/bots", bots=_visible(request, user), kinds=KINDS)


def _form_page(
    request: Request, user: WebUser, kind: str, values: dict[str, str], *, edit: str | None = None, **extra: Any
) -> Response:
    return render(
        request,
        "bot_form.html",
        user,
        section="/bots",
        title=f"Edit bot {edit}" if edit else f"New {KINDS.get(kind, kind)} bot",
        kind=kind,
        kinds=KINDS,
        fields=form_fields(kind),
        values=values,
        accounts=_account_names(request, user),
        edit=edit,
        **extra,
    )


@router.get("/bots/new")
def new_bot(request: Request, type: str = "dca") -> Response:
    """The form of a new bot of ``type`` (dca, grid, smart_trade, signal), defaults shown."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    if type not in KINDS:
        return render(request, "error.html", user, section="/bots", status_code=404, error=f"no bot type {type!r}")
    return _form_page(request, user, type, {})


async def _form_values(request: Request) -> tuple[str, dict[str, str]]:
    form = await request.form()
    kind = str(form.get("type", "dca"))
    values = {k.removeprefix("f."): str(v) for k, v in form.items() if k.startswith("f.") and isinstance(v, str)}
    return kind, values


def _check_account(request: Request, user: WebUser, account: str) -> None:
    if account not in _account_names(request, user):
        raise ValidationError(f"account {account!r} is not one of yours; expected one of your accounts")


def preview_rows(text: str, request: Request, user: WebUser) -> dict[str, Any]:
    """Parse a config and size every order it can place at the current prices (the bots' own arithmetic)."""
    from bastion.services import preflight
    from bastion.services.accounts import account, market_snapshot

    config = load_config(text)
    _check_account(request, user, config.account)
    record = account(config.account)
    snapshot = market_snapshot(record, config.pairs)
    config.check_markets(snapshot.markets, prices=snapshot.prices)
    plan = preflight.plan(config, snapshot.markets, snapshot.prices)
    deals = []
    for symbol, orders in plan.deals.items():
        quote = plan.markets[symbol].quote
        total = sum((o.notional for o in orders), Decimal(0))
        deals.append({"symbol": symbol, "orders": orders, "total": total, "quote": quote})
    return {"config": config, "deals": deals, "max_deals": plan.max_deals, "prices": snapshot.prices}


@router.post("/bots/preview", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def preview(request: Request) -> Response:
    """The orders the form's config places (htmx swaps this fragment in), or what is wrong with it."""
    from starlette.concurrency import run_in_threadpool

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    kind, values = await _form_values(request)

    def build() -> str:
        try:
            text = form_to_toml(kind, values)
            return fragment("partials/preview.html", error=None, **preview_rows(text, request, user))
        except BastionError as error:
            return fragment("partials/preview.html", error=str(error), deals=[], max_deals=0, prices={})

    from fastapi.responses import HTMLResponse

    return HTMLResponse(await run_in_threadpool(build))


def _created_page(request: Request, user: WebUser, created: bot_service.Created) -> Response:
    detail = bot_service.show_bot(created.name)
    notice = "\n".join((f"bot {created.name} created (stopped)", *created.warnings))
    return _detail_page(request, user, detail, notice=notice, created=created)


def _create(request: Request, user: WebUser, text: str) -> Response:
    if not can_change(user):
        raise ValidationError(f"role {user.role} may not create bots; a viewer changes nothing")
    config = load_config(text)
    _check_account(request, user, config.account)
    created = bot_service.create_bot(text)
    return _created_page(request, user, created)


@router.post("/bots/new", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def create_from_form(request: Request) -> Response:
    """Create a bot from the form (stopped); the form comes back with the loader's message when refused."""
    from starlette.concurrency import run_in_threadpool

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    kind, values = await _form_values(request)

    def run() -> Response:
        try:
            return _create(request, user, form_to_toml(kind, values))
        except BastionError as error:
            return _form_page(request, user, kind, values, error=str(error))

    return await run_in_threadpool(run)


@router.post("/bots/import", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def import_toml(request: Request) -> Response:
    """Create a bot from pasted TOML (what ``bot export`` writes)."""
    from starlette.concurrency import run_in_threadpool

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    form = await request.form()
    text = str(form.get("config_toml", ""))

    def run() -> Response:
        try:
            return _create(request, user, text)
        except BastionError as error:
            return render(
                request, "bots.html", user, section="/bots", bots=_visible(request, user), kinds=KINDS,
                error=str(error), import_text=text,
            )  # fmt: skip

    return await run_in_threadpool(run)


def _detail_page(request: Request, user: WebUser, detail: bot_service.BotDetail, **extra: Any) -> Response:
    sessions = sessions_of(request)
    deals = [v for v in dashboard.deal_views(sessions, owned_ids(request, user)) if v.bot == detail.summary.name]
    values = toml_to_values(detail.config_toml)
    return render(
        request,
        "bot.html",
        user,
        section="/bots",
        live_url="/live",
        title=f"Bot {detail.summary.name}",
        bot=detail,
        deals=deals,
        fields=form_fields(detail.summary.type),
        values=values,
        kind=detail.summary.type,
        webhook=_webhook(sessions, detail.summary.name),
        **extra,
    )


def _webhook(sessions: Any, name: str) -> str | None:
    from bastion.storage import BotRepository
    from bastion.storage.repositories.signals import SignalRepository

    with sessions() as session:
        bot = BotRepository(session).get(name)
        return None if bot is None else SignalRepository(session).uuid_for_bot(bot.id)


@router.get("/bots/{name}")
def bot_page(request: Request, name: str) -> Response:
    """One bot: state, config (edit form and TOML), its deals, webhook URL, start/stop, backtest."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    try:
        detail = _own_bot(request, user, name)
    except ValidationError as error:
        return render(request, "error.html", user, section="/bots", status_code=404, error=str(error))
    done = request.query_params.get("done")
    return _detail_page(request, user, detail, notice=done[:200] if done else None)


@router.get("/bots/{name}/export")
def export(request: Request, name: str) -> Response:
    """The bot's TOML, as stored (``bot create --config`` and the import form take it back)."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    try:
        detail = _own_bot(request, user, name)
    except ValidationError as error:
        return PlainTextResponse(str(error), status_code=404)
    return PlainTextResponse(
        detail.config_toml,
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{name}.toml"'},
    )


def _act(request: Request, name: str, action: Any) -> Response:
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    try:
        detail = _own_bot(request, user, name)
    except ValidationError as error:
        return render(request, "error.html", user, section="/bots", status_code=404, error=str(error))
    if not can_change(user):
        return _detail_page(request, user, detail, error=f"role {user.role} may not change bots")
    try:
        message = action(detail)
    except BastionError as error:
        return _detail_page(request, user, bot_service.show_bot(name), error=str(error))
    from urllib.parse import quote

    return RedirectResponse(f"/bots/{quote(name)}?done={quote(message)}", status_code=303)


@router.post("/bots/{name}/start", dependencies=[Depends(require_csrf), Depends(require_writer)])
def start(request: Request, name: str) -> Response:
    """Check the bot against its account's policy and balance again, and enable it."""

    def run(_detail: bot_service.BotDetail) -> str:
        started = bot_service.start_bot(name)
        return "; ".join((f"bot {name} started", *started.warnings))

    return _act(request, name, run)


@router.post("/bots/{name}/stop", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def stop(request: Request, name: str) -> Response:
    """Stop the bot: it opens no new deal; open deals are kept, cancelled or closed."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    mode = str(form.get("deals", "keep"))

    def run(_detail: bot_service.BotDetail) -> str:
        control.stop_bot(sessions_of(request), name, deals=mode)
        return f"bot {name} stopping (open deals: {mode})"

    return await run_in_threadpool(_act, request, name, run)


@router.post("/bots/{name}/edit", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def edit(request: Request, name: str) -> Response:
    """Queue a new config for the bot (fields that shape open deals are refused while deals are open)."""
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    raw = str(form.get("config_toml", "")).strip()
    kind = str(form.get("type", ""))
    values = {k.removeprefix("f."): str(v) for k, v in form.items() if k.startswith("f.") and isinstance(v, str)}

    def run(detail: bot_service.BotDetail) -> str:
        text = raw or form_to_toml(kind or detail.summary.type, values)
        config = load_config(text)
        if config.account != detail.summary.account:
            raise ValidationError(f"bot {name} trades on account {detail.summary.account}; the account cannot change")
        command = control.edit_bot(sessions_of(request), name, text)
        return f"bot {name}: new config queued (command {command.id}); the engine applies it at its next step"

    return await run_in_threadpool(_act, request, name, run)
