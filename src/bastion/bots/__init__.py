"""Bots: a frozen config plus a pure ``decide(view) -> Decision`` (see :mod:`bastion.bots.interface`)."""
