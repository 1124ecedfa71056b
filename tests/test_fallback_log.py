"""The fallback log keeps what trainers need: the customer's words, who answered and with what, and
(decided later from Rasa's own tracker store) whether the customer carried on or dropped."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, select, text

from actions.fabrics import ActionOfferFabrics
from actions.support import ActionGraceFallback
from grace.learn import main as learn_main
from grace.learn.outcome import decide_outcomes
from grace.store import session_scope
from grace.store.models import FallbackLog
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import ROOT, Chat, texts

NOW = datetime(2026, 11, 20, 12, 0)


def logged() -> list[FallbackLog]:
    with session_scope() as session:
        return list(session.scalars(select(FallbackLog).order_by(FallbackLog.id)))


def test_the_models_answer_is_logged_with_who_answered(grace_env, monkeypatch):
    with FakeOpenAI() as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{fake.base_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", fake.api_key)
        fake.answer("Our Royal Ivory lace (LC-001) is lovely for a 60th 😍 Shall I send pictures?")
        said = texts(Chat().run(ActionGraceFallback, "which lace fit my mama 60th", "nlu_fallback", confidence=0.3))
    [row] = logged()
    assert row.answered_by == "model" and row.answer == said and "Royal Ivory" in row.answer
    assert row.text == "which lace fit my mama 60th" and row.tenant_id == "akanraby"
    assert row.intent_ranking == [{"name": "nlu_fallback", "confidence": 0.3}] and row.continued is None


def test_the_librarys_whole_answer_is_logged_when_no_model_is_configured(grace_env, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    chat = Chat()
    chat.run(ActionOfferFabrics, "show me red ankara", "describe_fabric")
    said = texts(chat.run(ActionGraceFallback, "hmm wetin be dis", "nlu_fallback", confidence=0.2))
    [row] = logged()
    assert row.answered_by == "library" and row.funnel_stage == "browsing"
    assert row.answer == said and len(said.splitlines()) >= 2  # the canned line and the way back to the funnel


def test_a_handled_but_unsure_turn_is_logged_with_the_flows_answer(grace_env):
    said = texts(Chat().run(ActionOfferFabrics, "sho me red ankra", "describe_fabric", confidence=0.5))
    [row] = logged()
    assert row.answered_by == "flow:action_offer_fabrics" and row.answer == said and said


# --- continued or dropped: read from a real Rasa SQL tracker store --------------------------------

def _epoch(naive: datetime) -> float:
    return naive.replace(tzinfo=timezone.utc).timestamp()


def _user(text: str, at: datetime, intent: str = "greet") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=_epoch(at))


@pytest.fixture
def tracker_url(grace_env, monkeypatch):
    path = grace_env / "tracker.db"
    monkeypatch.setenv("GRACE_TRACKER_DATABASE_URL", f"sqlite:///{path}")
    return f"sqlite:///{path}"


def save_conversation(url: str, sender: str, events: list) -> None:
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=url.split("///", 1)[1])
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()


def fallback_at(conversation_id: str, at: datetime) -> None:
    with session_scope() as session:
        session.add(FallbackLog(tenant_id=conversation_id.split(":")[0], conversation_id=conversation_id,
                                text="hmm", intent="nlu_fallback", confidence=0.2, intent_ranking=[],
                                funnel_stage="start", answered_by="library", answer="Sorry?", created_at=at))


def outcomes() -> dict[str, bool | None]:
    return {row.conversation_id: row.continued for row in logged()}


def test_continued_dropped_and_undecided_are_told_apart(tracker_url):
    asked = NOW - timedelta(hours=3)
    save_conversation(tracker_url, "akanraby:+234801", [  # wrote again 4 minutes later
        _user("hmm", asked - timedelta(seconds=1)), BotUttered("Sorry?", timestamp=_epoch(asked)),
        _user("show me lace", asked + timedelta(minutes=4), "describe_fabric")])
    save_conversation(tracker_url, "akanraby:+234802", [  # only Grace and ops afterwards: dropped
        _user("hmm", asked - timedelta(seconds=1)), BotUttered("Sorry?", timestamp=_epoch(asked)),
        ActionExecuted("action_listen", timestamp=_epoch(asked + timedelta(minutes=1))),
        UserUttered("EXTERNAL: EXTERNAL_payment_verified", {"name": "EXTERNAL_payment_verified"},
                    timestamp=_epoch(asked + timedelta(minutes=5)))])
    save_conversation(tracker_url, "kentehouse:+233801", [  # came back, but two hours later: dropped
        _user("hmm", asked - timedelta(seconds=1)), _user("hello again", asked + timedelta(hours=2))])
    later = [_user("hmm", NOW - timedelta(minutes=6))]
    save_conversation(tracker_url, "kentehouse:+233802", later)
    fallback_at("akanraby:+234801", asked)
    fallback_at("akanraby:+234802", asked)
    fallback_at("kentehouse:+233801", asked)
    fallback_at("kentehouse:+233802", NOW - timedelta(minutes=5))  # window still open: not yet known
    fallback_at("akanraby:+234803", asked)  # a conversation the tracker store does not have

    with session_scope() as session:
        counts = decide_outcomes(session, tracker_url, now=NOW)
    assert outcomes() == {"akanraby:+234801": True, "akanraby:+234802": False, "kentehouse:+233801": False,
                          "kentehouse:+233802": None, "akanraby:+234803": None}
    assert (counts.continued, counts.dropped, counts.undecided) == (1, 2, 2)

    # once decided, an answer stays (old conversations may later be cleaned out of the tracker store);
    # an undecided one is decided when its window has passed
    later.append(_user("thanks", NOW + timedelta(minutes=10), "thank"))
    save_conversation(tracker_url, "kentehouse:+233802", later)
    engine = create_engine(tracker_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM events WHERE sender_id = 'akanraby:+234801'"))
    engine.dispose()
    with session_scope() as session:
        decide_outcomes(session, tracker_url, now=NOW + timedelta(hours=1))
    assert outcomes()["kentehouse:+233802"] is True and outcomes()["akanraby:+234801"] is True


def test_a_window_of_a_different_length_changes_the_verdict(tracker_url):
    asked = NOW - timedelta(hours=3)
    save_conversation(tracker_url, "akanraby:+234801", [_user("back", asked + timedelta(minutes=20))])
    fallback_at("akanraby:+234801", asked)
    with session_scope() as session:
        decide_outcomes(session, tracker_url, now=NOW, window=timedelta(minutes=10))
    assert outcomes() == {"akanraby:+234801": False}


def test_no_tracker_store_yet_leaves_everything_undecided(tracker_url):
    fallback_at("akanraby:+234801", NOW - timedelta(days=2))
    with session_scope() as session:
        counts = decide_outcomes(session, tracker_url, now=NOW)
    assert outcomes() == {"akanraby:+234801": None} and counts.undecided == 1
    assert not Path(tracker_url.split("///", 1)[1]).exists()  # no empty file left where Rasa keeps its own


def test_grace_learn_decides_outcomes_and_reports_them(tracker_url, grace_env):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    asked = now - timedelta(hours=2)
    save_conversation(tracker_url, "akanraby:+234801", [_user("lace", asked + timedelta(minutes=2))])
    save_conversation(tracker_url, "akanraby:+234802", [_user("hmm", asked - timedelta(seconds=1))])
    fallback_at("akanraby:+234801", asked)
    fallback_at("akanraby:+234802", asked)
    out = grace_env / "suggestions"
    assert learn_main(["--out", str(out), "--nlu", str(ROOT / "data" / "nlu")]) == 0
    assert outcomes() == {"akanraby:+234801": True, "akanraby:+234802": False}
    assert "continued 1, dropped 1" in (out / "review.md").read_text()


@pytest.fixture
def postgres_tracker_url(grace_env, pg_url):
    """A throwaway database on the machine's PostgreSQL, for Rasa's tracker store in the scaled profile
    (fails, never skips, when PostgreSQL is down)."""
    return pg_url


def test_outcomes_are_read_from_a_postgresql_tracker_store(postgres_tracker_url):
    asked = NOW - timedelta(hours=3)
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host="127.0.0.1", port=5432, username="postgres",
                            db=postgres_tracker_url.rsplit("/", 1)[1])
    for sender, back_after in (("akanraby:+234801", timedelta(minutes=3)), ("akanraby:+234802", timedelta(hours=5))):
        asyncio.run(store.save(DialogueStateTracker.from_events(
            sender, [_user("hmm", asked - timedelta(seconds=1)), _user("lace", asked + back_after)])))
        fallback_at(sender, asked)
    store.engine.dispose()
    with session_scope() as session:
        decide_outcomes(session, postgres_tracker_url, now=NOW)
    assert outcomes() == {"akanraby:+234801": True, "akanraby:+234802": False}
