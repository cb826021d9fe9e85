"""What the signer process does to itself before it reads a secret, and where its passphrase comes from.

- :func:`make_undumpable`: ``prctl(PR_SET_DUMPABLE, 0)`` (no ptrace, no ``/proc/PID/mem`` or
  ``/proc/PID/environ`` for other processes of the same uid) and ``RLIMIT_CORE`` 0 (no core file).
- :func:`passphrase_source`: the vault passphrase from ``--passphrase-fd N`` (``0`` is stdin), a
  systemd credential (``LoadCredential=passphrase:...`` puts it in ``$CREDENTIALS_DIRECTORY``),
  ``BASTION_PASSPHRASE`` (demo and tests), or a prompt. It never stays in an environment: when it
  came from ``BASTION_PASSPHRASE`` the signer re-executes itself without the variable and hands the
  passphrase over through an inherited pipe (:func:`reexec_without_passphrase`).
- :func:`hold_signer_lock`: one signer per home; a second one is told the first one's pid.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import resource
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bastion.errors import ConfigError, CustodyError

__all__ = [
    "CREDENTIAL_NAME",
    "PASSPHRASE_ENV",
    "SignerAlreadyRunning",
    "hold_signer_lock",
    "is_dumpable",
    "make_undumpable",
    "read_passphrase_credential",
    "read_passphrase_fd",
    "reexec_without_passphrase",
]

PASSPHRASE_ENV = "BASTION_PASSPHRASE"  # noqa: S105 - the variable's name
#: The systemd credential's name: ``LoadCredential=passphrase:/etc/bastion/signer.passphrase``.
CREDENTIAL_NAME = "passphrase"
_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3
_MAX_PASSPHRASE = 4096


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    result = int(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0))
    if result < 0:
        errno = ctypes.get_errno()
        raise CustodyError(f"prctl({option}, {value}) failed: {os.strerror(errno)}")
    return result


def make_undumpable() -> None:
    """Forbid core dumps and ptrace-style access to this process (call before reading any secret).

    Raises
    ------
    CustodyError
        The kernel refused (the signer then does not start).
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _prctl(_PR_SET_DUMPABLE, 0)


def is_dumpable() -> bool:
    """Return whether this process is dumpable (readable by other processes of its uid)."""
    return _prctl(_PR_GET_DUMPABLE, 0) != 0


def _clean(raw: bytes, where: str) -> str:
    if len(raw) > _MAX_PASSPHRASE:
        raise ConfigError(f"the passphrase from {where} is over {_MAX_PASSPHRASE} bytes; expected one passphrase")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"the passphrase from {where} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise ConfigError(f"the passphrase from {where} is empty; expected a passphrase")
    return text


def read_passphrase_fd(fd: int) -> str:
    """Read the passphrase from file descriptor ``fd`` up to its end (or its first line), then close it."""
    where = "stdin" if fd == 0 else f"file descriptor {fd}"
    chunks = bytearray()
    try:
        while len(chunks) <= _MAX_PASSPHRASE:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            chunks += chunk
            if b"\n" in chunks:
                break
    except OSError as exc:
        raise ConfigError(f"cannot read the passphrase from {where}: {exc.strerror}") from None
    finally:
        if fd != 0:
            os.close(fd)
    return _clean(bytes(chunks).split(b"\n", 1)[0], where)


def read_passphrase_credential(env: Mapping[str, str] | None = None) -> str | None:
    """Return the passphrase from ``$CREDENTIALS_DIRECTORY/passphrase`` (systemd), or None without one."""
    env = os.environ if env is None else env
    folder = env.get("CREDENTIALS_DIRECTORY")
    if not folder:
        return None
    path = Path(folder) / CREDENTIAL_NAME
    if not path.exists():
        return None
    try:
        return _clean(path.read_bytes(), f"the systemd credential {path}")
    except OSError as exc:
        raise ConfigError(f"cannot read the systemd credential {path}: {exc.strerror}") from None


def reexec_without_passphrase(args: Sequence[str]) -> None:
    """Re-execute ``python -m bastion ARGS --passphrase-fd N`` without ``BASTION_PASSPHRASE``; never returns.

    The passphrase goes into a pipe whose read end the new program inherits, so it is in no
    process's environment (``/proc/PID/environ``) once this returns control to the new image.
    """
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        raise ConfigError(f"${PASSPHRASE_ENV} is empty; expected a passphrase")
    encoded = value.encode("utf-8") + b"\n"
    if len(encoded) > _MAX_PASSPHRASE:
        raise ConfigError(f"${PASSPHRASE_ENV} is over {_MAX_PASSPHRASE} bytes; expected one passphrase")
    read_end, write_end = os.pipe()
    os.write(write_end, encoded)  # far below the pipe's buffer: never blocks
    os.close(write_end)
    os.set_inheritable(read_end, True)
    env = {k: v for k, v in os.environ.items() if k != PASSPHRASE_ENV}
    del value, encoded
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "bastion", *args, "--passphrase-fd", str(read_end)]
    # This very interpreter (argv[0] keeps its virtual environment), even when a folder on its
    # path is not searchable by the signer's user.
    program = "/proc/self/exe" if os.path.exists("/proc/self/exe") else sys.executable
    os.execve(program, argv, env)  # noqa: S606 - our own interpreter and module


class SignerAlreadyRunning(CustodyError):
    """Another signer holds this home's lock."""


def hold_signer_lock(path: Path) -> int:
    """Take the home's signer lock for the life of this process; return its file descriptor.

    Raises
    ------
    SignerAlreadyRunning
        Another live signer holds it; the message names its pid.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise SignerAlreadyRunning(
            f"signer already running (pid {holder}); stop it first (SIGTERM, or `bastion panic`)"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    return fd
