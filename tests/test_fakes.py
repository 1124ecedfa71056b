"""The Twilio and Meta fakes must behave like the real APIs, or tests built on them prove nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from xml.etree import ElementTree

import pytest
import requests

from tests.fakes.meta_api import (
    DEFAULT_PHONE_NUMBER_IDS,
    FakeMetaGraph,
    MetaTemplate,
    meta_image_payload,
    meta_interactive_payload,
    meta_signature,
    meta_status_payload,
    meta_text_payload,
)
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.paystack_api import FakePaystack, paystack_signature
from tests.fakes.s3_api import (
    DEFAULT_SECRET_KEY,
    EMPTY_SHA256,
    FakeS3,
    canonical_request,
    sigv4_signature,
    string_to_sign,
)
from tests.fakes.stripe_api import FakeStripe, stripe_signature
from tests.fakes.twilio_api import FakeTwilio, twilio_form, twilio_signature

SID, TOKEN = "ACtest", "twilio-test-token"
AUTH = (SID, TOKEN)
BEARER = {"Authorization": "Bearer meta-test-token"}
PHONE_ID = "109876543210"
CONTENT_SID = "HX" + "0123456789abcdef" * 2  # Twilio's shape: HX + 32 hex digits


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def meta() -> Iterator[FakeMetaGraph]:
    fake = FakeMetaGraph(phone_number_ids=[PHONE_ID]).start()
    yield fake
    fake.stop()


def _send(
    fake: FakeTwilio, data: dict[str, str] | list[tuple[str, str]], **kwargs: object
) -> requests.Response:
    kwargs.setdefault("auth", AUTH)
    url = f"{fake.base_url}/2010-04-01/Accounts/{SID}/Messages.json"
    return requests.post(url, data=data, timeout=5, **kwargs)  # type: ignore[arg-type]


def _graph_send(fake: FakeMetaGraph, payload: object, headers: dict[str, str] = BEARER) -> requests.Response:
    return requests.post(
        f"{fake.base_url}/v20.0/{PHONE_ID}/messages", json=payload, headers=headers, timeout=5
    )


WHATSAPP = {"From": "whatsapp:+14155238886", "To": "whatsapp:+2348012345678"}


# --------------------------------------------------------------------------- signatures

DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        # twilio.com/docs/usage/security, current edition of the worked example.
        ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="),
        # The older edition of the same example (the one quoted in many SDK test suites).
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ],
)
def test_twilio_signature_matches_documented_vectors(caller: str, expected: str) -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": caller,
        "Digits": "1234",
        "From": caller,
        "To": "+18005551212",
    }
    assert twilio_signature(DOC_URL, params, "12345") == expected
    assert twilio_signature(DOC_URL, list(reversed(params.items())), "12345") == expected


def test_twilio_signature_agrees_with_twilio_library() -> None:
    validator_module = pytest.importorskip("twilio.request_validator")
    form = twilio_form(to="+14155238886", from_="+2348012345678", body="Ẹ kú àárọ̀ 👋", profile_name="Adé")
    url = "https://grace.example/webhooks/twilio/webhook?tenant=akanraby"
    expected = validator_module.RequestValidator(TOKEN).compute_signature(url, form)
    assert twilio_signature(url, form, TOKEN) == expected
    assert validator_module.RequestValidator(TOKEN).validate(url, form, twilio_signature(url, form, TOKEN))
    # Repeated names: the library signs every distinct value in sorted order, so must we.
    multidict = pytest.importorskip("multidict")
    pairs = [("MediaUrl", "https://b.example/2"), ("Body", "x"), ("MediaUrl", "https://a.example/1")]
    library = validator_module.RequestValidator(TOKEN).compute_signature(url, multidict.MultiDict(pairs))
    assert twilio_signature(url, pairs, TOKEN) == library


def test_meta_signature_is_hex_hmac_sha256_of_raw_body() -> None:
    body = json.dumps(meta_text_payload(phone_number_id=PHONE_ID, wa_id="2348012345678", text="hi")).encode()
    by_hand = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert meta_signature(body, "app-secret") == f"sha256={by_hand}"
    assert meta_signature(body + b" ", "app-secret") != f"sha256={by_hand}"


# --------------------------------------------------------------------------- webhook builders


def test_twilio_form_looks_like_an_inbound_whatsapp_webhook() -> None:
    form = twilio_form(
        to="+14155238886",
        from_="+2348012345678",
        body="",
        profile_name="Ada",
        media=[("https://x.example/m1", "image/jpeg"), ("https://x.example/m2", "application/pdf")],
    )
    assert form["MessageSid"].startswith("SM") and len(form["MessageSid"]) == 34
    assert form["SmsMessageSid"] == form["MessageSid"]
    assert form["From"] == "whatsapp:+2348012345678" and form["To"] == "whatsapp:+14155238886"
    assert form["WaId"] == "2348012345678" and form["ProfileName"] == "Ada"
    assert form["NumMedia"] == "2" and form["MediaUrl1"] == "https://x.example/m2"
    assert form["MediaContentType0"] == "image/jpeg" and form["MessageType"] == "image"
    assert (form["AccountSid"], form["NumSegments"], form["ApiVersion"]) == ("ACtest", "1", "2010-04-01")
    assert "ButtonPayload" not in form and all(isinstance(v, str) for v in form.values())
    button = twilio_form(to="+1", from_="+2", sid="SMfixed", button_payload="buy", button_text="Buy now")
    assert (button["MessageSid"], button["ButtonPayload"], button["ButtonText"]) == (
        "SMfixed",
        "buy",
        "Buy now",
    )
    assert button["NumMedia"] == "0" and "MediaUrl0" not in button and "ProfileName" not in button


def test_meta_payloads_have_the_cloud_api_shape() -> None:
    text = meta_text_payload(phone_number_id=PHONE_ID, wa_id="2348012345678", text="hello")
    assert text["object"] == "whatsapp_business_account"
    change = text["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == PHONE_ID
    assert value["contacts"] == [{"profile": {"name": "Ada"}, "wa_id": "2348012345678"}]
    (message,) = value["messages"]
    assert message["from"] == "2348012345678" and message["id"].startswith("wamid.")
    assert message["type"] == "text" and message["text"] == {"body": "hello"}
    assert abs(int(message["timestamp"]) - time.time()) < 5

    image = meta_image_payload(phone_number_id=PHONE_ID, wa_id="1", media_id="42", caption="blue one")
    img = image["entry"][0]["changes"][0]["value"]["messages"][0]
    assert img["type"] == "image" and img["image"]["id"] == "42" and img["image"]["caption"] == "blue one"
    assert img["image"]["mime_type"] == "image/jpeg" and img["image"]["sha256"]
    no_caption = meta_image_payload(phone_number_id=PHONE_ID, wa_id="1", media_id="42", message_id="wamid.X")
    assert "caption" not in no_caption["entry"][0]["changes"][0]["value"]["messages"][0]["image"]

    button = meta_interactive_payload(phone_number_id=PHONE_ID, wa_id="1", reply_id="yes", title="Yes")
    inter = button["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    assert inter == {"type": "button_reply", "button_reply": {"id": "yes", "title": "Yes"}}
    listed = meta_interactive_payload(
        phone_number_id=PHONE_ID, wa_id="1", reply_id="r1", title="Red", kind="list_reply", description="d"
    )
    inter = listed["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    assert inter == {"type": "list_reply", "list_reply": {"id": "r1", "title": "Red", "description": "d"}}
    with pytest.raises(ValueError):
        meta_interactive_payload(phone_number_id=PHONE_ID, wa_id="1", reply_id="x", title="x", kind="nope")

    status = meta_status_payload(phone_number_id=PHONE_ID, message_id="wamid.ABC", status="read")
    value = status["entry"][0]["changes"][0]["value"]
    assert "messages" not in value and "contacts" not in value
    (receipt,) = value["statuses"]
    assert receipt["id"] == "wamid.ABC" and receipt["status"] == "read" and receipt["recipient_id"]


# --------------------------------------------------------------------------- FakeTwilio


def test_twilio_accepts_a_message_and_answers_like_twilio(twilio: FakeTwilio) -> None:
    response = _send(twilio, {**WHATSAPP, "Body": "Hello from Grace"})
    assert response.status_code == 201
    data = response.json()
    assert data["sid"].startswith("SM") and len(data["sid"]) == 34
    assert (data["status"], data["to"], data["from"]) == ("queued", WHATSAPP["To"], WHATSAPP["From"])
    assert (data["body"], data["num_media"], data["account_sid"]) == ("Hello from Grace", "0", SID)
    assert parsedate_to_datetime(data["date_created"]).tzinfo is not None
    assert twilio.messages == [
        {
            "sid": data["sid"],
            "From": WHATSAPP["From"],
            "To": WHATSAPP["To"],
            "Body": "Hello from Grace",
            "MediaUrl": [],
            "ContentSid": None,
            "ContentVariables": None,
        }
    ]
    assert twilio.requests[0]["status"] == 201 and twilio.requests[0]["form"]["Body"] == "Hello from Grace"


def test_twilio_records_repeated_media_urls_and_templates(twilio: FakeTwilio) -> None:
    media = [
        *WHATSAPP.items(),
        ("MediaUrl", "https://cdn.example/a.jpg"),
        ("MediaUrl", "https://cdn.example/b.jpg"),
    ]
    assert _send(twilio, media).json()["num_media"] == "2"
    template = {**WHATSAPP, "ContentSid": CONTENT_SID, "ContentVariables": '{"1": "Ada"}'}
    assert _send(twilio, template).status_code == 201
    first, second = twilio.messages
    assert (
        first["MediaUrl"] == ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]
        and first["Body"] == ""
    )
    assert (second["ContentSid"], second["ContentVariables"], second["Body"]) == (CONTENT_SID, '{"1": "Ada"}', "")
    assert twilio.requests[0]["form"]["MediaUrl"] == first["MediaUrl"]


def twilio_error(code: int, message: str, status: int) -> dict:
    """Twilio's error body, as its API answers."""
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


