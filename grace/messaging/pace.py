"""How fast one customer may write: a sliding window per conversation, in this process's memory.

Past the limit a message gets a polite "give me a moment" instead of a turn (no model call, no order,
no stock held), so one sender cannot flood Rasa, the model or the store. The window is per process:
with several replicas a sender is held to the limit on each, which is still bounded. Memory is bounded
too: the least recently heard conversations are forgotten first.
"""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict, deque

MAX_CONVERSATIONS = 50_000
WINDOW_S = 60.0


def per_minute() -> int:
    return int(os.environ.get("GRACE_MAX_MESSAGES_PER_MINUTE", "20"))


class Pace:
    def __init__(self) -> None:
        self._heard: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, conversation_id: str, now: float | None = None) -> bool:
        """Count this message; False when the conversation wrote more than the limit in the last minute."""
        now = time.monotonic() if now is None else now
        with self._lock:
            times = self._heard.pop(conversation_id, None) or deque()
            while times and now - times[0] > WINDOW_S:
                times.popleft()
            allowed = len(times) < per_minute()
            if allowed:
                times.append(now)
            self._heard[conversation_id] = times
            while len(self._heard) > MAX_CONVERSATIONS:
                self._heard.popitem(last=False)
            return allowed


PACE = Pace()
