"""``/backtests``: run a bot's config over recorded candles from its page and show the report
(the same runner and report as ``bastion backtest``: the live engine core, the simulator's fills)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bastion.errors import BastionError, ValidationError
from bastion.web.auth.deps import require_csrf
from bastion.web.pages._common import login_redirect, page_user, render, require_writer

__all__ = ["DATASETS", "router", "run_backtest"]

router = APIRouter(include_in_schema=False)

#: The recorded candle files bundled with Bastion a backtest can run on: label -> (pair, file).
DATASETS: dict[str, tuple[str, str]] = {
    "BTC/USDT 5m (bundled)": ("BTC/USDT", "BTC_USDT-5m.csv"),
    "ETH/BTC 5m (bundled)": ("ETH/BTC", "ETH_BTC-5m.csv"),
}


def run_backtest(config_toml: str, dataset: str, *, fee_pct: str, balance: str) -> dict[str, Any]:
    """Backtest ``config_toml`` on a bundled dataset; return the report of ``bastion backtest --json``.

    Raises
    ------
    ValidationError
        An unknown dataset, fee or balance.
    ConfigError
        The config or the data is refused (the message says why).
    """
    from bastion.backtest.data import load_market
    from bastion.backtest.report import report
    from bastion.backtest.runner import Backtest

    if dataset not in DATASETS:
        raise ValidationError(f"no dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    try:
        fee = Decimal(fee_pct) / 100
        amount = Decimal(balance) if balance else None
    except InvalidOperation:
        raise ValidationError(f"fee {fee_pct!r} and balance {balance!r} must be decimal numbers") from None
    if not fee.is_finite() or not 0 <= fee < 1:
        raise ValidationError(f"fee must be within 0..100 %, got {fee_pct}")
    pair, file = DATASETS[dataset]
    path = resources.files("bastion").joinpath("_data", file)
    market = load_market(f"{pair}={path}")
    balances = {} if amount is None else {pair.split("/")[1]: amount}
    run = Backtest(config_toml, [market], fee=fee, balances=balances).run()
    return report(run, bot=str(run.core.bots[1].name))


def _bot_config(request: Request, name: str) -> str | None:
    from bastion.services.bots import show_bot
    from bastion.services.users import owned_accounts
    from bastion.web.pages._common import sessions_of

    user = page_user(request)
    if user is None:
        return None
    try:
        detail = show_bot(name)
    except ValidationError:
        return None
    mine = {a.name for a in owned_accounts(sessions_of(request), user.id)}
    return detail.config_toml if detail.summary.account in mine else None


@router.get("/backtests")
def backtests(request: Request, bot: str = "") -> Response:
    """The backtest form (bot, dataset, fee, starting balance)."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    return render(
        request, "backtests.html", user, section="/backtests", bot=bot, datasets=list(DATASETS), report=None,
        fee="0.1", balance="", dataset=next(iter(DATASETS)),
    )  # fmt: skip


@router.post("/backtests", dependencies=[Depends(require_csrf), Depends(require_writer)])
async def run(request: Request) -> Response:
    """Run the backtest now (in this request) and show the report."""
    from starlette.concurrency import run_in_threadpool

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    form = await request.form()
    bot, dataset = str(form.get("bot", "")), str(form.get("dataset", ""))
    fee, balance = str(form.get("fee", "0.1")), str(form.get("balance", "")).strip()
    context: dict[str, Any] = {"bot": bot, "datasets": list(DATASETS), "dataset": dataset, "fee": fee,
                               "balance": balance, "report": None}  # fmt: skip

    def work() -> Response:
        text = _bot_config(request, bot)
        if text is None:
            return render(request, "backtests.html", user, section="/backtests", error=f"no bot named {bot!r}",
                          status_code=404, **context)  # fmt: skip
        try:
            context["report"] = run_backtest(text, dataset, fee_pct=fee, balance=balance)
        except BastionError as error:
            return render(request, "backtests.html", user, section="/backtests", error=str(error), **context)
        return render(request, "backtests.html", user, section="/backtests", **context)

    return await run_in_threadpool(work)