@pytest.mark.parametrize("auth", [None, (SID, "wrong"), ("ACother", TOKEN)])
def test_twilio_rejects_bad_credentials(twilio: FakeTwilio, auth: tuple[str, str] | None) -> None:
    response = _send(twilio, {**WHATSAPP, "Body": "hi"}, auth=auth)
    assert response.status_code == 401
    assert response.json() == twilio_error(20003, "Authenticate", 401)
    assert twilio.messages == [] and [r["status"] for r in twilio.requests] == [401]


def test_twilio_rejects_another_account_and_incomplete_messages(twilio: FakeTwilio) -> None:
    other = requests.post(
        f"{twilio.base_url}/2010-04-01/Accounts/ACother/Messages.json", data=WHATSAPP, auth=AUTH, timeout=5
    )
    assert other.status_code == 404
    assert _send(twilio, {"To": WHATSAPP["To"], "Body": "hi"}).json()["code"] == 21619
    assert _send(twilio, {"From": WHATSAPP["From"], "Body": "hi"}).json()["code"] == 21619
    empty = _send(twilio, {**WHATSAPP, "Body": ""})
    assert (empty.status_code, empty.json()["code"]) == (400, 21619)
    assert twilio.messages == [] and [r["status"] for r in twilio.requests] == [404, 400, 400, 400]


def test_twilio_refuses_bodies_over_1600_characters(twilio: FakeTwilio) -> None:
    assert _send(twilio, {**WHATSAPP, "Body": "é" * 1600}).status_code == 201
    too_long = _send(twilio, {**WHATSAPP, "Body": "x" * 1601})
    assert too_long.status_code == 400
    assert too_long.json()["code"] == 21617
    assert too_long.json()["message"] == "The concatenated message body exceeds the 1600 character limit"
    assert len(twilio.messages) == 1
    assert [r["status"] for r in twilio.requests] == [201, 400]
    assert len(twilio.requests[1]["form"]["Body"]) == 1601


def test_twilio_fail_next_injects_failures_then_recovers(twilio: FakeTwilio) -> None:
    twilio.fail_next(429, count=2, retry_after=3)
    twilio.fail_next(503)
    statuses, retry_afters = [], []
    for _ in range(4):
        response = _send(twilio, {**WHATSAPP, "Body": "retry me"})
        statuses.append(response.status_code)
        retry_afters.append(response.headers.get("Retry-After"))
    assert statuses == [429, 429, 503, 201]
    assert retry_afters == ["3", "3", None, None]
    assert [r["status"] for r in twilio.requests] == [429, 429, 503, 201]
    assert twilio.requests[0]["response"]["code"] == 20429
    assert len(twilio.messages) == 1


def test_twilio_media_download_requires_auth(twilio: FakeTwilio) -> None:
    picture = b"\xff\xd8\xff\xe0 not really a jpeg"
    url = twilio.add_media(picture, "image/jpeg")
    assert url.startswith(f"{twilio.base_url}/2010-04-01/Accounts/{SID}/Messages/MM")
    assert "/Media/ME" in url
    assert requests.get(url, timeout=5).status_code == 401
    assert requests.get(url, auth=(SID, "wrong"), timeout=5).status_code == 401
    response = requests.get(url, auth=AUTH, timeout=5)
    assert response.status_code == 200 and response.content == picture
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Content-Length"] == str(len(picture))
    unknown = url[: url.rindex("/ME") + 3] + "0" * 32
    assert requests.get(unknown, auth=AUTH, timeout=5).status_code == 404


