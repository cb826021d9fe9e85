"""``/api/v1/deals``: the user's deals, one deal with its orders, close / cancel / add funds; commands."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session, sessionmaker

from bastion.services import control
from bastion.services import deals as deal_cases
from bastion.services.access import user_bot, user_bot_names, user_command, user_deal
from bastion.web.api._common import CHANGE, Reader, Trader, plain, refusals, run, sessions_of
from bastion.web.api.bots import command_out
from bastion.web.api.schemas import AddFunds, CloseDeal, CommandOut, DealDetailOut, DealOut, OrderOut

__all__ = ["commands", "router"]

router = APIRouter(prefix="/api/v1/deals", tags=["deals"])
commands = APIRouter(prefix="/api/v1/commands", tags=["deals"])
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]


def _deal(row: dict[str, Any]) -> DealOut:
    return DealOut.model_validate(plain(row))


def _list(sessions: sessionmaker[Session], user_id: int, bot: str | None) -> list[DealOut]:
    if bot is not None:
        user_bot(sessions, user_id, bot)
    mine = user_bot_names(sessions, user_id)
    return [_deal(r) for r in deal_cases.deal_rows(bot) if r.get("bot") in mine]


@router.get("", response_model=list[DealOut], responses=refusals())
async def list_deals(user: Reader, sessions: Sessions, bot: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    """The deals of your bots (of one bot with ``?bot=NAME``), newest first as the CLI lists them."""
    return await run(_list, sessions, user.id, bot)


def _show(sessions: sessionmaker[Session], user_id: int, deal_id: int) -> DealDetailOut:
    user_deal(sessions, user_id, deal_id)
    row, orders = deal_cases.show_deal(deal_id)
    return DealDetailOut(deal=_deal(row), orders=[OrderOut.model_validate(plain(o)) for o in orders])


@router.get("/{deal_id}", response_model=DealDetailOut, responses=refusals())
async def show_deal(deal_id: int, user: Reader, sessions: Sessions) -> DealDetailOut:
    """One deal and its orders."""
    return await run(_show, sessions, user.id, deal_id)


@router.post("/{deal_id}/close", status_code=202, response_model=CommandOut, dependencies=CHANGE,
             responses=refusals())  # fmt: skip
async def close_deal(deal_id: int, user: Trader, sessions: Sessions, body: CloseDeal | None = None) -> CommandOut:
    """Queue closing the deal: cancel its orders, sell what it holds at market (or at ``limit_price``)."""
    await run(user_deal, sessions, user.id, deal_id)
    limit = None if body is None else body.limit_price
    return command_out(await run(control.close_deal, sessions, deal_id, limit_price=limit))


@router.post("/{deal_id}/cancel", status_code=202, response_model=CommandOut, dependencies=CHANGE,
             responses=refusals())  # fmt: skip
async def cancel_deal(deal_id: int, user: Trader, sessions: Sessions) -> CommandOut:
    """Queue cancelling the deal: its orders are cancelled, the assets stay on the account."""
    await run(user_deal, sessions, user.id, deal_id)
    return command_out(await run(control.cancel_deal, sessions, deal_id))


@router.post("/{deal_id}/add-funds", status_code=202, response_model=CommandOut, dependencies=CHANGE,
             responses=refusals())  # fmt: skip
async def add_funds(deal_id: int, body: AddFunds, user: Trader, sessions: Sessions) -> CommandOut:
    """Queue one more entry of ``amount`` (base) for the deal, at market or at ``price``; the take-profit follows."""
    await run(user_deal, sessions, user.id, deal_id)
    return command_out(await run(control.add_funds, sessions, deal_id, amount=body.amount, price=body.price))


@commands.get("/{command_id}", response_model=CommandOut, responses=refusals())
async def get_command(command_id: int, user: Reader, sessions: Sessions) -> CommandOut:
    """A queued command and, once the engine applied it, its result."""
    return command_out(await run(user_command, sessions, user.id, command_id))
