"""A self-contained export that a third party verifies with only the file and the public key.

Format (JSON lines, each canonical JSON):

1. ``{"format":"bastion-audit-export","public_key":"<hex>","type":"export","version":1}``
2. the log's entry lines 0..N, byte-identical to the log
3. ``{"type":"head", ...}``: the latest signed head, which covers exactly entry N

Entries after the latest signed head are not exported: everything in the file is covered
by the signature, so nothing can be removed from (or appended to) it unnoticed.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from bastion.custody.audit._canonical import canonical_json
from bastion.custody.audit._errors import AuditCorruptError, AuditTruncatedError
from bastion.custody.audit._files import fsync_dir, write_all
from bastion.custody.audit._records import LineProblem, Problem, SignedHead, parse_head_line
from bastion.custody.audit._verify import (
    PublicKeyLike,
    VerifyFailure,
    VerifyResult,
    _Chain,
    check_heads,
    normalize_public_key,
    verify,
)

__all__ = ["EXPORT_FORMAT", "export", "verify_export"]

EXPORT_FORMAT = "bastion-audit-export"
_EXPORT_VERSION = 1
_HEADER_FIELDS = frozenset({"format", "public_key", "type", "version"})


def _raise_for(result: VerifyResult, path: Path) -> None:
    failure = result.failure
    if failure is None:
        return
    cls = AuditTruncatedError if failure.problem is Problem.LOG_TRUNCATED else AuditCorruptError
    raise cls(f"refusing to export {path}: it does not verify: {failure}", result=result)


def export(
    path: str | os.PathLike[str],
    out_file: str | os.PathLike[str],
    *,
    public_key: PublicKeyLike | None = None,
    heads_path: str | os.PathLike[str] | None = None,
) -> SignedHead:
    """Write a verifiable export of the log, up to its latest signed head.

    The log is verified first, and the copied lines are checked again while copying. The
    export is written to a temporary file, fsynced and renamed (mode 0600).

    Parameters
    ----------
    path
        The log file.
    out_file
        Where to write the export (replaced if it exists).
    public_key
        Pin the signer's key while verifying the source; ``None`` trusts the heads file.
    heads_path
        The signed-heads file; default next to ``path``.

    Returns
    -------
    SignedHead
        The head the export ends with.

    Raises
    ------
    AuditCorruptError
        If the log does not verify or has no signed head (``AuditTruncatedError`` for a
        removed tail).
    """
    path, out = Path(path), Path(out_file)
    result = verify(path, public_key, heads_path=heads_path, require_head=True)
    _raise_for(result, path)
    head = result.head
    if head is None:
        raise AuditCorruptError(f"refusing to export {path}: it has no signed head yet; sign one first", result=result)
    header = {"format": EXPORT_FORMAT, "public_key": head.public_key, "type": "export", "version": _EXPORT_VERSION}
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    chain = _Chain(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            write_all(fd, canonical_json(header) + b"\n")
            if head.seq >= 0:
                with path.open("rb") as f:
                    for lineno, line in enumerate(f, 1):
                        failure = chain.feed(line, lineno)
                        if failure is not None:
                            raise AuditCorruptError(f"{path} changed while exporting: {failure}")
                        write_all(fd, line)
                        if chain.expected_seq > head.seq:
                            break
            if chain.expected_seq - 1 != head.seq or chain.prev != head.hash:
                raise AuditCorruptError(f"{path} changed while exporting: the signed head no longer matches")
            write_all(fd, head.to_line())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(out.parent)
    return head


def _check_header(line: bytes, path: Path, pinned: bytes | None) -> tuple[str | None, VerifyFailure | None]:
    def fail(problem: Problem, detail: str) -> tuple[None, VerifyFailure]:
        return None, VerifyFailure(problem, path, 1, None, detail)

    if not line.endswith(b"\n"):
        return fail(Problem.TRUNCATED_LINE, "the export header line is incomplete")
    try:
        obj = json.loads(line[:-1].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return fail(Problem.MALFORMED_LINE, f"export header is not a JSON line: {exc}")
    if not isinstance(obj, dict) or set(obj) != _HEADER_FIELDS or canonical_json(obj) != line[:-1]:
        return fail(Problem.MALFORMED_LINE, f"expected the canonical export header {sorted(_HEADER_FIELDS)}")
    if obj["type"] != "export" or obj["format"] != EXPORT_FORMAT or obj["version"] != _EXPORT_VERSION:
        return fail(
            Problem.MALFORMED_LINE,
            f"export header says type={obj['type']!r} format={obj['format']!r} version={obj['version']!r}; "
            f"expected export/{EXPORT_FORMAT}/{_EXPORT_VERSION}",
        )
    try:
        key = normalize_public_key(obj["public_key"])
    except ValueError:
        return fail(Problem.MALFORMED_LINE, "export header public_key is not 64 hex characters")
    if key is None or obj["public_key"] != key.hex():
        return fail(Problem.MALFORMED_LINE, "export header public_key is not 64 lowercase hex characters")
    if pinned is not None and key != pinned:
        return fail(Problem.KEY_MISMATCH, f"export names key {key.hex()[:16]}…; expected {pinned.hex()[:16]}…")
    return key.hex(), None


def verify_export(out_file: str | os.PathLike[str], public_key: PublicKeyLike | None = None) -> VerifyResult:
    """Verify an export written by :func:`export`, with nothing but the file (and the key).

    Parameters
    ----------
    out_file
        The export file.
    public_key
        The signer's Ed25519 public key, obtained out of band. ``None`` trusts the key in
        the file (``VerifyResult.key_pinned`` is then ``False``).

    Returns
    -------
    VerifyResult
        Truthy when the header, every entry, the chain and the final signed head verify and
        the head covers exactly the last entry.
    """
    path = Path(out_file)
    pinned = normalize_public_key(public_key)
    chain = _Chain(path)

    def result(failure: VerifyFailure | None, **extra: object) -> VerifyResult:
        return VerifyResult(
            failure,
            entries=chain.expected_seq,
            last_seq=chain.expected_seq - 1,
            last_hash=chain.prev,
            key_pinned=pinned is not None,
            **extra,  # type: ignore[arg-type]
        )

    if not path.exists():
        return result(VerifyFailure(Problem.MISSING_FILE, path, None, None, "export file is missing"))
    with path.open("rb") as f:
        first = f.readline()
        key_hex, failure = _check_header(first, path, pinned)
        if failure is not None:
            return result(failure)
        pending: tuple[int, bytes] | None = None
        for lineno, line in enumerate(f, 2):
            if pending is not None:
                failure = _feed_export_entry(chain, *pending)
                if failure is not None:
                    return result(failure)
            pending = (lineno, line)
    if pending is None:
        return result(VerifyFailure(Problem.MISSING_HEAD, path, None, None, "export has no signed head line"))
    lineno, line = pending
    try:
        head = parse_head_line(line)
    except LineProblem as exc:
        if exc.problem is Problem.MALFORMED_HEAD and _feed_export_entry(_Chain(path), lineno, line) is None:
            detail = "the last line is an entry, not the signed head (entries appended or head removed)"
        else:
            detail = exc.detail
        return result(VerifyFailure(exc.problem, path, lineno, exc.seq, detail))
    if head.seq < chain.expected_seq - 1:
        return result(
            VerifyFailure(
                Problem.ENTRY_AFTER_HEAD, path, lineno, head.seq,
                f"the signed head covers seq {head.seq} but the export has entries up to {chain.expected_seq - 1}",
            )
        )
    if chain.expected_seq > 0:
        chain.at = {chain.expected_seq - 1: (chain.prev, chain.last_offset)}
    failure, latest, count, key_hex = check_heads(
        [(lineno, head)], chain, normalize_public_key(key_hex), path, check_head_chain=False
    )
    return result(failure, head=latest, heads=count, unsigned_entries=0, public_key=key_hex)


def _feed_export_entry(chain: _Chain, lineno: int, line: bytes) -> VerifyFailure | None:
    failure = chain.feed(line, lineno)
    if failure is None:
        return None
    if failure.problem is Problem.MALFORMED_LINE:
        try:
            parse_head_line(line)
        except LineProblem:
            return failure
        return VerifyFailure(
            Problem.ENTRY_AFTER_HEAD, chain.path, lineno, None,
            "a signed head line is followed by more lines; the head must be the last line",
        )
    return failure

