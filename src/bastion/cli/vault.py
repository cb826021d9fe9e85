"""``bastion vault``: create the vault and change its passphrase.

The passphrase is asked for without echo, or read from ``BASTION_PASSPHRASE`` (and, for the
new one of ``passwd``, ``BASTION_NEW_PASSPHRASE``) for unattended use.
"""

from __future__ import annotations

import hmac

import typer

from bastion.cli._prompt import read_passphrase, signer_is_running
from bastion.errors import CustodyError, ValidationError

app = typer.Typer(
    help="Create the vault that seals exchange API keys, and change its passphrase.", no_args_is_help=True
)

NEW_PASSPHRASE_ENV = "BASTION_NEW_PASSPHRASE"  # noqa: S105 - the variable's name, not a passphrase


@app.command("init")
def init_command() -> None:
    """Create the vault, the signer's audit-signing key and the database in BASTION_HOME."""
    from bastion.custody.layout import HomeLayout
    from bastion.services import vault as service

    layout = HomeLayout.from_env()
    service.check_no_vault(layout)
    passphrase = read_passphrase(confirm=True, prompt="New vault passphrase")
    made = service.create_vault(layout, passphrase)
    typer.echo(f"vault created in {made.home}")
    typer.echo(f"  header       {made.header}")
    typer.echo(f"  KDF          {made.kdf}")
    typer.echo(f"  signing key  {made.signing_key} (Ed25519, sealed by the vault)")
    typer.echo(f"  public key   {made.public_key}")
    typer.echo(f"               in {made.public_key_file}; `bastion audit verify` checks the audit log against it")
    typer.echo(f"  database     {made.database}")
    if made.stale_api_keys:
        typer.echo(
            f"warning: the database already holds {made.stale_api_keys} API key(s) sealed by another vault; this "
            "vault cannot unseal them: remove them and add them again",
            err=True,
        )
    typer.echo("Keep the passphrase safe: without it nothing can unseal the keys, and no one can recover it.")


@app.command("passwd")
def passwd_command() -> None:
    """Change the vault passphrase: re-wrap every sealed secret's data key (stop the signer first)."""
    from bastion.custody.layout import HomeLayout
    from bastion.custody.vault import Vault, VaultNotFoundError
    from bastion.services import vault as service

    layout = HomeLayout.from_env()
    if not Vault.exists(layout.home):
        raise VaultNotFoundError(f"no vault in {layout.home}; create one with `bastion vault init`")
    if signer_is_running(layout):
        raise CustodyError(
            f"the signer is running (it answers on {layout.socket}); stop it first, then change the passphrase"
        )
    note = service.finish_interrupted_change(layout)
    if note is not None:
        typer.echo(f"note: {note}", err=True)
    current = read_passphrase(prompt="Current vault passphrase")
    with Vault.open(layout.home, current) as vault:
        new = read_passphrase(confirm=True, env=NEW_PASSPHRASE_ENV, prompt="New vault passphrase")
        if hmac.compare_digest(new.encode("utf-8"), current.encode("utf-8")):
            raise ValidationError("the new passphrase is the same as the current one; expected a different one")
        done = service.change_passphrase(layout, vault, new)
    what = (
        f"{done.secrets} sealed secrets (the audit-signing key and {done.api_secrets} secrets of "
        f"{done.api_keys} API key{'s' if done.api_keys != 1 else ''})"
        if done.api_keys
        else "1 sealed secret (the audit-signing key; no API keys are stored)"
    )
    typer.echo(f"passphrase changed: re-wrapped {what}; their ciphertexts were not re-encrypted")
    typer.echo(f"KDF: {done.kdf}")
