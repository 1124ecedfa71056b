"""A turn left unfinished by a dead replica is taken over by exactly one retry (grace/messaging/inbox.py)."""
from __future__ import annotations

import pytest

from grace.messaging.inbox import finish_turn, first_delivery, pending_since, take_over
from tests.test_dedupe import BACKENDS, use_backend


@pytest.fixture(params=BACKENDS)
def inbox(request, grace_env, monkeypatch):
    """Each test with the inbox in SQL and in Redis (REDIS_URL, the scaled profile)."""
    yield from use_backend(request.param, monkeypatch)


def test_a_lost_turn_is_taken_over_once_and_then_done(inbox):
    assert first_delivery("akanraby", "rest", "m-1", {"conversation": "akanraby:+1"}, pending_id="akanraby/m-1")
    assert not first_delivery("akanraby", "rest", "m-1", {"conversation": "akanraby:+1"}, pending_id="akanraby/m-1")
    seen = pending_since("rest", "akanraby/m-1")
    assert seen is not None
    assert take_over("rest", "akanraby/m-1", seen)
    assert not take_over("rest", "akanraby/m-1", seen)  # a second retry that saw the same state loses
    assert pending_since("rest", "akanraby/m-1") not in (None, seen)  # still pending, under its new owner
    finish_turn("rest", "akanraby/m-1")
    assert pending_since("rest", "akanraby/m-1") is None


def test_the_same_rest_message_id_at_two_businesses_is_two_messages(inbox):
    assert first_delivery("akanraby", "rest", "m-1", {}, pending_id="akanraby/m-1")
    assert first_delivery("kentehouse", "rest", "m-1", {}, pending_id="kentehouse/m-1")
