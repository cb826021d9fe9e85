"""``bastion exchange``: the local Binance-compatible exchange simulator."""

import typer

app = typer.Typer(help="Run and manage the local exchange simulator.", no_args_is_help=True)
