"""One business's provider account never serves another's traffic. Two local Twilio servers with their own
account SID and auth token: akanraby has its own account on the first; kentehouse uses the platform's (the
environment's), the second. Likewise two local Graph APIs for Meta. The production WhatsApp channels run on a
real Sanic server; a turn answers by echoing the message (Rasa is not running), so every reply that reaches
a provider went through the production sending path."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic
from sqlalchemy import select

from connectors.meta import MetaWhatsAppInput
from connectors.twilio import TwilioWhatsAppInput
from grace.store import session_scope
from grace.store.models import OutboundMessage
from grace.store.secrets import new_key
from grace.tenancy.credentials import forget, save
from grace.tenancy.registry import get_registry
from grace.whatsapp.delivery import send_proactive
from tests.fakes.meta_api import FakeMetaGraph, meta_signature, meta_text_payload
from tests.fakes.twilio_api import FakeTwilio, twilio_form, twilio_signature
from tests.fakes.webhooks import post_webhook
from tests.helpers import AKANRABY_META_ID, KENTE_META_ID, sanic_serving
from tests.web.conftest import PNG

SID_A, TOKEN_A = "AC" + "a1" * 16, "akanrabyOwnTwilioToken0123456789"
SID_PLATFORM, TOKEN_PLATFORM = "AC" + "b2" * 16, "platformTwilioToken0123456789abc"
META_TOKEN_A, META_SECRET_A = "EAAG-akanraby-own-access-token", "akanraby-own-app-secret-0001"
META_SECRET_PLATFORM = "platform-meta-app-secret-0002"
AKANRABY, KENTE = "+2349010000001", "+233200000001"
CUSTOMER = "+2348011112222"


async def echo(message: UserMessage) -> None:
    """Rasa's part, as small as it gets: one reply saying what the customer wrote."""
    await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Sanic("own_provider_accounts")
    for channel in (TwilioWhatsAppInput(), MetaWhatsAppInput()):
        app.blueprint(channel.blueprint(echo), url_prefix=f"/webhooks/{channel.name()}")
    with sanic_serving(app) as url:
        yield url


@pytest.fixture
def twilios(grace_env, server, monkeypatch) -> Iterator[tuple[FakeTwilio, FakeTwilio]]:
    """(akanraby's own Twilio account, the platform's): the platform's in the environment, akanraby's entered
    as its owner would, sealed in the store."""
    with FakeTwilio(SID_A, TOKEN_A) as own, FakeTwilio(SID_PLATFORM, TOKEN_PLATFORM) as platform:
        monkeypatch.setenv("GRACE_SECRET_KEY", new_key())
        monkeypatch.setenv("GRACE_PUBLIC_URL", server)  # where Twilio calls and what it signs over
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID_PLATFORM)
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN_PLATFORM)
        monkeypatch.setenv("TWILIO_API_BASE_URL", platform.base_url)
        monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
        forget()
        with session_scope() as session:
            save(session, "akanraby", "twilio", {"account_sid": SID_A, "auth_token": TOKEN_A,
                                                 "api_base_url": own.base_url}, "owner@akanraby.test")
        yield own, platform
        forget()


def inbound(server: str, to: str, token: str, body: str = "hello", sid: str | None = None,
            media: list[tuple[str, str]] | None = None) -> tuple[int, dict[str, str]]:
    url = f"{server}/webhooks/whatsapp/webhook"
    form = twilio_form(to=to, from_=CUSTOMER, body=body, sid=sid, media=media or [])
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": twilio_signature(url, form, token)}
    status, _ = post_webhook(url, urlencode(form).encode(), headers)
    return status, form


def bodies(fake: FakeTwilio) -> list[str]:
    return [m.get("Body") or "" for m in fake.messages]


def test_a_message_for_a_business_signed_with_another_accounts_token_is_refused_and_nothing_runs(twilios, server):
    own, platform = twilios
    forged, form = inbound(server, AKANRABY, TOKEN_PLATFORM, "forged")
    assert forged == 403
    # The same message id, signed with akanraby's own token, is new to Grace: the forged one left no trace.
    accepted, _ = inbound(server, AKANRABY, TOKEN_A, "mine", sid=form["MessageSid"])
    assert accepted == 200
    own.wait_for_messages(1)
    assert bodies(own) == ["echo: mine"] and own.messages[0]["From"] == f"whatsapp:{AKANRABY}"
    assert platform.messages == []  # the platform's account saw nothing of akanraby's traffic


def test_each_business_is_answered_through_its_own_account_only(twilios, server):
    own, platform = twilios
    assert inbound(server, KENTE, TOKEN_A, "forged for kente")[0] == 403  # akanraby's token speaks for no one else
    assert inbound(server, KENTE, TOKEN_PLATFORM, "kente")[0] == 200
    assert inbound(server, AKANRABY, TOKEN_A, "akanraby")[0] == 200
    platform.wait_for_messages(1)
    own.wait_for_messages(1)
    assert bodies(platform) == ["echo: kente"] and platform.messages[0]["From"] == f"whatsapp:{KENTE}"
    assert bodies(own) == ["echo: akanraby"]