def test_wait_for_messages_blocks_until_arrival_and_reports_on_timeout(twilio: FakeTwilio) -> None:
    sender = threading.Timer(0.2, lambda: _send(twilio, {**WHATSAPP, "Body": "late"}))
    sender.start()
    started = time.monotonic()
    (message,) = twilio.wait_for_messages(1, timeout=5)
    assert message["Body"] == "late" and time.monotonic() - started < 4
    sender.join()
    with pytest.raises(AssertionError, match="late"):
        twilio.wait_for_messages(2, timeout=0.2)
    twilio.fail_next(500)
    twilio.clear()
    assert twilio.messages == [] and twilio.requests == []
    assert _send(twilio, {**WHATSAPP, "Body": "after clear"}).status_code == 201  # clear() drops injections


def test_fake_releases_its_port_on_stop() -> None:
    fake = FakeTwilio().start()
    url = fake.base_url
    fake.stop()
    fake.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
    with pytest.raises(RuntimeError):
        _ = fake.base_url
    with FakeTwilio() as again:
        assert _send(again, {**WHATSAPP, "Body": "x"}).status_code == 201


# --------------------------------------------------------------------------- FakeMetaGraph


def test_meta_accepts_a_text_message(meta: FakeMetaGraph) -> None:
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+2348012345678",
        "type": "text",
        "text": {"body": "Hello from Grace", "preview_url": False},
    }
    response = _graph_send(meta, payload)
    assert response.status_code == 200
    data = response.json()
    assert data["messaging_product"] == "whatsapp"
    assert data["contacts"][0]["input"] == "+2348012345678"
    assert data["messages"][0]["id"].startswith("wamid.")
    assert meta.messages == [{**payload, "phone_number_id": PHONE_ID}]
    assert meta.requests[0]["status"] == 200 and meta.requests[0]["response"] == data


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "meta-test-token"}]
)
def test_meta_rejects_missing_or_wrong_token(meta: FakeMetaGraph, headers: dict[str, str]) -> None:
    response = _graph_send(meta, {"messaging_product": "whatsapp", "to": "1", "text": {"body": "x"}}, headers)
    assert response.status_code == 401
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 190) and error["message"]
    assert meta.messages == [] and [r["status"] for r in meta.requests] == [401]


def _buttons(*titles: str) -> dict[str, object]:
    buttons = [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]
    return {"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": buttons}}


def _list(rows_per_section: list[int], title: str = "Row") -> dict[str, object]:
    sections = [
        {"title": f"S{s}", "rows": [{"id": f"{s}-{r}", "title": title, "description": "d"} for r in range(n)]}
        for s, n in enumerate(rows_per_section)
    ]
    return {"type": "list", "body": {"text": "Choose"}, "action": {"button": "Options", "sections": sections}}


VALID = [
    {"type": "text", "text": {"body": "x" * 4096}},
    {"text": {"body": "type defaults to text"}},
    {"type": "image", "image": {"id": "123", "caption": "new stock"}},
    {"type": "image", "image": {"link": "https://cdn.example/a.jpg"}},
    {"type": "audio", "audio": {"id": "1"}},
    {"type": "audio", "audio": {"link": "https://cdn.example/voice.ogg"}},
    {"type": "document", "document": {"id": "77"}},
    {"type": "document", "document": {"link": "https://cdn.example/invoice.pdf", "filename": "AKA-1001.pdf",
                                      "caption": "Your invoice"}},
    {"type": "interactive", "interactive": _buttons("Yes", "No", "A" * 20)},
    {"type": "interactive", "interactive": _list([4, 6], title="T" * 24)},
    {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}},
]
INVALID = [
    {"type": "text", "text": {"body": "x" * 4097}},
    {"type": "text", "text": {"body": ""}},
    {"type": "fax", "fax": {"id": "1"}},
    {"type": "audio", "audio": {}},
    {"type": "audio", "audio": {"id": "1", "caption": "listen"}},
    {"type": "document", "document": {"filename": "a.pdf"}},
    {"type": "document", "document": {"id": "1", "caption": "c" * 1025}},
    {"type": "document", "document": {"id": "1", "filename": ""}},
    {"type": "image", "image": {}},
    {"type": "interactive", "interactive": _buttons("1", "2", "3", "4")},
    {"type": "interactive", "interactive": _buttons("B" * 21)},
    {"type": "interactive", "interactive": _list([6, 5])},
    {"type": "interactive", "interactive": _list([1], title="T" * 25)},
    {"type": "template", "template": {"name": "order_update"}},
    {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "a\nb"}]}]}},
    {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}, "components": [
        {"type": "header", "parameters": [{"type": "image", "image": {}}]}]}},
]


@pytest.mark.parametrize("message", VALID)
def test_meta_accepts_what_meta_accepts(meta: FakeMetaGraph, message: dict[str, object]) -> None:
    response = _graph_send(meta, {"messaging_product": "whatsapp", "to": "2348012345678", **message})
    assert response.status_code == 200, response.text
    assert len(meta.messages) == 1


@pytest.mark.parametrize("message", INVALID)
def test_meta_rejects_what_meta_rejects(meta: FakeMetaGraph, message: dict[str, object]) -> None:
    response = _graph_send(meta, {"messaging_product": "whatsapp", "to": "2348012345678", **message})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 131009
    assert meta.messages == [] and [r["status"] for r in meta.requests] == [400]


def test_meta_requires_whatsapp_product_and_recipient(meta: FakeMetaGraph) -> None:
    assert _graph_send(meta, {"to": "1", "type": "text", "text": {"body": "x"}}).status_code == 400
    assert _graph_send(meta, {"messaging_product": "whatsapp", "text": {"body": "x"}}).status_code == 400
    garbage = requests.post(
        f"{meta.base_url}/v19.0/{PHONE_ID}/messages", data=b"{not json", headers=BEARER, timeout=5
    )
    assert garbage.status_code == 400
    assert meta.messages == [] and len(meta.requests) == 3


def test_meta_mark_as_read_is_acknowledged_but_not_a_message(meta: FakeMetaGraph) -> None:
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"}
    response = _graph_send(meta, read)
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert meta.messages == [] and meta.requests[0]["json"] == read


