"""``bastion audit``: verify the signer's audit log, export it, and verify an export.

All three only read the log (the signer ``flock``-s it for writing, readers take no lock),
so they work while the signer runs. Exit status: 0 verified, 1 the log or export does not
verify (the first bad entry is named), 2 a usage mistake such as a missing file or key.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from bastion.errors import ConfigError

if TYPE_CHECKING:
    from bastion.custody.audit import SignedHead, VerifyFailure, VerifyResult
    from bastion.custody.layout import HomeLayout

app = typer.Typer(help="Verify and export the signer's hash-chained, signed audit log.", no_args_is_help=True)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_MAX_KEY_FILE_BYTES = 4096
# A reader can catch the signer mid-append: the last line is then briefly incomplete.
_PARTIAL_WRITE_RETRIES = 5
_PARTIAL_WRITE_PAUSE_S = 0.05

_T = TypeVar("_T")

PublicKeyOption = Annotated[
    str | None,
    typer.Option(
        "--public-key",
        metavar="HEX_OR_PATH",
        help="The signer's Ed25519 public key: 64 hex characters, or a file holding them "
        "(default: signer.pub in BASTION_HOME).",
    ),
]


def _key_from_text(text: str, where: str) -> bytes:
    candidate = text.strip()
    if _HEX64.fullmatch(candidate) is None:
        raise ConfigError(f"{where} does not hold an Ed25519 public key; expected 64 hex characters")
    return bytes.fromhex(candidate)


def _key_from_file(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the public key file {path}: {exc.strerror}") from None
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise ConfigError(f"public key file {path} is larger than {_MAX_KEY_FILE_BYTES} bytes; expected one hex line")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"public key file {path} is not text; expected 64 hex characters") from None
    return _key_from_text(text, f"public key file {path}")


def _pinned_key(option: str | None, layout: Callable[[], HomeLayout]) -> tuple[bytes, str]:
    """Return the raw public key to pin and where it came from."""
    if option is None:
        path = layout().public_key
        if not path.exists():
            raise ConfigError(
                f"no public key at {path}; expected the signer.pub written by `bastion vault init`, "
                "or pass --public-key HEX_OR_PATH"
            )
        return _key_from_file(path), str(path)
    if _HEX64.fullmatch(option.strip()) is not None:
        return bytes.fromhex(option.strip()), "--public-key"
    path = Path(option).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"--public-key {option!r} is neither 64 hex characters nor an existing file; expected the signer's "
            "Ed25519 public key"
        )
    return _key_from_file(path), str(path)


def _home_layout() -> HomeLayout:
    from bastion.custody.layout import HomeLayout

    return HomeLayout.from_env()


def _fingerprint(key_hex: str) -> str:
    # The same 16-character prefix the library's failure messages use to name keys.
    return f"{key_hex[:16]}…"


def _when(ts_ms: int) -> str:
    try:
        return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):
        return f"ts_ms {ts_ms}"


def _where(failure: VerifyFailure) -> str:
    parts = [f"file {failure.path}"]
    if failure.line is not None:
        parts.append(f"line {failure.line}")
    if failure.seq is not None:
        parts.append(f"seq {failure.seq}")
    return ", ".join(parts)


def _head_text(head: SignedHead | None) -> str:
    if head is None:
        return "no signed head yet"
    return f"last signed head seq {head.seq} at {_when(head.ts_ms)}"


def _fail(what: str, result: VerifyResult, key_source: str) -> None:
    failure = result.failure
    assert failure is not None
    typer.echo(
        f"{what} FAILED verification at {_where(failure)}: {failure.problem.value}: {failure.detail} "
        f"({result.entries} entries before it verified; key from {key_source})"
    )
    sys.exit(1)


def _settled(run: Callable[[], _T], is_partial: Callable[[_T], bool]) -> _T:
    """Run a read, again if it saw a line the signer was still writing."""
    outcome = run()
    for _ in range(_PARTIAL_WRITE_RETRIES):
        if not is_partial(outcome):
            break
        time.sleep(_PARTIAL_WRITE_PAUSE_S)
        outcome = run()
    return outcome


def _partial(result: VerifyResult) -> bool:
    from bastion.custody.audit import Problem

    return result.failure is not None and result.failure.problem is Problem.TRUNCATED_LINE


def _check_log_exists(log: Path) -> None:
    from bastion.custody.audit import heads_path_for

    heads = heads_path_for(log)
    if not log.exists() and not (heads.exists() and heads.stat().st_size > 0):
        raise ConfigError(
            f"no audit log at {log}; expected the log the signer writes there (has the signer run in this "
            "BASTION_HOME?)"
        )


_WITNESS = re.compile(r"(\d{1,18}):([0-9a-fA-F]{64})")


def _witness(text: str) -> tuple[int, str]:
    match = _WITNESS.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"--witness {text[:80]!r} is not SEQ:HASH; expected the entry number and its 64-hex-character hash "
            "from an audit witness notification, such as 1234:3f9a…"
        )
    return int(match.group(1)), match.group(2).lower()


@app.command("verify")
def verify_command(
    public_key: PublicKeyOption = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            "--witness",
            metavar="SEQ:HASH",
            help="A signed head the signer sent to your notification channel; the log must still hold it "
            "(repeatable). Catches a log replaced by an older copy.",
        ),
    ] = None,
) -> None:
    """Check the whole audit log, its hash chain and signed heads against the pinned public key."""
    from bastion.custody.audit import verify

    layout = _home_layout()
    key, key_source = _pinned_key(public_key, lambda: layout)
    witnesses = [_witness(w) for w in witness or []]
    log = layout.audit_log
    _check_log_exists(log)
    result = _settled(lambda: verify(log, key, witnesses=witnesses), _partial)
    if not result.ok:
        _fail("audit log", result, key_source)
    line = f"audit log intact: {result.entries} entries in {log}; {_head_text(result.head)}"
    if witnesses:
        line += f"; holds the {len(witnesses)} witnessed head(s)"
    if result.unsigned_entries:
        line += f"; {result.unsigned_entries} newer entries chained but not yet signed"
    typer.echo(f"{line}; key {_fingerprint(key.hex())} (pinned from {key_source})")


@app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(help="Where to write the export (replaced if it exists).")],
    public_key: PublicKeyOption = None,
) -> None:
    """Write the log up to its latest signed head, with that head and the key, for a third party."""
    from bastion.custody.audit import AuditCorruptError, export, heads_path_for

    layout = _home_layout()
    key, key_source = _pinned_key(public_key, lambda: layout)
    log = layout.audit_log
    _check_log_exists(log)
    out = file.expanduser()
    protected = {p.resolve() for p in (log, heads_path_for(log), layout.public_key, layout.vault_header)}
    if out.resolve() in protected:
        raise ConfigError(f"export file {out} is one of Bastion's own files; expected a new file elsewhere")
    if out.is_dir():
        raise ConfigError(f"export file {out} is a folder; expected a file name")
    if not out.parent.is_dir():
        raise ConfigError(f"cannot write {out}: folder {out.parent} does not exist")

    def attempt() -> SignedHead | AuditCorruptError:
        try:
            return export(log, out, public_key=key)
        except AuditCorruptError as exc:
            return exc

    def partial(outcome: SignedHead | AuditCorruptError) -> bool:
        return isinstance(outcome, AuditCorruptError) and outcome.result is not None and _partial(outcome.result)

    outcome = _settled(attempt, partial)
    if isinstance(outcome, AuditCorruptError):
        if outcome.result is not None and outcome.result.failure is not None:
            _fail("audit log", outcome.result, key_source)
        raise outcome
    head = outcome
    typer.echo(
        f"wrote {out}: {head.seq + 1} entries (seq 0 to {head.seq}) and the head signed at {_when(head.ts_ms)}, "
        f"key {_fingerprint(key.hex())}"
    )
    typer.echo(
        "Entries newer than that head are not in it. A third party verifies it with the file and the public key "
        "(give them the key separately, not with the file):"
    )
    typer.echo(f"  bastion audit verify-export {out} --public-key {key.hex()}")


@app.command("verify-export")
def verify_export_command(
    file: Annotated[Path, typer.Argument(help="An export written by `bastion audit export`.")],
    public_key: PublicKeyOption = None,
) -> None:
    """Check an export file: every entry, the chain and the final signed head, against the public key."""
    from bastion.custody.audit import verify_export

    key, key_source = _pinned_key(public_key, _home_layout)
    path = file.expanduser()
    if not path.is_file():
        raise ConfigError(f"no export file at {path}; expected a file written by `bastion audit export`")
    result = verify_export(path, key)
    if not result.ok:
        _fail("export", result, key_source)
    typer.echo(
        f"export intact: {result.entries} entries in {path}; {_head_text(result.head)}; "
        f"key {_fingerprint(key.hex())} (pinned from {key_source})"
    )
