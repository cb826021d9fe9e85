"""Login throttling per client address: a sliding window held in memory (one web process)."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["Throttle"]


class Throttle:
    """At most ``limit`` attempts per ``window_s`` seconds per key; a refusal says when to retry."""

    def __init__(self, limit: int, window_s: float = 60.0, *, max_keys: int = 10_000) -> None:
        self._limit = limit
        self._window = window_s
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now_s: float) -> float | None:
        """Count one attempt; return None when allowed, else the seconds until the next is."""
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= self._max_keys:
                    self._evict(now_s)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now_s - self._window:
                hits.popleft()
            if len(hits) >= self._limit:
                return max(hits[0] + self._window - now_s, 0.0)
            hits.append(now_s)
            return None

    def _evict(self, now_s: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now_s - self._window]:
            del self._hits[key]
        if len(self._hits) >= self._max_keys:  # still full: forget the oldest key
            oldest = min(self._hits, key=lambda k: self._hits[k][-1])
            del self._hits[oldest]