def test_meta_fail_next(meta: FakeMetaGraph) -> None:
    meta.fail_next(503, count=2, retry_after=1)
    message = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "x"}}
    first, second, third = (_graph_send(meta, message) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "1"
    assert first.json()["error"]["code"] == 131016
    assert len(meta.messages) == 1 and [r["status"] for r in meta.requests] == [503, 503, 200]
    assert meta.wait_for_messages(1, timeout=1)[0]["text"] == {"body": "x"}


def test_meta_media_lookup_and_download(meta: FakeMetaGraph) -> None:
    content = b"\x89PNG fake image bytes"
    media_id = meta.add_media(content, "image/png")
    assert media_id.isdigit()
    info_url = f"{meta.base_url}/v20.0/{media_id}"
    assert requests.get(info_url, timeout=5).status_code == 401
    info = requests.get(info_url, headers=BEARER, timeout=5).json()
    assert info == {
        "url": f"{meta.base_url}/media-download/{media_id}",
        "mime_type": "image/png",
        "sha256": hashlib.sha256(content).hexdigest(),
        "file_size": len(content),
        "id": media_id,
        "messaging_product": "whatsapp",
    }
    assert requests.get(info["url"], timeout=5).status_code == 401
    download = requests.get(info["url"], headers=BEARER, timeout=5)
    assert download.status_code == 200 and download.content == content
    assert download.headers["Content-Type"] == "image/png"
    for missing in (f"{meta.base_url}/v20.0/999", f"{meta.base_url}/media-download/999"):
        response = requests.get(missing, headers=BEARER, timeout=5)
        assert response.status_code == 404 and "error" in response.json()
    assert meta.requests == []  # media traffic is not send traffic


def test_meta_webhook_body_round_trips_with_signature() -> None:
    """What a test would post to our webhook: signed bytes that decode back to the payload."""
    payload = meta_image_payload(phone_number_id=PHONE_ID, wa_id="1", media_id="5")
    raw = json.dumps(payload, separators=(",", ":")).encode()
    header = meta_signature(raw, "s3cret")
    expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header.removeprefix("sha256="), expected)
    assert json.loads(raw) == payload
    assert base64.b64decode(payload["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["sha256"])


TEXT = {"messaging_product": "whatsapp", "to": "2348012345678", "type": "text", "text": {"body": "hi"}}


def _graph_send_from(fake: FakeMetaGraph, number_id: str, payload: object) -> requests.Response:
    return requests.post(f"{fake.base_url}/v20.0/{number_id}/messages", json=payload, headers=BEARER, timeout=5)


def test_meta_default_knows_the_test_tenants_phone_number_ids() -> None:
    from tests.helpers import AKANRABY_META_ID, KENTE_META_ID

    assert set(DEFAULT_PHONE_NUMBER_IDS) == {AKANRABY_META_ID, KENTE_META_ID, "254000000000001"}
    with FakeMetaGraph() as fake:
        for number_id in DEFAULT_PHONE_NUMBER_IDS:
            response = _graph_send_from(fake, number_id, TEXT)
            assert response.status_code == 200, response.text
        assert len(fake.messages) == 3


def test_meta_refuses_a_phone_number_id_it_does_not_know(meta: FakeMetaGraph) -> None:
    for number_id in ("109000000000001", "2349010000001", "me"):  # another business's, a phone number, junk
        response = _graph_send_from(meta, number_id, TEXT)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["type"], error["code"], error["error_subcode"]) == ("GraphMethodException", 100, 33)
        assert f"Object with ID '{number_id}' does not exist" in error["message"]
        assert "invalid_request" in response.headers["WWW-Authenticate"]
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"}
    assert requests.post(f"{meta.base_url}/v20.0/999/messages", json=read, headers=BEARER, timeout=5).status_code == 400
    # The token is judged first: a bad token on an unknown id is still a 401.
    assert requests.post(f"{meta.base_url}/v20.0/999/messages", json=TEXT, timeout=5).status_code == 401
    assert meta.messages == [] and {r["status"] for r in meta.requests} == {400, 401}
    meta.phone_number_ids.add("2349010000001")
    assert _graph_send_from(meta, "2349010000001", TEXT).status_code == 200


def _template(name: str, *body: str, header: dict[str, object] | None = None, language: str = "en_GB") -> dict:
    components: list[dict[str, object]] = []
    if header is not None:
        components.append({"type": "header", "parameters": [header]})
    if body:
        components.append({"type": "body", "parameters": [{"type": "text", "text": text} for text in body]})
    template = {"name": name, "language": {"code": language}, "components": components}
    return {"messaging_product": "whatsapp", "to": "2348012345678", "type": "template", "template": template}


def test_meta_template_needs_exactly_one_body_parameter_per_placeholder(meta: FakeMetaGraph) -> None:
    meta.add_template("handoff_alert", "{{1}} needs a person: {{2}} ({{3}}). Reply to {{1}} soon.")
    assert _graph_send(meta, _template("handoff_alert", "Ada", "tailoring", "3 gowns")).status_code == 200
    for given in (["Ada", "tailoring"], ["Ada", "tailoring", "3 gowns", "extra"], []):
        response = _graph_send(meta, _template("handoff_alert", *given))
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], error["type"]) == (132000, "OAuthException")
        assert error["message"] == "(#132000) Number of parameters does not match the expected number of params"
        assert error["error_data"]["details"] == (
            f"body: number of localizable_params ({len(given)}) does not match the expected number of params (3)"
        )
    assert len(meta.messages) == 1 and [r["status"] for r in meta.requests] == [200, 400, 400, 400]


def test_meta_template_headers_must_match_the_registered_format(meta: FakeMetaGraph) -> None:
    meta.add_template("payment_proof_alert", "Proof for {{1}}", header="image", language="en_GB")
    meta.add_template("order_update", "Order {{1}} is {{2}}", header="Order {{1}}")
    image = {"type": "image", "image": {"link": "https://cdn.example/proof.jpg"}}
    assert _graph_send(meta, _template("payment_proof_alert", "AKA-1001", header=image)).status_code == 200
    missing = _graph_send(meta, _template("payment_proof_alert", "AKA-1001")).json()["error"]
    assert missing["code"] == 132012
    assert missing["error_data"]["details"] == "header: Format mismatch, expected IMAGE, received UNKNOWN"
    text_header = {"type": "text", "text": "AKA-1001"}
    assert _graph_send(meta, _template("order_update", "AKA-1001", "ready", header=text_header)).status_code == 200
    no_header = _graph_send(meta, _template("order_update", "AKA-1001", "ready")).json()["error"]
    assert no_header["code"] == 132000 and no_header["error_data"]["details"].startswith("header: ")


