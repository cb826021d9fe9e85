"""``bastion deal close|cancel|add-funds`` and ``bastion bot stop|edit``: manual control through services.

Each command is checked and queued by :mod:`bastion.services.control`; the running engine
applies it at its next step and records the result, which is printed here (or, without an
engine, the command waits in the queue for the next one).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bastion.errors import ValidationError

if TYPE_CHECKING:
    from bastion.services.control import CommandRecord

__all__ = ["register"]

_WAIT = typer.Option("--wait", help="Seconds to wait for the engine's result.")


def _run(queue: Callable[[Any], CommandRecord], wait_s: float) -> None:
    from bastion.services import control
    from bastion.services.control import CommandStatus

    command_id, result = control.submit(queue, wait_s=wait_s)
    typer.echo(f"command {command_id} queued")
    if result.status is CommandStatus.PENDING:
        typer.echo("no engine has applied it yet: the running engine applies it at its next step (`bastion engine`)")
    elif result.status is CommandStatus.DONE:
        typer.echo(result.result or "done")
    else:
        typer.echo(f"refused: {result.result}", err=True)
        raise typer.Exit(2)


def deal_close(
    deal_id: Annotated[int, typer.Argument(metavar="ID", help="The deal's id (`bastion deal list`).")],
    limit: Annotated[str | None, typer.Option("--limit", help="Sell at this limit price (default: market).")] = None,
    wait: Annotated[float, _WAIT] = 10.0,
) -> None:
    """Close a deal now: cancel its orders, then sell what it holds at market (or at --limit)."""
    from bastion.services import control

    _run(lambda s: control.close_deal(s, deal_id, limit_price=limit), wait)


def deal_cancel(
    deal_id: Annotated[int, typer.Argument(metavar="ID", help="The deal's id (`bastion deal list`).")],
    wait: Annotated[float, _WAIT] = 10.0,
) -> None:
    """Cancel a deal: cancel its orders and keep the assets it bought."""
    from bastion.services import control

    _run(lambda s: control.cancel_deal(s, deal_id), wait)


def deal_add_funds(
    deal_id: Annotated[int, typer.Argument(metavar="ID", help="The deal's id (`bastion deal list`).")],
    amount: Annotated[str, typer.Option("--amount", help="Base amount to add, e.g. 0.001 (BTC).")],
    price: Annotated[str | None, typer.Option("--price", help="Limit price (default: market).")] = None,
    wait: Annotated[float, _WAIT] = 10.0,
) -> None:
    """Add funds to an open DCA deal (one more entry order; the take-profit follows the new average)."""
    from bastion.services import control

    _run(lambda s: control.add_funds(s, deal_id, amount=amount, price=price), wait)


def bot_stop(
    name: str,
    deals: Annotated[
        str,
        typer.Option(
            "--deals", help="keep: manage open deals until they end; cancel: cancel them; close: close at market."
        ),
    ] = "keep",
    wait: Annotated[float, _WAIT] = 10.0,
) -> None:
    """Stop a bot: no new deals; its open deals are kept (default), cancelled or closed."""
    from bastion.services import control

    _run(lambda s: control.stop_bot(s, name, deals=deals), wait)


def bot_edit(
    name: str,
    config: Annotated[Path, typer.Option("--config", help="The bot's new TOML file.")],
    wait: Annotated[float, _WAIT] = 10.0,
) -> None:
    """Change a bot's config: live-safe fields apply to new orders; others only while no deal is open."""
    from bastion.services import control

    try:
        text = config.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {config}: {exc.strerror}; expected a readable TOML file") from None
    _run(lambda s: control.edit_bot(s, name, text), wait)


def register(bot_app: typer.Typer, deal_app: typer.Typer) -> None:
    """Add the manual-control commands to the ``bot`` and ``deal`` groups."""
    deal_app.command(name="close")(deal_close)
    deal_app.command(name="cancel")(deal_cancel)
    deal_app.command(name="add-funds")(deal_add_funds)
    bot_app.command(name="stop")(bot_stop)
    bot_app.command(name="edit")(bot_edit)
