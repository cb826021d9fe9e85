"""Bot types by name: parse a TOML config and build the bot it describes."""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Mapping
from typing import Any, cast

from bastion.bots.config import BotConfig
from bastion.bots.interface import Bot
from bastion.errors import ConfigError

__all__ = ["BOT_TYPES", "BotConfig", "config_class", "load_config", "make_bot", "pairs_of", "takes_signals"]

#: type name -> (module, config class, bot class)
BOT_TYPES: Mapping[str, tuple[str, str, str]] = {
    "dca": ("bastion.bots.dca", "DcaConfig", "DcaBot"),
    "grid": ("bastion.bots.grid", "GridConfig", "GridBot"),
    "smart_trade": ("bastion.bots.smart_trade", "SmartTradeConfig", "SmartTradeBot"),
    "signal": ("bastion.bots.signal", "SignalConfig", "SignalBot"),
}


def _classes(kind: str) -> tuple[Any, Any]:
    if kind not in BOT_TYPES:
        raise ConfigError(f"unknown bot type {kind!r}; expected one of {', '.join(BOT_TYPES)}")
    module_name, config_name, bot_name = BOT_TYPES[kind]
    module = importlib.import_module(module_name)
    return getattr(module, config_name), getattr(module, bot_name)


def config_class(kind: str) -> type[Any]:
    """Return the config class of bot type ``kind`` (its dataclass fields are the TOML keys).

    Raises
    ------
    ConfigError
        ``kind`` is not one of :data:`BOT_TYPES`.
    """
    return cast("type[Any]", _classes(kind)[0])


def load_config(text: str) -> BotConfig:
    """Parse a bot's TOML text into its frozen config (the ``type`` key picks the kind).

    Raises
    ------
    ConfigError
        The TOML does not parse, ``type`` is missing or unknown, or the config is invalid (the
        message names the key).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"bot config is not valid TOML: {exc}") from None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ConfigError(f"bot config needs type = one of {', '.join(repr(k) for k in BOT_TYPES)}")
    return cast(BotConfig, config_class(kind).from_mapping(data))


def make_bot(config: BotConfig) -> Bot:
    """Return the bot for a parsed config."""
    _, bot_class = _classes(config.type)
    return cast(Bot, bot_class(config))


def takes_signals(config: BotConfig) -> bool:
    """Whether a bot acts on webhook signals: a signal bot, or a DCA bot whose deals start on one."""
    return config.takes_signals


def pairs_of(config: BotConfig) -> tuple[str, ...]:
    """Return the symbols a bot trades."""
    return config.pairs
