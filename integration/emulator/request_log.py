"""The request log: one entry per AWS request, readable through the control API."""

import threading
import time
from datetime import datetime, timezone

from .operations import AwsRequest

# Entries kept; the oldest are dropped first. Sequence numbers keep counting.
MAX_ENTRIES = 50_000


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []
        self._next_seq = 1

    def record(self, request: AwsRequest, status: int, fault: str | None, started: float) -> dict:
        with self._lock:
            entry = {
                "seq": self._next_seq,
                "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "access_key": request.access_key,
                "region": request.region,
                "service": request.service,
                "operation": request.operation,
                "params": request.params,
                "mutating": request.mutating,
                "status": status,
                "fault": fault,
            }
            self._next_seq += 1
            self._entries.append(entry)
            if len(self._entries) > MAX_ENTRIES:
                del self._entries[: len(self._entries) - MAX_ENTRIES]
            return entry

    def read(self, since: int = 0, access_key: str | None = None) -> list[dict]:
        """Return entries with a sequence number above `since`, optionally for one access key."""
        with self._lock:
            return [e for e in self._entries
                    if e["seq"] > since and (access_key is None or e["access_key"] == access_key)]

    def last_seq(self) -> int:
        with self._lock:
            return self._next_seq - 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


LOG = RequestLog()
