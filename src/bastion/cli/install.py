"""``bastion install --system``: the production layout, the signer as its own user.

Creates (as root), and prints each step:

- two system users: ``bastion-signer`` (the signer; alone reads the vault, the sealed keys, the
  audit-signing key and the audit log) and ``bastion`` (the engine and the web);
- ``/var/lib/bastion-signer`` (bastion-signer, 0700) and ``/var/lib/bastion`` (bastion, 0700);
- ``/etc/bastion/signer.toml``: the uids allowed on the signer's socket and their roles
  (``bastion``: engine and web; ``root``: operator), and the socket's path;
- ``/etc/bastion/signer.env`` and ``/etc/bastion/bastion.env``: each user's environment;
- systemd units ``bastion-signer``, ``bastion-engine`` and ``bastion-web``; the signer's vault
  passphrase reaches it as the systemd credential ``passphrase``
  (``LoadCredential=passphrase:/etc/bastion/signer.passphrase``), never as an environment variable.

``--root DIR`` puts everything under DIR (users go into ``DIR/etc/passwd`` through
``useradd --prefix``); ``--dry-run`` only prints what would be done.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from bastion.errors import ConfigError

SIGNER_USER = "bastion-signer"
CLIENT_USER = "bastion"
SIGNER_HOME = Path("/var/lib/bastion-signer")
CLIENT_HOME = Path("/var/lib/bastion")
ETC = Path("/etc/bastion")
RUN = Path("/run/bastion-signer")
UNITS = Path("/etc/systemd/system")
PASSPHRASE_FILE = ETC / "signer.passphrase"
NOLOGIN = "/usr/sbin/nologin"


@dataclass(frozen=True, slots=True)
class Step:
    """One thing the installer does: what to print, and how to do it."""

    text: str
    apply: Callable[[], None]


def _uid_in(root: Path, user: str) -> tuple[int, int] | None:
    passwd = root / "etc" / "passwd"
    if root == Path("/"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            return None
        return entry.pw_uid, entry.pw_gid
    if not passwd.exists():
        return None
    for line in passwd.read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if len(fields) >= 4 and fields[0] == user:
            return int(fields[2]), int(fields[3])
    return None


def _ids(root: Path, user: str) -> tuple[int, int]:
    ids = _uid_in(root, user)
    if ids is None:
        raise ConfigError(f"user {user!r} was not created; see the useradd error above")
    return ids


def _useradd(root: Path, user: str, home: Path) -> Step:
    command = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(home)]
    command += ["--shell", NOLOGIN]
    if root != Path("/"):
        command += ["--prefix", str(root)]
    command.append(user)

    def apply() -> None:
        if _uid_in(root, user) is not None:
            return
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ConfigError(f"`{shlex.join(command)}` failed: {done.stderr.strip()}")

    exists = _uid_in(root, user) is not None
    text = f"user {user} exists, kept" if exists else f"create system user {user}: {shlex.join(command)}"
    return Step(text, apply)


def _owner_id(root: Path, user: str) -> int:
    return 0 if user == "root" else _ids(root, user)[0]


def _group_id(root: Path, group: str) -> int:
    return 0 if group == "root" else _ids(root, group)[1]


def _directory(root: Path, path: Path, owner: str, group: str, mode: int) -> Step:
    target = root / path.relative_to("/")

    def apply() -> None:
        target.mkdir(parents=True, exist_ok=True)
        os.chown(target, _owner_id(root, owner), _group_id(root, group))
        target.chmod(mode)

    return Step(f"directory {path} owner {owner}:{group} mode {mode:04o}", apply)


def _file(root: Path, path: Path, text: str, owner: str, group: str, mode: int) -> Step:
    target = root / path.relative_to("/")

    def apply() -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.chown(temporary, _owner_id(root, owner), _group_id(root, group))
        temporary.chmod(mode)
        temporary.replace(target)

    return Step(f"file {path} owner {owner}:{group} mode {mode:04o}", apply)


def signer_config(client_uid: int | str, operator_uid: int) -> str:
    """The signer configuration: which uids may connect, with which roles."""
    return (
        "# Written by `bastion install --system`. Who may use the signer's socket (SO_PEERCRED uid) and\n"
        "# what for; see bastion.custody.signer.roles for each role's operations.\n"
        f'socket = "{RUN / "signer.sock"}"\n\n'
        "[[clients]]\n"
        f'user = "{CLIENT_USER}"\n'
        f"uid = {client_uid}\n"
        'roles = ["engine", "web"]\n\n'
        "[[clients]]\n"
        'user = "operator"\n'
        f"uid = {operator_uid}\n"
        'roles = ["operator"]\n'
    )


def _units(python: str) -> dict[str, str]:
    common = (
        "NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=read-only\nPrivateTmp=yes\nUMask=0077\n"
        "LimitCORE=0\nRestart=on-failure\n"
    )
    signer = (
        "[Unit]\nDescription=Bastion signer: the only process that holds exchange API keys\n"
        "After=network-online.target\nWants=network-online.target\n\n"
        "[Service]\nType=simple\n"
        f"User={SIGNER_USER}\nGroup={SIGNER_USER}\n"
        f"EnvironmentFile={ETC / 'signer.env'}\n"
        f"LoadCredential=passphrase:{PASSPHRASE_FILE}\n"
        f"ExecStartPre=+/usr/bin/install -d -m 0750 -o {SIGNER_USER} -g {CLIENT_USER} {RUN}\n"
        f"ExecStart={python} -m bastion signer\n"
        f"ReadWritePaths={SIGNER_HOME} {RUN}\n"
        f"{common}\n[Install]\nWantedBy=multi-user.target\n"
    )

    def client(name: str, command: str, description: str) -> str:
        return (
            f"[Unit]\nDescription=Bastion {description}\nAfter=bastion-signer.service\n"
            "Wants=bastion-signer.service\n\n"
            "[Service]\nType=simple\n"
            f"User={CLIENT_USER}\nGroup={CLIENT_USER}\n"
            f"EnvironmentFile={ETC / 'bastion.env'}\n"
            f"ExecStart={python} -m bastion {command}\n"
            f"ReadWritePaths={CLIENT_HOME}\n"
            f"{common}\n[Install]\nWantedBy=multi-user.target\n"
        )

    return {
        "bastion-signer.service": signer,
        "bastion-engine.service": client("engine", "engine", "engine: runs the bots, no keys"),
        "bastion-web.service": client("web", "web", "web: webhooks and API, no keys"),
    }


def plan(root: Path, python: str, operator_uid: int = 0) -> list[Step]:
    """Return the installer's steps for a system rooted at ``root``."""
    client_ids = _uid_in(root, CLIENT_USER)
    steps = [_useradd(root, SIGNER_USER, SIGNER_HOME), _useradd(root, CLIENT_USER, CLIENT_HOME)]
    steps += [
        _directory(root, SIGNER_HOME, SIGNER_USER, SIGNER_USER, 0o700),
        _directory(root, CLIENT_HOME, CLIENT_USER, CLIENT_USER, 0o700),
        _directory(root, ETC, "root", "root", 0o755),
    ]

    def config_step() -> Step:
        uid: int | str = client_ids[0] if client_ids is not None else f"<uid of {CLIENT_USER}>"

        def apply() -> None:  # the uid is known once the user exists
            text = signer_config(_ids(root, CLIENT_USER)[0], operator_uid)
            _file(root, ETC / "signer.toml", text, "root", SIGNER_USER, 0o640).apply()

        return Step(
            f"file {ETC / 'signer.toml'} owner root:{SIGNER_USER} mode 0640: clients {CLIENT_USER} (uid {uid}) "
            f"roles engine+web, uid {operator_uid} role operator",
            apply,
        )

    steps.append(config_step())
    socket = RUN / "signer.sock"
    signer_env = (
        f"BASTION_HOME={SIGNER_HOME}\nBASTION_SIGNER_CONFIG={ETC / 'signer.toml'}\nBASTION_SIGNER_SOCKET={socket}\n"
    )
    client_env = f"BASTION_HOME={CLIENT_HOME}\nBASTION_SIGNER_SOCKET={socket}\n"
    steps.append(_file(root, ETC / "signer.env", signer_env, "root", "root", 0o644))
    steps.append(_file(root, ETC / "bastion.env", client_env, "root", "root", 0o644))
    for name, text in _units(python).items():
        steps.append(_file(root, UNITS / name, text, "root", "root", 0o644))
    return steps


