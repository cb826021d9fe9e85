"""The engine core is pure: importing it loads no database, exchange, custody or asyncio code."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_core_imports_no_io_modules():
    code = (
        "import json, sys; import bastion.engine.core, bastion.bots.dca, bastion.bots.grid, "
        "bastion.bots.smart_trade, bastion.bots.signal; print(json.dumps(sorted(sys.modules)))"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    forbidden = ("sqlalchemy", "ccxt", "httpx", "asyncio", "bastion.custody", "bastion.storage", "bastion.exchanges")
    assert [m for m in loaded if m.startswith(forbidden)] == []
