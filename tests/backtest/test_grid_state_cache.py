"""The grid bot keeps the state it saved so it need not parse it again: a cache that must not change a decision."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from bastion.backtest import Backtest, load_market
from bastion.bots.grid import GridBot
from bastion.bots.interface import BotView, Decision

BTC = Path(str(files("bastion._data") / "BTC_USDT-5m.csv"))
END_MS = 1_673_577_900_000  # the first 3,000 candles: the grid trails up about 40 levels
GRID = """
name = "grid"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "16600"
upper_price = "17000"
grid_count = 8
spacing = "geometric"
investment_quote = "400"
trailing_up = true
trailing_down = true
"""


class _Checked:
    """The backtest's grid bot, each decision compared with a new bot's (which has nothing cached)."""

    def __init__(self, bot: GridBot) -> None:
        self.bot = bot
        self.decisions = 0
        self.reused = 0
        self.differ: list[tuple[Decision, Decision]] = []

    @property
    def name(self) -> str:
        return self.bot.name

    def decide(self, view: BotView) -> Decision:
        saved = self.bot._saved
        if saved is not None and view.deals and view.deals[0].state == saved[0]:
            self.reused += 1
        decision = self.bot.decide(view)
        fresh = GridBot(self.bot.config).decide(view)
        if decision != fresh:  # noted, not raised: the engine would take an exception for a failing bot
            self.differ.append((decision, fresh))
        self.decisions += 1
        return decision


def test_a_trailing_grid_decides_the_same_with_its_saved_state_reused() -> None:
    backtest = Backtest(GRID, [load_market(f"BTC/USDT={BTC}", end_ms=END_MS)])
    slot = backtest.core.bots[1]
    assert isinstance(slot.bot, GridBot)
    checked = _Checked(slot.bot)
    slot.bot = checked
    run = backtest.run()
    assert checked.differ == []
    assert run.core.bots[1].status.value == "running"
    assert checked.decisions == run.decisions > 100
    assert 0 < checked.reused < checked.decisions  # both paths ran: state reused, and parsed after a shift
    assert int(next(iter(run.core.deals.values())).state["lo"]) > 8  # it trailed up past its first range
