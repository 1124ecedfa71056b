"""The Twilio and Meta fakes must behave like the real APIs, or tests built on them prove nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.fakes.meta_api import (
    FakeMetaGraph,
    meta_image_payload,
    meta_interactive_payload,
    meta_signature,
    meta_status_payload,
    meta_text_payload,
)
from tests.fakes.twilio_api import FakeTwilio, twilio_form, twilio_signature

SID, TOKEN = "ACtest", "twilio-test-token"
AUTH = (SID, TOKEN)
BEARER = {"Authorization": "Bearer meta-test-token"}
PHONE_ID = "109876543210"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio(SID, TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def meta() -> Iterator[FakeMetaGraph]:
    fake = FakeMetaGraph().start()
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
    template = {**WHATSAPP, "ContentSid": "HX123", "ContentVariables": '{"1": "Ada"}'}
    assert _send(twilio, template).status_code == 201
    first, second = twilio.messages
    assert (
        first["MediaUrl"] == ["https://cdn.example/a.jpg", "https://cdn.example/b.jpg"]
        and first["Body"] == ""
    )
    assert (second["ContentSid"], second["ContentVariables"], second["Body"]) == ("HX123", '{"1": "Ada"}', "")
    assert twilio.requests[0]["form"]["MediaUrl"] == first["MediaUrl"]


@pytest.mark.parametrize("auth", [None, (SID, "wrong"), ("ACother", TOKEN)])
def test_twilio_rejects_bad_credentials(twilio: FakeTwilio, auth: tuple[str, str] | None) -> None:
    response = _send(twilio, {**WHATSAPP, "Body": "hi"}, auth=auth)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
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
    {"type": "interactive", "interactive": _buttons("Yes", "No", "A" * 20)},
    {"type": "interactive", "interactive": _list([4, 6], title="T" * 24)},
    {"type": "template", "template": {"name": "order_update", "language": {"code": "en"}}},
]
INVALID = [
    {"type": "text", "text": {"body": "x" * 4097}},
    {"type": "text", "text": {"body": ""}},
    {"type": "audio", "audio": {"id": "1"}},
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
