"""Grid bot: buy at each level below the price, sell one level up, repeat (see :mod:`.bot`)."""

from bastion.bots.grid.bot import GridBot
from bastion.bots.grid.config import MAX_GRID_COUNT, GridConfig, OnStop
from bastion.bots.grid.levels import Spacing, grid_levels, level_price

__all__ = ["MAX_GRID_COUNT", "GridBot", "GridConfig", "OnStop", "Spacing", "grid_levels", "level_price"]