def _next_steps(python: str) -> list[str]:
    env_signer = f"$(cat {ETC / 'signer.env'})"
    return [
        "next:",
        f"  1. the vault, as {SIGNER_USER}:  sudo -u {SIGNER_USER} env {env_signer} {python} -m bastion vault init",
        f"  2. its passphrase for systemd:   sudo install -m 0600 -o root /dev/stdin {PASSPHRASE_FILE}  "
        "(type it, then Ctrl-D)",
        "  3. start:  sudo systemctl daemon-reload && sudo systemctl enable --now bastion-signer bastion-engine "
        "bastion-web",
        f"  4. keys and policies, as root (the operator):  sudo env $(cat {ETC / 'bastion.env'}) {python} -m bastion "
        "keys add --account main --exchange binance",
    ]


def install(
    system: Annotated[bool, typer.Option("--system", help="Install the production layout (two system users).")] = False,
    root: Annotated[Path, typer.Option(help="Prefix for /etc, /var/lib, ... (for packaging and tests).")] = Path("/"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")] = False,
    python: Annotated[
        str | None, typer.Option(help="The Python interpreter of a Bastion install the services run.")
    ] = None,
    operator_uid: Annotated[int, typer.Option(help="The uid given the operator role (everything).")] = 0,
) -> None:
    """Install the production layout: the signer as its own user, the engine and web as another.

    Creates the users bastion-signer and bastion, their 0700 homes, /etc/bastion/signer.toml
    (client uids and roles), the environment files and the systemd units, and prints each step.
    Run as root; --dry-run shows the steps without root.
    """
    if not system:
        raise ConfigError("`bastion install` needs --system (the two-user production layout); nothing was changed")
    if not dry_run and os.geteuid() != 0:
        raise ConfigError(
            "`bastion install --system` must run as root: it creates system users, directories and systemd units; "
            "run it with sudo, or add --dry-run to see what it would do"
        )
    if not root.is_absolute() or not root.is_dir():
        raise ConfigError(f"--root {root} is not an existing absolute folder; expected one such as / or /tmp/pkg")
    if not dry_run and shutil.which("useradd") is None:
        raise ConfigError("useradd was not found; expected a Linux system with the shadow utilities")
    interpreter = python or sys.executable
    steps = plan(root, interpreter, operator_uid)
    prefix = "would " if dry_run else ""
    for step in steps:
        if not dry_run:
            step.apply()
        typer.echo(f"{prefix}{step.text}")
    if root != Path("/"):
        typer.echo(f"(everything under {root})")
    for line in _next_steps(interpreter):
        typer.echo(line)
