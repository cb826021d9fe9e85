"""Call a command function straight from plain ``--option value`` arguments, without building typer's command.

Typer builds a pydantic adapter for every parameter of every command it runs: a few tenths of a
second at start-up, more than a whole backtest. For a command whose options are all plain
(``str``, ``Path`` and lists of them, optional or not) and arguments that only name those
options, :func:`call_plainly` reads the options from the function's own signature (the same
``typer.Option`` declarations, so there is one definition) and calls it. Anything else — ``--help``,
an unknown or repeated single option, a missing required one, an option kind it does not read —
returns False untouched, and typer parses the arguments as always (with its usual messages).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["call_plainly"]

_PLAIN = (str, Path)


def _kind(annotation: Any) -> tuple[type, bool] | None:
    """(str or Path, is a list) for a plain option type, optional or not; None otherwise."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1 or len(args) != 2:
            return None
        annotation = rest[0]
        args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and len(args) == 1 and args[0] in _PLAIN:
        return args[0], True
    if annotation in _PLAIN:
        return annotation, False
    return None


def _options(function: Callable[..., Any]) -> dict[str, tuple[str, type, bool]] | None:
    """``--flag`` -> (parameter, type, is a list), or None when a parameter is not a plain option."""
    found: dict[str, tuple[str, type, bool]] = {}
    for name, hint in typing.get_type_hints(function, include_extras=True).items():
        if name == "return":
            continue
        metadata = getattr(hint, "__metadata__", ())
        info = metadata[0] if metadata else None
        kind = _kind(typing.get_args(hint)[0]) if metadata else None
        if info is None or kind is None or type(info).__name__ != "OptionInfo":
            return None
        plain = (
            info.envvar is None
            and info.callback is None
            and info.parser is None
            and not info.prompt
            and not info.is_eager
            and not info.count
            and not info.exists
            and not info.resolve_path
            and info.default_factory is None
        )
        decls = ((info.default,) if isinstance(info.default, str) else ()) + tuple(info.param_decls)
        if not plain or not decls or not all(d.startswith("--") for d in decls):
            return None
        for decl in decls:
            found[decl] = (name, *kind)
    return found


def call_plainly(function: Callable[..., Any], args: Sequence[str]) -> bool:
    """Call ``function`` with ``args`` if they are plain ``--option value`` pairs; return whether it was called."""
    options = _options(function)
    if options is None:
        return False
    values: dict[str, Any] = {}
    rest = list(args)
    while rest:
        token = rest.pop(0)
        flag, equals, value = token.partition("=")
        if flag not in options:
            return False
        if not equals:
            if not rest or rest[0].startswith("-"):
                return False
            value = rest.pop(0)
        name, kind, many = options[flag]
        if many:
            values.setdefault(name, []).append(kind(value))
        elif name in values:
            return False
        else:
            values[name] = kind(value)
    signature = inspect.signature(function)
    if any(p.default is inspect.Parameter.empty and p.name not in values for p in signature.parameters.values()):
        return False
    function(**values)
    return True
