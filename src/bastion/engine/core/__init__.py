"""The engine core: pure, synchronous and deterministic; one execution path for live, paper and backtest.

Feed it events (:mod:`~bastion.engine.core.events`) with :meth:`EngineCore.apply`; carry out the
effects it returns (:mod:`~bastion.engine.core.effects`): store first, then send and cancel, then
notify. Ask it which bots are due (:meth:`EngineCore.due`) and for a bot's view
(:meth:`EngineCore.view`); hand the bot's decision back as :class:`BotDecided`.

Modules: ``model`` (states, tags, kinds), ``events``, ``effects``, ``core`` (the rules),
``control`` (manual commands), ``accounting`` (deal figures), ``sizing`` (quote to base),
``wake`` (when a bot decides), ``reports`` (exchange answers to events), ``edits`` (which config
fields may change live), ``notify_gate`` (rate limit per bot and kind), ``state``.
"""

from bastion.engine.core.core import EngineCore, effects_of
from bastion.engine.core.model import BotStatus, DealSnapshot, DealStatus, NotifyKind, OrderTag, RejectKind, StopMode
from bastion.engine.core.notify_gate import NotifyGate
from bastion.engine.core.reports import OrderReport, fills_missing, report_events

__all__ = [
    "BotStatus",
    "DealSnapshot",
    "DealStatus",
    "EngineCore",
    "NotifyGate",
    "NotifyKind",
    "OrderReport",
    "OrderTag",
    "RejectKind",
    "StopMode",
    "effects_of",
    "fills_missing",
    "report_events",
]
