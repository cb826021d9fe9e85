"""A process that only talks to the signer (the engine, the CLI) never loads the signer's secret-handling code."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_the_signer_client_loads_no_vault_audit_service_or_exchange_client() -> None:
    script = textwrap.dedent(
        """
        import sys

        from bastion.custody.signer import AsyncSignerClient, SignerClient
        from bastion.custody.signer.rpc import PlaceOrderRequest

        forbidden = ("bastion.custody.vault", "bastion.custody.audit", "bastion.custody.signer.service",
                     "bastion.custody.signer.server", "bastion.custody.signer.keys", "bastion.exchanges.ccxt",
                     "ccxt", "sqlalchemy")
        print(sorted(m for m in sys.modules if m.startswith(forbidden)))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_package_still_offers_every_name_it_lists() -> None:
    import bastion.custody.signer as signer

    for name in signer.__all__:
        assert getattr(signer, name).__name__ == name
