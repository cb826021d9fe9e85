"""The ``bastion`` command line: :func:`main`.

Every command is declared with typer in :mod:`bastion.cli.app`, imported only when needed: a
plain ``bastion backtest --config ... --data ...`` is read by :mod:`bastion.cli.direct` against
the command's option table and runs without typer, whose import and command building cost more
than a year-long backtest. Anything else (``--help``, a mistake, every other command) goes to
typer as always.
"""

from __future__ import annotations

import sys
from typing import Any

from bastion.errors import BastionError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user mistakes print one clear line and exit non-zero, never a traceback."""
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["backtest"] and args[1:2] != ["sweep"]:
        from bastion.cli.backtest_run import OPTIONS, run_backtest
        from bastion.cli.direct import parse_plainly

        values = parse_plainly(OPTIONS, args[1:])
        if values is not None:
            try:
                run_backtest(**values)
            except BastionError as exc:
                from rich.console import Console

                Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
                sys.exit(2)
            return
    from bastion.cli.app import run

    run(argv, args)


def __getattr__(name: str) -> Any:
    # The typer application and its registration (``app``, ``_register``...) live in bastion.cli.app.
    if name in ("app", "version", "_register", "_register_backtest"):
        from bastion.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
