"""A customer's conversation as Rasa's tracker store keeps it, shown on their page."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from grace.config import load_settings
from grace.rasa_plugins.tracker_store import GraceSQLTrackerStore
from grace.store import session_scope
from grace.store.models import Customer
from tests.web.conftest import login, make_order


def save_events(sender: str, events: list) -> None:
    """The conversation in Rasa's own tracker store, as Rasa saves it."""
    store = GraceSQLTrackerStore(dialect="sqlite", db=load_settings().tracker_database_url.split("///", 1)[1])
    asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    store.engine.dispose()


def save_conversation(sender: str, turns: list[tuple[str, str]]) -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp()
    save_events(sender, [UserUttered(text, {"name": "greet", "confidence": 0.9}, timestamp=start + i)
                         if who == "customer" else BotUttered(text, timestamp=start + i)
                         for i, (who, text) in enumerate(turns)])


def test_the_customers_page_shows_their_conversation_and_no_one_elses(client):
    make_order("akanraby", "+2348011111111", "Ada")
    save_conversation("akanraby:+2348011111111", [("customer", "abeg how much <b>is</b> ankara"),
                                                  ("grace", "Marigold Bloom is ₦4,500 per yard")])
    save_conversation("kentehouse:+2348011111111", [("customer", "same phone, other shop")])
    login(client, "ops@akanraby.test")
    with session_scope() as session:
        ada = session.scalars(select(Customer).where(Customer.tenant_id == "akanraby")).one().id
    page = client.get(f"/customers/{ada}").get_data(as_text=True)
    assert "abeg how much &lt;b&gt;is&lt;/b&gt; ankara" in page
    assert "Marigold Bloom is ₦4,500 per yard" in page
    assert page.index("abeg how much") < page.index("Marigold Bloom is")
    assert "same phone, other shop" not in page


def test_pictures_in_the_conversation_are_shown_as_pictures(client):
    make_order("akanraby", "+2348022222222", "Bola")
    # As Rasa keeps them: a picture is the intent literal with its caption in the metadata; an ops
    # verdict is an EXTERNAL intent Grace triggered, not the customer's words.
    events = [UserUttered("/share_image", {"name": "share_image", "confidence": 1.0},
                          metadata={"media": [{"url": "https://grace.example.test/media/akanraby/x.jpg",
                                               "content_type": "image/jpeg"}], "caption": "this one abeg"},
                          timestamp=1.0),
              BotUttered("Marigold Bloom", {"image": "https://media.example.test/ak-001.jpg"}, timestamp=2.0),
              BotUttered(None, {"image": "file:///var/media/private.jpg"}, timestamp=3.0),
              UserUttered("EXTERNAL: EXTERNAL_payment_verified", {"name": "EXTERNAL_payment_verified",
                                                                  "confidence": 1.0}, timestamp=4.0)]
    save_events("akanraby:+2348022222222", events)
    login(client, "ops@akanraby.test")
    with session_scope() as session:
        bola = session.scalars(select(Customer).where(Customer.name == "Bola")).one().id
    page = client.get(f"/customers/{bola}").get_data(as_text=True)
    assert '<img class="picture" src="https://grace.example.test/media/akanraby/x.jpg"' in page
    assert '<img class="picture" src="https://media.example.test/ak-001.jpg"' in page
    assert "file:///var/media/private.jpg" not in page and "[image]" in page  # not a URL a browser may load
    assert "this one abeg" in page and "share_image" not in page and "EXTERNAL" not in page


def test_a_persons_reply_during_a_takeover_shows_as_theirs_not_graces(client):
    make_order("akanraby", "+2348033333333", "Chi")
    save_events("akanraby:+2348033333333", [
        UserUttered("abeg I want 200 yards, can we talk price", {"name": "ask_price", "confidence": 0.9},
                    timestamp=1.0),
        BotUttered("For 200 yards I can do ₦4,000 a yard, Chi", metadata={"author": "ops@akanraby.test",
                                                                            "author_id": 2}, timestamp=2.0)])
    login(client, "ops@akanraby.test")
    with session_scope() as session:
        chi = session.scalars(select(Customer).where(Customer.phone == "+2348033333333")).one().id
    page = client.get(f"/customers/{chi}").get_data(as_text=True)
    reply = page[page.index("For 200 yards") - 300:page.index("For 200 yards")]
    assert 'class="turn ops"' in reply and "ops@akanraby.test:" in reply
