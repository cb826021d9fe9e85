"""``/api/v1/bots``: list, show, create (TOML import), export, edit, start, stop and delete bots.

The same use cases as ``bastion bot ...`` (:mod:`bastion.services.bots`, :mod:`bastion.services.control`),
after the ownership check: a bot is reachable only when its account is the user's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session, sessionmaker

from bastion.bots.registry import load_config
from bastion.services import bots as bot_cases
from bastion.services import control
from bastion.services.access import user_account_named, user_bot, user_bot_names
from bastion.services.accounts import SignerCalls
from bastion.services.bots import BotSummary
from bastion.services.preflight import PlannedOrder
from bastion.storage import CommandRecord
from bastion.web.api._common import CHANGE, Reader, Trader, plain, refusals, run, sessions_of, signer_of
from bastion.web.api.schemas import (
    BotConfigIn,
    BotDetailOut,
    BotOut,
    CommandOut,
    CreatedOut,
    PlannedOrderOut,
    PlanOut,
    StartedOut,
    StopBot,
)

__all__ = ["command_out", "router"]

router = APIRouter(prefix="/api/v1/bots", tags=["bots"])
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]


def _out(summary: BotSummary) -> BotOut:
    return BotOut(
        name=summary.name, type=summary.type, account=summary.account, state=summary.state.name,
        reason=summary.state.reason, open_deals=summary.open_deals, closed_deals=summary.closed_deals,
    )  # fmt: skip


def command_out(command: CommandRecord, *, bot: str | None = None) -> CommandOut:
    """A queued command as the API shows it."""
    return CommandOut(id=command.id, kind=command.kind, status=command.status.value, result=command.result, bot=bot,
                      deal=command.deal_id)  # fmt: skip


def _list(sessions: sessionmaker[Session], user_id: int) -> list[BotOut]:
    mine = user_bot_names(sessions, user_id)
    return [_out(s) for s in bot_cases.list_bots() if s.name in mine]


@router.get("", response_model=list[BotOut], responses=refusals())
async def list_bots(user: Reader, sessions: Sessions) -> list[BotOut]:
    """The bots on your accounts, with their state and deal counts."""
    return await run(_list, sessions, user.id)


@router.get("/{name}", response_model=BotDetailOut, responses=refusals())
async def show_bot(name: str, user: Reader, sessions: Sessions) -> BotDetailOut:
    """One bot: its summary, TOML config and saved values."""
    await run(user_bot, sessions, user.id, name)
    detail = await run(bot_cases.show_bot, name)
    return BotDetailOut(**_out(detail.summary).model_dump(), config_toml=detail.config_toml,
                        saved_state=detail.saved_state)  # fmt: skip


_TOML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/toml": {"schema": {"type": "string"}}}, "description": "The TOML config"}
}


@router.get("/{name}/export", response_model=None, responses={**refusals(), **_TOML})
async def export_bot(name: str, user: Reader, sessions: Sessions) -> PlainTextResponse:
    """The bot's TOML config as stored (``POST /api/v1/bots`` or ``bastion bot create`` take it back)."""
    await run(user_bot, sessions, user.id, name)
    text = await run(bot_cases.export_bot, name)
    return PlainTextResponse(text, media_type="application/toml",
                             headers={"Content-Disposition": f'attachment; filename="{name}.toml"'})  # fmt: skip


def _order(order: PlannedOrder) -> PlannedOrderOut:
    return PlannedOrderOut(what=order.what, symbol=order.symbol, side=order.side, amount=plain(order.amount),
                           price=plain(order.price), notional=plain(order.notional))  # fmt: skip


def _preview(sessions: sessionmaker[Session], user_id: int, text: str) -> PlanOut:
    user_account_named(sessions, user_id, load_config(text).account)
    planned = bot_cases.plan_bot(text)
    return PlanOut(
        max_deals=planned.max_deals,
        deals={s: [_order(o) for o in orders] for s, orders in planned.deals.items()},
        deal_notional={s: plain(sum((o.notional for o in orders), Decimal(0))) for s, orders in planned.deals.items()},
    )


@router.post("/preview", response_model=PlanOut, dependencies=CHANGE, responses=refusals())
async def preview_bot(body: BotConfigIn, user: Trader, sessions: Sessions) -> PlanOut:
    """Check a config like ``POST /api/v1/bots`` and show every order it can place (the safety-order ladder,
    the grid levels) with the money each needs; nothing is stored."""
    return await run(_preview, sessions, user.id, body.config_toml)


def _create(sessions: sessionmaker[Session], user_id: int, text: str, signer: SignerCalls) -> CreatedOut:
    config = load_config(text)  # the same parser and checks as the CLI's TOML
    user_account_named(sessions, user_id, config.account)
    created = bot_cases.create_bot(text, signer=signer)
    return CreatedOut(
        name=created.name, type=created.type, account=created.account, webhook_uuid=created.webhook_uuid,
        webhook_secret=created.webhook_secret, warnings=list(created.warnings),
    )  # fmt: skip


@router.post("", status_code=201, response_model=CreatedOut, dependencies=CHANGE, responses=refusals(409))
async def create_bot(body: BotConfigIn, user: Trader, sessions: Sessions, request: Request) -> CreatedOut:
    """Create a bot from its TOML config (import), checked against its markets, policy and balance; it starts stopped.

    A signal bot's webhook secret is in this answer only.
    """
    return await run(_create, sessions, user.id, body.config_toml, signer_of(request))


def _edit(sessions: sessionmaker[Session], user_id: int, name: str, text: str) -> CommandOut:
    user_bot(sessions, user_id, name)
    user_account_named(sessions, user_id, load_config(text).account)
    return command_out(control.edit_bot(sessions, name, text), bot=name)


@router.put("/{name}/config", status_code=202, response_model=CommandOut, dependencies=CHANGE, responses=refusals())
async def edit_bot(name: str, body: BotConfigIn, user: Trader, sessions: Sessions) -> CommandOut:
    """Queue a new config for the engine (fields that shape open deals are refused while deals are open)."""
    return await run(_edit, sessions, user.id, name, body.config_toml)


@router.post("/{name}/start", response_model=StartedOut, dependencies=CHANGE, responses=refusals(409))
async def start_bot(name: str, user: Trader, sessions: Sessions, request: Request) -> StartedOut:
    """Check the bot again against its policy and balance (the signer must answer), then enable it."""
    await run(user_bot, sessions, user.id, name)
    started = await run(bot_cases.start_bot, name, signer=signer_of(request))
    return StartedOut(name=started.name, warnings=list(started.warnings))


@router.post("/{name}/stop", status_code=202, response_model=CommandOut, dependencies=CHANGE, responses=refusals())
async def stop_bot(name: str, user: Trader, sessions: Sessions, body: StopBot | None = None) -> CommandOut:
    """Stop the bot: it opens no new deal; its open deals are kept (default), cancelled or closed."""
    await run(user_bot, sessions, user.id, name)
    mode = (body or StopBot()).deals
    return command_out(await run(control.stop_bot, sessions, name, deals=mode), bot=name)


@router.delete("/{name}", status_code=204, dependencies=CHANGE, responses=refusals())
async def delete_bot(name: str, user: Trader, sessions: Sessions) -> Response:
    """Delete a bot that never traded."""
    await run(user_bot, sessions, user.id, name)
    await run(bot_cases.delete_bot, name)
    return Response(status_code=204)
