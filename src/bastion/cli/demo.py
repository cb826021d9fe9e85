"""``bastion demo``: everything on the embedded default, no configuration."""


def demo() -> None:
    """Run the demo on the local exchange simulator and recorded BTC/USDT data."""
    raise NotImplementedError
