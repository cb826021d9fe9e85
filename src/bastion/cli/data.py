"""``bastion data``: import recorded market data."""

import typer

app = typer.Typer(help="Import recorded market data (candles).", no_args_is_help=True)
