"""Bastion: a self-hosted crypto trading bot platform whose exchange keys never leave the signer."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # The version is read from the installed metadata on first use: importlib.metadata costs tens of
    # milliseconds at start-up, which every command (a backtest among them) would otherwise pay.
    if name != "__version__":
        raise AttributeError(f"module 'bastion' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("bastion")
    except PackageNotFoundError:  # running from a source tree that was not installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