def test_meta_template_language_and_unknown_names(meta: FakeMetaGraph) -> None:
    meta.add_template("welcome", "Hello {{1}}", language="en_GB")
    wrong_language = _graph_send(meta, _template("welcome", "Ada", language="fr"))
    assert wrong_language.status_code == 404
    error = wrong_language.json()["error"]
    assert error["code"] == 132001
    assert error["error_data"]["details"] == "template name (welcome) does not exist in fr"
    # Names it was not told about pass on their shape alone, unless it is told to refuse them.
    assert _graph_send(meta, _template("never_registered", "x", "y")).status_code == 200
    meta.refuse_unknown_templates = True
    assert _graph_send(meta, _template("never_registered", "x", "y")).json()["error"]["code"] == 132001
    with FakeMetaGraph(phone_number_ids=[PHONE_ID], templates=[MetaTemplate("twice", "{{1}} and {{1}}")]) as fake:
        assert _graph_send(fake, _template("twice", "once", language="yo")).status_code == 200


# --------------------------------------------------------------------------- FakeTwilio: Content API


def _content(fake: FakeTwilio, sid: str, variables: str | None) -> requests.Response:
    form = {**WHATSAPP, "ContentSid": sid}
    if variables is not None:
        form["ContentVariables"] = variables
    return _send(fake, form)


@pytest.mark.parametrize(
    "variables",
    [
        '{"1": "Total 25,200", "2": "Yes"}',  # a variable missing
        '{"1": "a", "2": "b", "3": "c", "4": "d"}',  # one the template does not have
        '{"one": "a", "two": "b", "three": "c"}',  # right count, wrong keys
        '{"1": "a", "2": "b", "3": ""}',  # empty value
        '{"1": "a", "2": "b", "3": null}',  # null value
        '{"1": "a", "2": "b", "3": {"x": 1}}',  # not a value
        '["a", "b", "c"]',  # not an object
        "{'1': 'a', '2': 'b', '3': 'c'}",  # not JSON
        "",
        None,  # the template has variables and none were given
    ],
)
def test_twilio_refuses_content_variables_that_do_not_fit_the_template(
    twilio: FakeTwilio, variables: str | None
) -> None:
    twilio.add_content_template(CONTENT_SID, {"1": "Total", "2": "Yes", "3": "yes"})
    response = _content(twilio, CONTENT_SID, variables)
    assert response.status_code == 400
    assert response.json() == twilio_error(21656, "The ContentVariables Parameter is invalid", 400)
    assert twilio.messages == [] and twilio.requests[0]["reason"]


def test_twilio_accepts_content_variables_that_fit(twilio: FakeTwilio) -> None:
    twilio.add_content_template(CONTENT_SID, "{{1}}\n1. {{2}}\n2. {{4}}")  # placeholders from the text
    ok = _content(twilio, CONTENT_SID, json.dumps({"1": "Total ₦25,200", "2": "Yes", "4": "See more"}))
    assert ok.status_code == 201, ok.text
    plain = "HX" + "f" * 32
    twilio.add_content_template(plain)  # no variables: none need to be sent
    assert _content(twilio, plain, None).status_code == 201
    assert _content(twilio, plain, "{}").status_code == 201
    assert _content(twilio, plain, '{"1": "x"}').json()["code"] == 21656
    with pytest.raises(ValueError):
        twilio.add_content_template("HXquick2", ["1"])


def test_twilio_content_sid_must_be_well_formed_and_known_when_asked(twilio: FakeTwilio) -> None:
    for sid in ("HXquick2", "HX123", "MG" + "0" * 32, "HX" + "g" * 32):
        response = _content(twilio, sid, '{"1": "Ada"}')
        assert (response.status_code, response.json()["code"]) == (400, 21655)
        assert response.json()["message"] == "The ContentSid is Invalid"
    # Unregistered but well formed: Twilio would look it up; the fake checks the variables' shape only.
    unknown = "HX" + "a" * 32
    assert _content(twilio, unknown, '{"1": "Ada", "7": "anything"}').status_code == 201
    assert _content(twilio, unknown, '{"1": ""}').json()["code"] == 21656
    twilio.refuse_unknown_content = True
    assert _content(twilio, unknown, '{"1": "Ada"}').json()["code"] == 21655
    variables_alone = _send(twilio, {**WHATSAPP, "Body": "hi", "ContentVariables": '{"1": "x"}'})
    assert (variables_alone.status_code, variables_alone.json()["code"]) == (400, 21654)
    assert len(twilio.messages) == 1


def test_twilio_library_sees_the_content_refusal_as_twilio_s_error() -> None:
    client_module = pytest.importorskip("twilio.rest")
    exceptions = pytest.importorskip("twilio.base.exceptions")
    with FakeTwilio(SID, TOKEN, content_templates={CONTENT_SID: ["1", "2"]}) as fake:
        client = client_module.Client(SID, TOKEN)
        client.api.base_url = fake.base_url
        sent = client.messages.create(to=WHATSAPP["To"], from_=WHATSAPP["From"], content_sid=CONTENT_SID,
                                      content_variables=json.dumps({"1": "Ada", "2": "AKA-1001"}))
        assert sent.sid.startswith("SM") and sent.status == "queued"
        with pytest.raises(exceptions.TwilioRestException) as refused:
            client.messages.create(to=WHATSAPP["To"], from_=WHATSAPP["From"], content_sid=CONTENT_SID,
                                   content_variables=json.dumps({"1": "Ada"}))
        assert (refused.value.status, refused.value.code) == (400, 21656)


# --------------------------------------------------------------------------- FakeOpenAI


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _chat(fake: FakeOpenAI, body: object, key: str | None = "sk-test-grace", raw: bytes | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    if raw is not None:
        return requests.post(f"{fake.base_url}/v1/chat/completions", data=raw,
                             headers={**headers, "Content-Type": "application/json"}, timeout=5)
    return requests.post(f"{fake.base_url}/v1/chat/completions", json=body, headers=headers, timeout=5)


HELLO = [{"role": "system", "content": "You are Grace."}, {"role": "user", "content": "hello"}]

GOOD_CHATS = [
    {"model": "gpt-4o-mini", "messages": HELLO, "temperature": 0.4, "max_tokens": 220},
    {"model": "gpt-4o-mini", "messages": HELLO, "temperature": 0, "top_p": 1, "n": 1, "max_tokens": None},
    {"model": "gpt-4o-mini", "messages": [{"role": "developer", "content": "Be brief."},
                                          {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
     "temperature": 2, "max_completion_tokens": 1, "presence_penalty": -2, "frequency_penalty": 2},
    {"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "stock of LC-001?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "stock", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "12"}]},
]

BAD_CHATS = [
    # (body, param, code)
    ({"messages": HELLO}, None, None),
    ({"model": 4, "messages": HELLO}, "model", "invalid_type"),
    ({"model": "gpt-4o-mini"}, "messages", "missing_required_parameter"),
    ({"model": "gpt-4o-mini", "messages": []}, "messages", "empty_array"),
    ({"model": "gpt-4o-mini", "messages": "hello"}, "messages", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": ["hello"]}, "messages[0]", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": [{"content": "hi"}]}, "messages[0].role", "missing_required_parameter"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "bot", "content": "hi"}]}, "messages[0].role", "invalid_value"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user"}]}, "messages[0].content", "missing_required_parameter"),
    ({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": [*HELLO, {"role": "tool", "content": "12"}]},
     "messages[2].tool_call_id", "missing_required_parameter"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "temperature": 2.5}, "temperature", "decimal_above_max_value"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "temperature": -0.1}, "temperature", "decimal_below_min_value"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "temperature": "0.4"}, "temperature", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": 0}, "max_tokens", "integer_below_min_value"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": 220.5}, "max_tokens", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "max_tokens": True}, "max_tokens", "invalid_type"),
    ({"model": "gpt-4o-mini", "messages": HELLO, "top_p": 1.5}, "top_p", "decimal_above_max_value"),
    (["not", "an", "object"], None, None),
]


