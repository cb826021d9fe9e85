"""Read plain ``--option value`` arguments against a table of options, without importing typer.

Importing typer and building its command costs more than a whole backtest of a year of 1m
candles, so ``bastion backtest`` with plain arguments is read here (:data:`PlainOption` rows
say each option's flag, parameter, type, whether it repeats and its default), and anything
else — ``--help``, an unknown, repeated single or valueless option, a missing required one, a
positional argument, ``--`` — is declined untouched: typer then parses the arguments as always,
with its usual messages. The typer command declares the same options; a test checks that the
table and typer's reading of that declaration agree, and that both parsers give the same values
on hand-picked and generated argument lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PlainOption", "parse_plainly"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlainOption:
    """One ``--flag VALUE`` option: the parameter it fills, its type (str or Path) and its default."""

    flag: str
    param: str
    kind: type[str] | type[Path] = str
    many: bool = False
    required: bool = False
    default: Any = None


def parse_plainly(options: Sequence[PlainOption], args: Sequence[str]) -> dict[str, Any] | None:
    """Return every parameter's value (defaults filled in), or None to leave the arguments to typer."""
    by_flag = {o.flag: o for o in options}
    values: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        flag, equals, value = token.partition("=")
        option = by_flag.get(flag)
        if option is None:
            return None
        if not equals:
            if not rest or rest[0].startswith("-"):
                return None
            value = rest.pop(0)
        if option.many:
            values.setdefault(option.param, []).append(option.kind(value))
        elif option.param in values:
            return None
        else:
            values[option.param] = option.kind(value)
    for option in options:
        if option.param not in values:
            if option.required:
                return None
            values[option.param] = option.default
    return values
