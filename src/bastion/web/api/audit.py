"""``/api/v1/audit``: browse, verify and export the signer's audit log (through the signer, web role).

Browsing and exporting show the entries of your accounts only; verifying walks the whole log
and its signed heads against the signer's key (what ``bastion audit verify`` does). An export
for a third party, with the whole log and its signed heads, is ``bastion audit export``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from bastion.services.access import user_accounts
from bastion.services.accounts import SignerCalls
from bastion.web.api._common import Reader, refusals, run, sessions_of, signer_of
from bastion.web.api.schemas import AuditPage, AuditVerified

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]
PAGE = 200
_JSONL: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/jsonl": {"schema": {"type": "string"}}}, "description": "JSON lines"}
}


def _page(sessions: sessionmaker[Session], user_id: int, signer: SignerCalls, after: int, limit: int) -> AuditPage:
    mine = sorted(a.name for a in user_accounts(sessions, user_id))
    if not mine:
        return AuditPage(entries=[], head=None)
    answer = signer.call("audit_tail", accounts=mine, after_seq=after, limit=limit)
    return AuditPage.model_validate(answer)


@router.get("", response_model=AuditPage, responses=refusals(409))
async def browse(
    user: Reader,
    sessions: Sessions,
    request: Request,
    after_seq: Annotated[int, Query(ge=-1, le=2**62)] = -1,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Audit entries of your accounts after ``after_seq`` (the last ``limit`` of them), and the signed head."""
    return await run(_page, sessions, user.id, signer_of(request), after_seq, limit)


@router.get("/verify", response_model=AuditVerified, responses=refusals(409))
async def verify(user: Reader, request: Request) -> AuditVerified:
    """Verify the whole log (hash chain, signed heads, the signer's key); ``ok`` false names the first problem."""
    signer = signer_of(request)
    return AuditVerified.model_validate(await run(signer.call, "audit_verify"))


def _export(sessions: sessionmaker[Session], user_id: int, signer: SignerCalls) -> str:
    lines: list[str] = []
    after = -1
    while True:
        page = _page(sessions, user_id, signer, after, 500)
        head = page.head
        lines.extend(json.dumps(e.model_dump(), sort_keys=True, separators=(",", ":")) for e in page.entries)
        if len(page.entries) < 500:
            break
        after = page.entries[-1].seq
    if head is not None:
        lines.append(json.dumps({"type": "head", **head.model_dump()}, sort_keys=True, separators=(",", ":")))
    return "\n".join(lines) + ("\n" if lines else "")


@router.get("/export", response_model=None, responses={**refusals(409), **_JSONL})
async def export(user: Reader, sessions: Sessions, request: Request) -> Response:
    """Your accounts' audit entries as JSON lines, then the signed head (compare it with the witness messages)."""
    text = await run(_export, sessions, user.id, signer_of(request))
    return Response(text, media_type="application/jsonl",
                    headers={"Content-Disposition": 'attachment; filename="bastion-audit.jsonl"'})  # fmt: skip