@pytest.mark.parametrize("body", GOOD_CHATS)
def test_openai_accepts_well_formed_chat_requests(openai_fake: FakeOpenAI, body: dict) -> None:
    response = _chat(openai_fake, body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["role"] == "assistant"
    assert openai_fake.prompts == [body["messages"]]


@pytest.mark.parametrize(("body", "param", "code"), BAD_CHATS)
def test_openai_refuses_malformed_chat_requests(openai_fake: FakeOpenAI, body: object, param: str | None,
                                                code: str | None) -> None:
    openai_fake.answer("should not be used")
    response = _chat(openai_fake, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)
    assert error["message"]
    assert openai_fake.messages == [] and openai_fake.prompts == [] and len(openai_fake.refusals) == 1
    assert _chat(openai_fake, GOOD_CHATS[0]).json()["choices"][0]["message"]["content"] == "should not be used"


def test_openai_refuses_a_body_that_is_not_json(openai_fake: FakeOpenAI) -> None:
    response = _chat(openai_fake, None, raw=b'{"model": "gpt-4o-mini", "messages": [')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"].startswith("We could not parse the JSON body of your request.")
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", None, None)


@pytest.mark.parametrize("key", [None, "", "sk-wrong-key-1234"])
def test_openai_refuses_a_missing_or_wrong_key(openai_fake: FakeOpenAI, key: str | None) -> None:
    response = _chat(openai_fake, GOOD_CHATS[0], key=key)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if key:
        assert error["code"] == "invalid_api_key" and "1234" in error["message"] and key not in error["message"]
    else:
        assert error["message"].startswith("You didn't provide an API key.") and error["code"] is None
    assert openai_fake.prompts == [] and openai_fake.messages == []


def test_openai_library_gets_answers_and_refusals_like_from_openai(openai_fake: FakeOpenAI) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=f"{openai_fake.base_url}/v1", api_key=openai_fake.api_key, max_retries=0)
    openai_fake.answer("Hello from the fake 👋")
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=0.4, max_tokens=220)
    assert answer.choices[0].message.content == "Hello from the fake 👋" and answer.model == "gpt-4o-mini"
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, temperature=3)
    assert (bad.value.status_code, bad.value.code, bad.value.param) == (400, "decimal_above_max_value", "temperature")
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    wrong = openai.OpenAI(base_url=f"{openai_fake.base_url}/v1", api_key="sk-nope", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert len(openai_fake.prompts) == 1 and len(openai_fake.refusals) == 3


# --------------------------------------------------------------------------- FakeS3 (SigV4)

AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented SigV4 examples


@pytest.mark.parametrize(
    ("target", "extra", "expected"),
    [
        # "Example: GET Object" (a Range request) from AWS's S3 SigV4 header-auth documentation.
        ("/test.txt", {"Range": "bytes=0-9"}, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
        # "Example: GET Bucket (List Objects)": the query string is signed too.
        ("/?max-keys=2&prefix=J", {}, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"),
    ],
)
def test_s3_signature_matches_aws_documented_examples(target: str, extra: dict[str, str], expected: str) -> None:
    headers = Message()
    headers["Host"] = "examplebucket.s3.amazonaws.com"
    for name, value in extra.items():
        headers[name] = value
    headers["x-amz-content-sha256"] = EMPTY_SHA256
    headers["x-amz-date"] = "20130524T000000Z"
    signed = sorted(name.lower() for name in headers.keys())
    canonical = canonical_request("GET", target, headers, signed, EMPTY_SHA256)
    scope = "20130524/us-east-1/s3/aws4_request"
    assert sigv4_signature(AWS_EXAMPLE_SECRET, scope, string_to_sign("20130524T000000Z", scope, canonical)) == expected


@pytest.fixture
def s3_fake() -> Iterator[FakeS3]:
    with FakeS3() as fake:
        yield fake


def _boto(fake: FakeS3, secret: str = DEFAULT_SECRET_KEY, access_key: str | None = None, region: str = "us-east-1"):
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                    retries={"max_attempts": 1})
    return boto3.client("s3", endpoint_url=fake.base_url, region_name=region, config=config,
                        aws_access_key_id=access_key or fake.access_key, aws_secret_access_key=secret)


def _s3_code(excinfo: pytest.ExceptionInfo) -> tuple[int, str]:
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_s3_accepts_boto3_signed_with_the_configured_secret(s3_fake: FakeS3) -> None:
    client = _boto(s3_fake)
    key = "media/akanraby/a b+c/ụ́.png"  # spaces, plus and non-ASCII: the canonical URI encodes them
    client.put_object(Bucket=s3_fake.bucket, Key=key, Body=b"\x89PNG proof", ContentType="image/png")
    assert s3_fake.objects == {key: (b"\x89PNG proof", "image/png")}
    got = client.get_object(Bucket=s3_fake.bucket, Key=key, ResponseCacheControl="no-cache")  # a signed query
    assert got["Body"].read() == b"\x89PNG proof" and got["ContentType"] == "image/png"
    assert client.head_object(Bucket=s3_fake.bucket, Key=key)["ContentLength"] == len(b"\x89PNG proof")


def test_s3_refuses_a_wrong_secret_with_signature_does_not_match(s3_fake: FakeS3) -> None:
    from botocore.exceptions import ClientError

    client = _boto(s3_fake, secret="not-the-secret")
    with pytest.raises(ClientError) as put:
        client.put_object(Bucket=s3_fake.bucket, Key="media/x.png", Body=b"x", ContentType="image/png")
    assert _s3_code(put) == (403, "SignatureDoesNotMatch")
    assert put.value.response["Error"]["Message"].startswith("The request signature we calculated does not match")
    s3_fake.objects["media/y.png"] = (b"y", "image/png")
    with pytest.raises(ClientError) as get:
        client.get_object(Bucket=s3_fake.bucket, Key="media/y.png")
    assert _s3_code(get) == (403, "SignatureDoesNotMatch")
    assert list(s3_fake.objects) == ["media/y.png"]
    # The secret is the fake's own setting: the same client is accepted once the fake shares it.
    s3_fake.secret_key = "not-the-secret"
    assert client.get_object(Bucket=s3_fake.bucket, Key="media/y.png")["Body"].read() == b"y"


def test_s3_refuses_an_unknown_access_key(s3_fake: FakeS3) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        _boto(s3_fake, access_key="AKIAUNKNOWN").put_object(Bucket=s3_fake.bucket, Key="k", Body=b"x")
    assert _s3_code(refused) == (403, "InvalidAccessKeyId")
    assert refused.value.response["Error"]["AWSAccessKeyId"] == "AKIAUNKNOWN"


def test_s3_default_secret_is_what_use_bucket_sets(s3_fake: FakeS3, monkeypatch: pytest.MonkeyPatch) -> None:
    """Grace's tests point boto3 at the fake through the environment (tests/helpers.py use_bucket)."""
    boto3 = pytest.importorskip("boto3")
    from tests.helpers import use_bucket

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    use_bucket(monkeypatch, s3_fake)
    assert DEFAULT_SECRET_KEY == "not-a-real-secret"
    import os

    client = boto3.client("s3", endpoint_url=os.environ["GRACE_MEDIA_S3_ENDPOINT_URL"], region_name="us-east-1")
    client.put_object(Bucket=os.environ["GRACE_MEDIA_S3_BUCKET"], Key="media/akanraby/p.png", Body=b"p")
    assert s3_fake.objects["media/akanraby/p.png"][0] == b"p"


def _signed_request(fake: FakeS3, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                    *, unsigned_payload: bool = False, secret: str = DEFAULT_SECRET_KEY):
    """A request signed by botocore's own S3 SigV4 signer (not by the fake's code), ready to tamper with."""
    pytest.importorskip("botocore")
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=f"{fake.base_url}{path}", data=body, headers=dict(headers or {}))
    signer = S3SigV4Auth(Credentials(fake.access_key, secret), "s3", "us-east-1")
    if unsigned_payload:
        signer._should_sha256_sign_payload = lambda request: False  # what botocore does over HTTPS
    signer.add_auth(request)
    return request


def _send_signed(request, **changes: object) -> requests.Response:
    headers = dict(request.headers.items())
    headers.update(changes.pop("headers", {}))  # type: ignore[arg-type]
    return requests.request(request.method, str(changes.pop("url", request.url)), headers=headers,
                            data=changes.pop("body", request.body), timeout=5)


def _xml_code(response: requests.Response) -> str:
    return ElementTree.fromstring(response.content).findtext("Code") or ""


def test_s3_accepts_unsigned_payload_but_checks_a_signed_payload_hash(s3_fake: FakeS3) -> None:
    unsigned = _signed_request(s3_fake, "PUT", "/grace-media/media/u.png", b"unsigned body", unsigned_payload=True)
    assert unsigned.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    assert _send_signed(unsigned).status_code == 200
    assert _send_signed(unsigned, body=b"any body at all").status_code == 200  # that is what unsigned means
    signed = _signed_request(s3_fake, "PUT", "/grace-media/media/s.png", b"signed body")
    tampered = _send_signed(signed, body=b"swapped body")
    assert (tampered.status_code, _xml_code(tampered)) == (400, "XAmzContentSHA256Mismatch")
    assert _send_signed(signed).status_code == 200
    assert s3_fake.objects["media/u.png"][0] == b"any body at all"
    assert s3_fake.objects["media/s.png"][0] == b"signed body"


def test_s3_refuses_requests_changed_after_signing(s3_fake: FakeS3) -> None:
    signed = _signed_request(s3_fake, "PUT", "/grace-media/media/a.png", b"a", {"Content-Type": "image/png"})
    for change in (
        {"url": f"{s3_fake.base_url}/grace-media/media/b.png"},  # another key
        {"url": f"{s3_fake.base_url}/grace-media/media/a.png?x-id=PutObject"},  # a query added
        {"headers": {"Content-Type": "text/html"}},  # a signed header changed
        {"headers": {"X-Amz-Date": "20200101T000000Z"}},  # the date (also outside the window)
    ):
        response = _send_signed(signed, **change)
        assert response.status_code == 403, change
        assert _xml_code(response) in ("SignatureDoesNotMatch", "RequestTimeTooSkewed")
    unsigned_header = _send_signed(signed, headers={"x-amz-meta-owner": "mallory"})
    assert (unsigned_header.status_code, _xml_code(unsigned_header)) == (403, "AccessDenied")
    assert b"HeadersNotSigned" in unsigned_header.content
    anonymous = requests.get(f"{s3_fake.base_url}/grace-media/media/a.png", timeout=5)
    assert (anonymous.status_code, _xml_code(anonymous)) == (403, "AccessDenied")
    mismatch = _send_signed(_signed_request(s3_fake, "GET", "/grace-media/media/a.png", secret="wrong"))
    error = ElementTree.fromstring(mismatch.content)
    assert error.findtext("Code") == "SignatureDoesNotMatch" and error.findtext("CanonicalRequest").startswith("GET\n")
    assert error.findtext("StringToSign").startswith("AWS4-HMAC-SHA256\n") and error.findtext("RequestId")
    assert s3_fake.objects == {}


def test_s3_refuses_a_request_signed_too_long_ago(s3_fake: FakeS3, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("botocore")
    import botocore.auth

    stale = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: stale)
    response = _send_signed(_signed_request(s3_fake, "GET", "/grace-media/media/a.png"))
    assert (response.status_code, _xml_code(response)) == (403, "RequestTimeTooSkewed")
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda *args, **kwargs: stale + timedelta(minutes=2))  # 14 minutes: within the window
    response = _send_signed(_signed_request(s3_fake, "GET", "/grace-media/media/a.png"))
    assert (response.status_code, _xml_code(response)) == (404, "NoSuchKey")


