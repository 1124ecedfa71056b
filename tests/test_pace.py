"""One customer writing faster than the limit gets a polite pause, not turns; others are not slowed."""
from __future__ import annotations

from grace.messaging.pace import WINDOW_S, Pace


def test_the_limit_holds_per_conversation_and_frees_up_as_the_minute_passes(monkeypatch):
    monkeypatch.setenv("GRACE_MAX_MESSAGES_PER_MINUTE", "5")
    pace = Pace()
    assert [pace.allow("akanraby:+1", now=t) for t in range(6)] == [True] * 5 + [False]
    assert pace.allow("akanraby:+2", now=5)  # another customer is not slowed
    assert not pace.allow("akanraby:+1", now=WINDOW_S - 1)
    assert pace.allow("akanraby:+1", now=WINDOW_S + 1)  # the first messages left the window


def test_memory_stays_bounded_with_endless_new_senders(monkeypatch):
    monkeypatch.setattr("grace.messaging.pace.MAX_CONVERSATIONS", 100)
    pace = Pace()
    for n in range(1000):
        pace.allow(f"akanraby:+{n}", now=0)
    assert len(pace._heard) == 100
