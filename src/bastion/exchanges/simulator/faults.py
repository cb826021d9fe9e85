"""Fault injection: the next N matching requests misbehave on purpose.

Kinds
-----
``429``
    Answer HTTP 429 with ``Retry-After`` (``retry_after`` seconds, default 1) and code -1003.
``5xx``
    Answer ``status`` (500, 502, 503 or 504; default 503) with Binance's body for it.
``timeout``
    Process the request, then hold the answer ``seconds`` (default 30) so the client times out;
    with ``"process": false`` the request is held and dropped without being processed.
``drop_after_accept``
    Process the request (the order exists), then close the connection without an answer.
``partial_fill``
    The next order POST fills only ``fraction`` (default 0.5) of its quantity now; a limit order
    rests the rest, a market order expires it.

A fault matches a request when its optional ``path`` is a prefix of the request path and its
optional ``method`` equals the request method; admin requests (``/_sim/``) never match.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan", "FaultSpecError"]

FAULT_KINDS = ("429", "5xx", "timeout", "drop_after_accept", "partial_fill")
_FIELDS = {"kind", "count", "path", "method", "seconds", "fraction", "status", "retry_after", "process"}
_STATUSES = (500, 502, 503, 504)


class FaultSpecError(ValueError):
    """A fault request that is not what the admin API expects."""


@dataclass(slots=True)
class Fault:
    """One armed fault."""

    kind: str
    remaining: int
    path: str | None = None
    method: str | None = None
    seconds: float = 30.0
    fraction: Decimal = Decimal("0.5")
    status: int = 503
    retry_after: int = 1
    process: bool = True

    def matches(self, method: str, path: str) -> bool:
        """Return True if this fault applies to ``method`` ``path``."""
        if self.path is not None and not path.startswith(self.path):
            return False
        return self.method is None or self.method == method

    def describe(self) -> dict[str, Any]:
        """Return the fault as JSON-able data."""
        return {
            "kind": self.kind,
            "remaining": self.remaining,
            "path": self.path,
            "method": self.method,
            "seconds": self.seconds,
            "fraction": str(self.fraction),
            "status": self.status,
            "retry_after": self.retry_after,
            "process": self.process,
        }


def _number(spec: dict[str, Any], name: str, default: Any, kind: type) -> Any:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FaultSpecError(f"{name} must be a number, got {value!r}")
    try:
        return kind(str(value)) if kind is Decimal else kind(value)
    except (ValueError, InvalidOperation):
        raise FaultSpecError(f"{name} must be a number, got {value!r}") from None


class FaultPlan:
    """The armed faults, matched in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, spec: Any) -> Fault:
        """Arm a fault from admin JSON such as ``{"kind": "429", "count": 2}``.

        Raises
        ------
        FaultSpecError
            Unknown kind or field, or a value out of range; the message says what is expected.
        """
        if not isinstance(spec, dict):
            raise FaultSpecError(f'expected a JSON object such as {{"kind": "429", "count": 1}}, got {spec!r:.60}')
        unknown = sorted(set(spec) - _FIELDS)
        if unknown:
            raise FaultSpecError(f"unknown field(s) {', '.join(unknown)}; expected {', '.join(sorted(_FIELDS))}")
        kind = str(spec.get("kind"))
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(FAULT_KINDS)}, got {spec.get('kind')!r}")
        count = _number(spec, "count", 1, int)
        if count < 1:
            raise FaultSpecError(f"count must be at least 1, got {count}")
        seconds = _number(spec, "seconds", 30, float)
        fraction = _number(spec, "fraction", "0.5", Decimal)
        status = _number(spec, "status", 503, int)
        retry_after = _number(spec, "retry_after", 1, int)
        if not (0 <= seconds <= 3600):
            raise FaultSpecError(f"seconds must be within 0..3600, got {seconds}")
        if not (0 <= fraction < 1):
            raise FaultSpecError(f"fraction must be within [0, 1), such as 0.5, got {fraction}")
        if status not in _STATUSES:
            raise FaultSpecError(f"status must be one of {', '.join(map(str, _STATUSES))}, got {status}")
        path = spec.get("path")
        method = spec.get("method")
        if path is not None and (not isinstance(path, str) or not path.startswith("/")):
            raise FaultSpecError(f"path must be a path prefix such as '/api/v3/order', got {path!r}")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise FaultSpecError(f"method must be an HTTP method such as 'POST', got {method!r}")
        process = spec.get("process", True)
        if not isinstance(process, bool):
            raise FaultSpecError(f"process must be true or false, got {process!r}")
        if kind == "partial_fill":
            path = path or "/api/v3/order"
            method = method or "POST"
        fault = Fault(
            kind=kind,
            remaining=count,
            path=path,
            method=method.upper() if method else None,
            seconds=seconds,
            fraction=fraction,
            status=status,
            retry_after=retry_after,
            process=process,
        )
        self._faults.append(fault)
        return fault

    def take(self, method: str, path: str, *, partial_fill: bool = False) -> Fault | None:
        """Consume and return the first armed fault for this request, or None.

        ``partial_fill`` selects that kind only (asked by the order handler); otherwise every
        other kind is considered.
        """
        for fault in self._faults:
            if (fault.kind == "partial_fill") != partial_fill or not fault.matches(method, path):
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        """Disarm every fault."""
        self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        """Return the armed faults as JSON-able data."""
        return [f.describe() for f in self._faults]