def test_s3_region_is_checked_when_configured() -> None:
    from botocore.exceptions import ClientError

    with FakeS3(region="eu-west-1") as fake:
        wrong = _send_signed(_signed_request(fake, "PUT", "/grace-media/k", b"x"))  # signed for us-east-1
        assert (wrong.status_code, _xml_code(wrong)) == (400, "AuthorizationHeaderMalformed")
        assert ElementTree.fromstring(wrong.content).findtext("Region") == "eu-west-1"
        # boto3 reads the Region in that answer and signs again for it, as it does against S3.
        _boto(fake, region="us-east-1").put_object(Bucket=fake.bucket, Key="k", Body=b"x")
        assert fake.objects["k"][0] == b"x" and [r["status"] for r in fake.requests] == [400, 400, 200]
        with pytest.raises(ClientError) as refused:
            _boto(fake, region="eu-west-1", secret="wrong").put_object(Bucket=fake.bucket, Key="k", Body=b"x")
        assert _s3_code(refused) == (403, "SignatureDoesNotMatch")


# --------------------------------------------------------------------------- payment link providers

PAYSTACK_KEY = "sk_test_fake_check"


@pytest.fixture
def paystack_fake() -> Iterator[FakePaystack]:
    with FakePaystack(secret_keys=(PAYSTACK_KEY, "sk_test_other_account")) as fake:
        yield fake