def test_media_is_downloaded_with_the_businesss_own_account(twilios, server):
    own, platform = twilios
    url = own.add_media(PNG, "image/png")  # akanraby's own account's media: only its credentials open it
    assert inbound(server, AKANRABY, TOKEN_A, "my proof", media=[(url, "image/png")])[0] == 200
    own.wait_for_messages(1)
    # The picture was kept and the turn is about it; with another account's credentials the download is refused
    # and the customer reads "could not download your picture" before an answer to the caption.
    assert bodies(own) == ["echo: /share_image"]


def test_status_callbacks_are_checked_with_the_senders_own_token(twilios, server):
    own, platform = twilios
    own.callbacks.hold()
    assert inbound(server, AKANRABY, TOKEN_A, "hi")[0] == 200
    sid = own.wait_for_messages(1)[0]["sid"]
    assert own.requests[0]["form"]["StatusCallback"] == f"{server}/webhooks/whatsapp/status"  # unchanged
    status_url = f"{server}/webhooks/whatsapp/status"
    assert own.post_status(status_url, sid, "failed", auth_token=TOKEN_PLATFORM)[0] == 403
    own.callbacks.release()  # Twilio's own callbacks, signed with akanraby's token
    answered = own.callbacks.wait_for(2)[-1]  # after the forged one, recorded first
    assert (answered["message_status"], answered["status"]) == ("sent", 200)
    with session_scope() as session:
        assert session.scalars(select(OutboundMessage.status).where(OutboundMessage.provider_id == sid)).one() == "sent"


def test_proactive_messages_go_through_the_businesss_own_account(twilios, server):
    own, platform = twilios
    assert inbound(server, AKANRABY, TOKEN_A, "hi")[0] == 200  # opens the 24-hour window
    own.wait_for_messages(1)
    outcome = asyncio.run(send_proactive(get_registry().get("akanraby"), CUSTOMER, [{"text": "Your order shipped"}],
                                         "order_update", ["Your order shipped"]))
    assert outcome.status == "sent"
    assert bodies(own) == ["echo: hi", "Your order shipped"] and platform.messages == []


# Meta --------------------------------------------------------------------------------------------------


@pytest.fixture
def metas(grace_env, server, monkeypatch) -> Iterator[tuple[FakeMetaGraph, FakeMetaGraph]]:
    with FakeMetaGraph(access_token=META_TOKEN_A) as own, FakeMetaGraph() as platform:
        monkeypatch.setenv("GRACE_SECRET_KEY", new_key())
        monkeypatch.setenv("META_ACCESS_TOKEN", platform.access_token)
        monkeypatch.setenv("META_APP_SECRET", META_SECRET_PLATFORM)
        monkeypatch.setenv("META_API_BASE_URL", platform.base_url)
        monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
        forget()
        with session_scope() as session:
            save(session, "akanraby", "meta", {"access_token": META_TOKEN_A, "app_secret": META_SECRET_A,
                                               "api_base_url": own.base_url}, "owner@akanraby.test")
        yield own, platform
        forget()


def meta_post(server: str, payload: dict, secret: str) -> int:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, secret)}
    return post_webhook(f"{server}/webhooks/meta_whatsapp/webhook", body, headers)[0]


def test_a_meta_entry_for_a_business_signed_with_the_platforms_secret_is_refused(metas, server):
    own, platform = metas
    payload = meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=CUSTOMER[1:], text="forged")
    assert meta_post(server, payload, META_SECRET_PLATFORM) == 403
    assert meta_post(server, payload, META_SECRET_A) == 200  # the same wamid: the forged one left no trace
    own.wait_for_messages(1)
    assert platform.messages == []
    kente = meta_text_payload(phone_number_id=KENTE_META_ID, wa_id=CUSTOMER[1:], text="kente")
    assert meta_post(server, kente, META_SECRET_A) == 403
    assert meta_post(server, kente, META_SECRET_PLATFORM) == 200
    platform.wait_for_messages(1)
    assert len(own.messages) == 1


def test_a_meta_body_mixing_businesses_with_different_secrets_is_refused_whole(metas, server):
    own, platform = metas
    mixed = meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=CUSTOMER[1:], text="one")
    mixed["entry"] += meta_text_payload(phone_number_id=KENTE_META_ID, wa_id=CUSTOMER[1:], text="two")["entry"]
    assert meta_post(server, mixed, META_SECRET_A) == 403
    assert meta_post(server, mixed, META_SECRET_PLATFORM) == 403
    single = meta_text_payload(phone_number_id=AKANRABY_META_ID, wa_id=CUSTOMER[1:], text="after")
    assert meta_post(server, single, META_SECRET_A) == 200
    own.wait_for_messages(1)
    assert [m for m in own.messages] and platform.messages == []
