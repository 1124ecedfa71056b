"""What customers see on WhatsApp: long text in readable pieces, buttons they can answer by number,
and files kept only when they are what they claim."""
from __future__ import annotations

import pytest

from grace.messaging.media import MediaRejected, save_media
from grace.whatsapp.choices import remember_choices, resolve_choice
from grace.whatsapp.formatting import chosen_number, split_text
from grace.whatsapp.twilio_client import twilio_messages

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_long_text_is_split_on_sentences_and_never_mid_word():
    sentence = "Our adire is hand-dyed in Abeokuta by women who have done it for generations. "
    text = sentence * 60  # ~4,700 characters
    pieces = split_text(text, 1600)
    assert len(pieces) == 3 and all(len(p) <= 1600 for p in pieces)
    assert all(p.endswith("generations.") for p in pieces[:-1])
    assert " ".join(pieces).split() == text.split()  # nothing lost, no word cut


def test_paragraphs_are_preferred_and_a_giant_word_is_still_bounded():
    text = ("a" * 1000) + "\n\n" + ("b " * 400)
    assert split_text(text, 1600)[0] == "a" * 1000
    pieces = split_text("x" * 3500, 1600)
    assert [len(p) for p in pieces] == [1600, 1600, 300]


def test_twilio_messages_carry_image_captions_and_numbered_buttons():
    image = twilio_messages({"text": "1. *Marigold Ankara*", "image": "https://img.test/a.jpg"}, "Reply 👆🏾")
    assert image == [{"body": "1. *Marigold Ankara*", "media_url": "https://img.test/a.jpg"}]
    buttons = twilio_messages({"text": "Confirm?", "buttons": [
        {"title": "Yes, confirm", "payload": "yes, confirm my order"},
        {"title": "Show more", "payload": "/more_options"}]}, "Reply with a number")
    assert buttons == [{"body": "Confirm?\n1. Yes, confirm\n2. Show more\nReply with a number"}]
    assert "/more_options" not in buttons[0]["body"]
    long = twilio_messages({"text": "Lovely fabric. " * 200, "image": "https://img.test/b.jpg"}, "")
    assert len(long) == 2 and long[0]["media_url"] and "media_url" not in long[1]


@pytest.mark.parametrize("text, number", [("2", 2), (" 2. ", 2), ("option 3", 3), ("#1", 1),
                                          ("2 yards", None), ("number 2, 10 yards", None), ("", None)])
def test_only_a_bare_number_is_a_choice(text, number):
    assert chosen_number(text) == number


def test_a_number_answers_the_last_choices_of_that_conversation_only(grace_env):
    buttons = [{"title": "Yes, confirm", "payload": "yes, confirm my order"},
               {"title": "Show more", "payload": "/more_options"}]
    remember_choices("akanraby", "akanraby:+2348011111111", buttons)
    assert resolve_choice("akanraby", "akanraby:+2348011111111", "1") == "yes, confirm my order"
    assert resolve_choice("akanraby", "akanraby:+2348011111111", "2") == "Show more"  # never an intent literal
    assert resolve_choice("akanraby", "akanraby:+2348011111111", "7") == "7"
    assert resolve_choice("akanraby", "akanraby:+2348022222222", "1") == "1"
    assert resolve_choice("kentehouse", "akanraby:+2348011111111", "1") == "1"
    remember_choices("akanraby", "akanraby:+2348011111111", None)  # a turn without buttons
    assert resolve_choice("akanraby", "akanraby:+2348011111111", "1") == "1"


def test_media_is_kept_per_tenant_and_bad_files_are_refused(grace_env):
    stored = save_media("akanraby", PNG, "image/png; charset=binary")
    assert stored.path.read_bytes() == PNG and stored.path.parent.name == "akanraby"
    assert stored.url.startswith("file://") and stored.content_type == "image/png"
    with pytest.raises(MediaRejected) as wrong_bytes:
        save_media("akanraby", b"<html>not an image</html>", "image/jpeg")
    assert wrong_bytes.value.reason == "media_unreadable"
    with pytest.raises(MediaRejected) as exe:
        save_media("akanraby", b"MZ\x90\x00", "application/x-msdownload")
    assert exe.value.reason == "media_unsupported"
    with pytest.raises(MediaRejected) as big:
        save_media("akanraby", b"%PDF" + b"0" * (16 * 1024 * 1024), "application/pdf")
    assert big.value.reason == "media_too_large"


def test_media_goes_to_the_bucket_when_one_is_configured(grace_env, s3, monkeypatch):
    monkeypatch.setenv("GRACE_MEDIA_BASE_URL", "https://grace.example.test/media")
    stored = save_media("kentehouse", PNG, "image/png")
    [(key, (data, content_type))] = s3.objects.items()
    assert key.startswith("media/kentehouse/") and data == PNG and content_type == "image/png"
    assert stored.url == f"https://grace.example.test/media/kentehouse/{key.rsplit('/', 1)[1]}"
    assert stored.path is None and not (grace_env / "var" / "media").exists()  # nothing kept locally


def test_meta_gets_reply_buttons_up_to_three_then_a_list_and_long_captions_in_pieces():
    from grace.whatsapp.meta_client import meta_messages

    two = [{"title": "Yes, confirm ✅", "payload": "yes, I confirm"}, {"title": "See more", "payload": "/more"}]
    [buttons] = meta_messages({"text": "Confirm?", "buttons": two}, "+2348011111111", "Reply with a number")
    assert buttons["to"] == "2348011111111" and buttons["interactive"]["type"] == "button"
    assert [b["reply"]["id"] for b in buttons["interactive"]["action"]["buttons"]] == ["yes, I confirm", "See more"]
    five = [{"title": f"Fabric number {i}", "payload": f"number {i}"} for i in range(1, 6)]
    [listed] = meta_messages({"text": "Which one?", "buttons": five}, "+2348011111111", "Reply", "See options")
    assert listed["interactive"]["type"] == "list" and listed["interactive"]["action"]["button"] == "See options"
    assert len(listed["interactive"]["action"]["sections"][0]["rows"]) == 5
    image, rest = meta_messages({"text": "Lovely fabric. " * 100, "image": "https://img.test/a.jpg"},
                                "+2348011111111", "")
    assert image["type"] == "image" and len(image["image"]["caption"]) <= 1024 and rest["type"] == "text"