def _initialize(fake: FakePaystack, key: str | None = PAYSTACK_KEY, **body: object) -> requests.Response:
    payload = {"email": "2348011111111.akanraby@example.com", "amount": 2520000, "currency": "NGN",
               "reference": "AKA-7QX4M-DEP-0a1b2c3d", **body}
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.post(f"{fake.base_url}/transaction/initialize", json=payload, headers=headers, timeout=5)


def test_paystack_signature_is_hex_hmac_sha512_of_the_raw_body() -> None:
    body = b'{"event":"charge.success","data":{"reference":"x"}}'
    assert paystack_signature(body, "sk_test_k") == hmac.new(b"sk_test_k", body, hashlib.sha512).hexdigest()
    assert len(paystack_signature(body, "sk_test_k")) == 128


def test_paystack_initializes_verifies_and_pays_like_paystack(paystack_fake: FakePaystack) -> None:
    created = _initialize(paystack_fake)
    assert created.status_code == 200 and created.json()["status"] is True
    data = created.json()["data"]
    assert data["reference"] == "AKA-7QX4M-DEP-0a1b2c3d" and data["authorization_url"].startswith("https://")
    headers = {"Authorization": f"Bearer {PAYSTACK_KEY}"}
    verify = f"{paystack_fake.base_url}/transaction/verify/AKA-7QX4M-DEP-0a1b2c3d"
    assert requests.get(verify, headers=headers, timeout=5).json()["data"]["status"] == "abandoned"
    event = paystack_fake.pay("AKA-7QX4M-DEP-0a1b2c3d", amount=2000000)
    assert event["event"] == "charge.success" and event["data"]["amount"] == 2000000
    paid = requests.get(verify, headers=headers, timeout=5).json()["data"]
    assert (paid["status"], paid["amount"], paid["currency"]) == ("success", 2000000, "NGN")
    # another Paystack account does not see this transaction
    other = requests.get(verify, headers={"Authorization": "Bearer sk_test_other_account"}, timeout=5)
    assert (other.status_code, other.json()["message"]) == (400, "Transaction reference not found")


@pytest.mark.parametrize(("key", "body", "status", "message"), [
    (None, {}, 401, "Invalid key"),
    ("sk_test_guessed", {}, 401, "Invalid key"),
    (PAYSTACK_KEY, {"email": "not-an-email"}, 400, "Invalid Email Address Passed"),
    (PAYSTACK_KEY, {"email": None}, 400, "Invalid Email Address Passed"),
    (PAYSTACK_KEY, {"amount": 25200.5}, 400, "Invalid Amount Sent"),
    (PAYSTACK_KEY, {"amount": 0}, 400, "Invalid Amount Sent"),
    (PAYSTACK_KEY, {"currency": "EUR"}, 403, "Currency not supported by merchant"),
    (PAYSTACK_KEY, {"reference": "AKA 7QX4M/deposit"}, 400,
     "Invalid reference. Only -, ., = and alphanumeric characters allowed"),
])
def test_paystack_refuses_what_paystack_refuses(paystack_fake: FakePaystack, key: str | None, body: dict,
                                                status: int, message: str) -> None:
    refused = _initialize(paystack_fake, key, **body)
    assert (refused.status_code, refused.json()) == (status, {"status": False, "message": message})
    assert paystack_fake.initialized == []


def test_paystack_refuses_a_reference_used_before(paystack_fake: FakePaystack) -> None:
    assert _initialize(paystack_fake).status_code == 200
    again = _initialize(paystack_fake)
    assert (again.status_code, again.json()["message"]) == (400, "Duplicate Transaction Reference")


def test_stripe_signature_is_what_the_stripe_library_checks() -> None:
    import stripe

    body = b'{\n  "id": "evt_1",\n  "type": "checkout.session.completed"\n}'
    header = stripe_signature(body, "whsec_k", timestamp=int(time.time()))
    assert stripe.WebhookSignature.verify_header(body.decode(), header, "whsec_k", tolerance=300)
    assert header == stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_k",
                                                                       int(header.split(",")[0][2:]))
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, "whsec_other", tolerance=300)


def test_stripe_library_creates_sessions_and_gets_stripe_s_refusals() -> None:
    import stripe

    with FakeStripe(secret_key="sk_test_fake_check") as fake:
        def client(key: str) -> stripe.StripeClient:
            return stripe.StripeClient(key, base_addresses={"api": fake.base_url}, max_network_retries=0)

        params: dict = {"mode": "payment", "success_url": "https://wa.me/254700000001",
                        "line_items": [{"quantity": 1, "price_data": {
                            "currency": "kes", "unit_amount": 1008000, "product_data": {"name": "Deposit"}}}],
                        "metadata": {"order_reference": "KIT-AB123"}}
        session = client(fake.secret_key).v1.checkout.sessions.create(params=params)
        assert session.url.startswith("https://checkout.stripe.com/") and session.amount_total == 1008000
        assert fake.sessions[0]["metadata"] == {"order_reference": "KIT-AB123"}
        with pytest.raises(stripe.AuthenticationError):
            client("sk_test_guessed").v1.checkout.sessions.create(params=params)
        with pytest.raises(stripe.InvalidRequestError, match="success_url"):
            client(fake.secret_key).v1.checkout.sessions.create(params={**params, "success_url": ""})
        with pytest.raises(stripe.InvalidRequestError, match="unit_amount"):
            client(fake.secret_key).v1.checkout.sessions.create(params={**params, "line_items": [
                {"quantity": 1, "price_data": {"currency": "kes", "product_data": {"name": "Deposit"}}}]})
        with pytest.raises(stripe.InvalidRequestError, match="expires_at"):
            client(fake.secret_key).v1.checkout.sessions.create(params={**params, "expires_at": int(time.time()) + 60})
        assert len(fake.sessions) == 1
