"""The contact book: consent as people give it (writing first, checkout, an import saying they agreed) and take
it back (STOP); CSV import that keeps good rows and names the bad ones; export that imports back; the segments
broadcasts select, by each criterion, never reaching an opted-out number; and each business's book its own."""
from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from grace.messaging.contacts import may_message, record_consent, record_inbound
from grace.messaging.inbound import conversation_id
from grace.messaging.team_notes import NoteRefused, add_label, labels_of
from grace.run.cli import main
from grace.shop.contact_book import (
    ContactNotFound,
    ImportRefused,
    Segment,
    SegmentError,
    add_contact_label,
    count_contacts,
    export_contacts_csv,
    get_contact,
    import_contacts,
    list_contacts,
    normalise_phone,
    remove_contact_label,
    select_contacts,
)
from grace.shop.customers import get_or_create_customer
from grace.shop.orders import build_quote, place_order
from grace.shop.payments import record_proof, verify_payment
from grace.store import session_scope
from grace.store.models import Contact, Order, utcnow
from grace.tenancy.registry import get_registry

ADA, BOLA, CHI, DAYO, EFE = "+2348031111111", "+2348032222222", "+2348033333333", "+2348034444444", "+2348035555555"
KOFI = "+233244000001"


def tenant(tenant_id: str = "akanraby"):
    return get_registry().get(tenant_id)


def contact(phone: str, tenant_id: str = "akanraby"):
    with session_scope() as session:
        return get_contact(session, tenant(tenant_id), phone)


def book(tenant_id: str = "akanraby", **kwargs) -> list[str]:
    with session_scope() as session:
        return [c.phone for c in list_contacts(session, tenant(tenant_id), **kwargs)]


def selected(segment: Segment, tenant_id: str = "akanraby") -> list[str]:
    with session_scope() as session:
        chosen = [c.phone for c in select_contacts(session, tenant(tenant_id), segment)]
        assert count_contacts(session, tenant(tenant_id), segment) == len(chosen)
        return sorted(chosen)


def imported(text: str, tenant_id: str = "akanraby", filename: str = "contacts.csv"):
    with session_scope() as session:
        return import_contacts(session, tenant(tenant_id), text.encode(), filename)


def exported(tenant_id: str = "akanraby") -> str:
    with session_scope() as session:
        return export_contacts_csv(tenant(tenant_id), list_contacts(session, tenant(tenant_id)))


def order(tenant_id: str, phone: str, sku: str, *, paid: bool, days_ago: int = 0, name: str | None = None) -> Order:
    """An order placed through the shop (and its deposit verified when paid), dated `days_ago`."""
    business = tenant(tenant_id)
    fabric = business.catalog.get(sku)
    with session_scope() as session:
        customer = get_or_create_customer(session, tenant_id, phone, name)
        session.flush()
        quote = build_quote(business, [{"sku": sku, "qty": fabric.min_qty}], None, date.today())
        placed = place_order(session, business, customer, quote)
        if paid:
            record_proof(session, business, placed, proof_url=None, content_type=None, text="I have paid")
            verify_payment(session, business, placed.reference)
        session.execute(update(Order).where(Order.id == placed.id)
                        .values(created_at=utcnow() - timedelta(days=days_ago)))
        session.flush()
        session.refresh(placed)
        session.expunge(placed)
        return placed


# Consent ------------------------------------------------------------------------------------------------


def test_writing_first_is_consent_stop_withdraws_it_and_writing_again_gives_it_back(grace_env):
    record_inbound("akanraby", ADA, "whatsapp")
    first = contact(ADA)
    assert first.opted_in and first.opt_in_source == "wrote_first" and first.opted_in_at == first.last_inbound_at
    record_inbound("akanraby", ADA, "whatsapp")  # writing again keeps the consent as it was given
    assert contact(ADA).opted_in_at == first.opted_in_at

    record_inbound("akanraby", ADA, "whatsapp", stop=True)
    stopped = contact(ADA)
    assert not stopped.opted_in and stopped.consent == "opted_out" and stopped.opted_out_at is not None
    assert selected(Segment(opted_in_only=False)) == []
    with session_scope() as session:
        assert may_message(session, "akanraby", ADA).why_not == "opted_out"

    record_inbound("akanraby", ADA, "whatsapp")  # wrote again after STOP: opted back in, from now
    again = contact(ADA)
    assert again.opted_in and again.opted_out_at is None and again.opted_in_at > first.opted_in_at
    assert again.opt_in_source == "wrote_first" and selected(Segment()) == [ADA]
    with session_scope() as session:
        assert may_message(session, "akanraby", ADA).free_text

    record_inbound("akanraby", BOLA, "whatsapp", stop=True)  # a first message that is STOP is no consent
    assert contact(BOLA).opted_in_at is None and contact(BOLA).consent == "opted_out"


def test_consent_given_another_way_keeps_the_first_one_and_never_overrides_a_stop(grace_env):
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp", stop=True)
    with session_scope() as session:
        record_consent(session, "akanraby", ADA, "checkout")
        record_consent(session, "akanraby", DAYO, "checkout")
        record_consent(session, "akanraby", BOLA, "checkout")  # new to the business: ticked the box
        with pytest.raises(ValueError):
            record_consent(session, "akanraby", CHI, "a friend said so")
    assert contact(ADA).opt_in_source == "wrote_first"
    assert contact(DAYO).consent == "opted_out" and contact(DAYO).opted_in_at is None
    bola = contact(BOLA)
    assert bola.opted_in and bola.opt_in_source == "checkout" and bola.channel is None
    with session_scope() as session:  # never wrote: no provider of its own, so the business's usual one is used
        assert may_message(session, "akanraby", BOLA).channel is None


# Phone numbers ------------------------------------------------------------------------------------------


def test_numbers_are_kept_in_e164_with_the_businesss_own_country_code(grace_env):
    lagos, accra = tenant("akanraby"), tenant("kentehouse")
    for written in ("0803 111 1111", "+234 803-111-1111", "2348031111111", "8031111111", "(0803) 111.1111",
                    "whatsapp:+2348031111111", "'+2348031111111", "002348031111111"):
        assert normalise_phone(lagos, written) == ADA, written
    assert normalise_phone(accra, "024 400 0001") == KOFI
    assert normalise_phone(accra, "+44 7911 123456") == "+447911123456"  # a foreign number stays foreign
    for bad, reason in (("2.34803E+12", "format the phone column as text"), ("call me", "not a phone number"),
                        ("", "missing"), ("+234 80", "too short or too long")):
        with pytest.raises(Exception, match=reason):
            normalise_phone(lagos, bad)


# Import and export --------------------------------------------------------------------------------------

GOOD_AND_BAD = """phone,name,city,labels,consent,source
0803 111 1111,Ada Obi,Lagos,vip;aso-ebi,yes,
+234 803 222 2222,Bola,Abuja,wholesale|vip,TRUE,checkout
08033333333,Chi,Lagos,,,
not a number,Nobody,,,yes,
08031111111,Ada again,,,yes,
0803 444 4444,Dayo,,,maybe,
0803 555 5555,=HYPERLINK("http://x"),,,yes,
0803 666 6666,Femi,,"way too long a label for anyone, surely",yes,
2.34803E+12,Excel,,,yes,
0803 777 7777,Gbenga,Ibadan,,1,friend

0803 888 8888,Halima,Kano,,n,
"""


def test_an_import_keeps_the_good_rows_and_names_each_bad_one_by_line(grace_env):
    report = imported(GOOD_AND_BAD)
    assert [(p.line, p.phone) for p in report.problems] == [
        (5, "not a number"), (6, "08031111111"), (7, "0803 444 4444"), (8, "0803 555 5555"), (9, "0803 666 6666"),
        (10, "2.34803E+12"), (11, "0803 777 7777")]
    reasons = [p.problem for p in report.problems]
    assert "not a phone number" in reasons[0] and reasons[1] == "the same number as line 2"
    assert "consent is yes or no" in reasons[2] and "spreadsheet formula" in reasons[3]
    assert "label" in reasons[4] and "format the phone column as text" in reasons[5]
    assert "source is import or checkout" in reasons[6]
    assert (report.added, report.updated, report.opted_in) == (4, 0, 2)

    assert sorted(book()) == [ADA, BOLA, CHI, "+2348038888888"]
    ada, bola, chi = contact(ADA), contact(BOLA), contact(CHI)
    assert (ada.name, ada.city, ada.labels, ada.opt_in_source) == ("Ada Obi", "Lagos", ("aso-ebi", "vip"), "import")
    assert (bola.labels, bola.opt_in_source, bola.opted_in) == (("vip", "wholesale"), "checkout", True)
    assert not chi.opted_in and chi.consent == "not_opted_in" and chi.city == "Lagos"
    assert contact("+2348038888888").consent == "not_opted_in"
    # the labels are the inbox's: the conversation of that number carries them
    with session_scope() as session:
        assert labels_of(session, "akanraby", [conversation_id("akanraby", ADA)]) == {
            conversation_id("akanraby", ADA): ["aso-ebi", "vip"]}


def test_an_import_never_takes_consent_or_labels_away_nor_opts_back_in_after_stop(grace_env):
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp", stop=True)
    with session_scope() as session:
        add_label(session, "akanraby", conversation_id("akanraby", ADA), "vip")
    first = contact(ADA)
    report = imported("phone,name,labels,consent\n08031111111,Ada,wholesale,no\n08034444444,Dayo,,yes\n")
    assert (report.added, report.updated, report.opted_in, report.kept_opted_out) == (0, 2, 0, 1)
    ada = contact(ADA)
    assert ada.opted_in_at == first.opted_in_at and ada.opt_in_source == "wrote_first"
    assert ada.labels == ("vip", "wholesale") and ada.name == "Ada"
    assert contact(DAYO).consent == "opted_out" and DAYO not in selected(Segment(opted_in_only=False))
    assert "kept opted out" in report.summary()


@pytest.mark.parametrize(("data", "filename", "reason"), [
    (b"PK\x03\x04 a workbook", "contacts.xlsx", "not a CSV file"),
    (b"PK\x03\x04 a workbook renamed", "contacts.csv", "not a CSV file"),
    (b"phone\n" + b"08031111111\n" * 190_000, "contacts.csv", "the limit is 2 MB"),
    (b"phone\n" + b"".join(b"080%08d\n" % i for i in range(20_001)), "contacts.csv", "over 20,000 rows"),
    (b"number,name\n08031111111,Ada\n", "contacts.csv", "no phone column"),
    (b"", "contacts.csv", "empty"),
    (b"phone\n0803\x001111111\n", "contacts.csv", "not text"),
], ids=["xlsx", "xlsx-renamed", "over-2mb", "over-20000-rows", "no-phone-column", "empty", "binary"])
def test_a_file_that_is_no_csv_contacts_file_is_refused_whole(grace_env, data, filename, reason):
    record_inbound("akanraby", ADA, "whatsapp")
    with session_scope() as session, pytest.raises(ImportRefused, match=reason):
        import_contacts(session, tenant(), data, filename)
    assert book() == [ADA]


def test_twenty_thousand_rows_import(grace_env):
    rows = b"".join(b"080%08d,,,,yes\n" % i for i in range(20_000))
    report = imported((b"phone,name,city,labels,consent\n" + rows).decode())
    assert report.added == 20_000 and report.opted_in == 20_000 and not report.problems


def test_the_export_imports_back_unchanged(grace_env):
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp", stop=True)
    imported('phone,name,city,labels,consent,source\n08032222222,"Bola, Mrs",Abuja,vip;wholesale,yes,checkout\n'
             "08033333333,+Chi,@Ikeja,,no,\n")
    order("akanraby", ADA, "AK-001", paid=True, name="Ada")
    before = exported()
    lines = before.lstrip("\ufeff").splitlines()
    assert lines[0] == ("phone,name,city,labels,consent,source,opted_in_at,opted_out_at,last_order_at,orders,"
                        "categories,lifetime_value,currency")
    # phone numbers (and anything Excel would read as a formula) are guarded, and the guard is read back
    assert all(line.startswith("'+234") for line in lines[1:]) and ",'+Chi,'@Ikeja," in before
    ada = next(line for line in lines if line.startswith(f"'{ADA}"))
    assert ",Ada,,,yes,wrote_first," in ada and ",1,ankara," in ada and ada.endswith(",NGN")

    again = imported(before)
    assert (again.added, again.opted_in, again.problems) == (0, 0, [])
    assert exported() == before

    into_other = imported(before, "kitengenairobi")  # another business starts its book from this file
    assert into_other.added == 4 and not into_other.problems
    other = {c.phone: c for c in (contact(p, "kitengenairobi") for p in book("kitengenairobi"))}
    mine = {c.phone: c for c in (contact(p) for p in book())}
    assert {p: (c.name, c.city, c.labels, c.opted_in) for p, c in other.items()} == {
        p: (c.name, c.city, c.labels, c.opted_in) for p, c in mine.items()}
    assert other[BOLA].opt_in_source == "checkout" and other[ADA].opt_in_source == "import"
    assert other[ADA].orders == 0 and other[ADA].currency == "KES"  # its orders stay with the business they were


def test_the_cli_imports_and_exports(grace_env, tmp_path, capsys):
    source = tmp_path / "list.csv"
    source.write_text("phone,name,consent\n0803 111 1111,Ada,yes\nnope,Bad,yes\n")
    assert main(["contacts", "import", "akanraby", str(source)]) == 1  # a bad row: said, the rest kept
    captured = capsys.readouterr()
    assert "1 added" in captured.out and "line 3 (nope)" in captured.err
    assert main(["contacts", "export", "akanraby", str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()[1].startswith(f"'{ADA},Ada,")
    assert main(["contacts", "import", "akanraby", str(tmp_path / "missing.csv")]) == 2
    assert main(["contacts", "export", "nobody"]) == 2


# Segments -----------------------------------------------------------------------------------------------


@pytest.fixture
def shop(grace_env):
    """Ada (vip, Lagos, bought ankara 100 days ago), Bola (imported with consent, wholesale, Abuja, bought lace 5
    days ago), Chi (imported without consent, vip, Lagos), Dayo (like Ada, but sent STOP), Efe (wrote first, an
    unpaid adire order today)."""
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby", DAYO, "whatsapp")
    record_inbound("akanraby", EFE, "whatsapp")
    imported("phone,name,city,labels,consent\n08031111111,Ada,Lagos,vip,\n08032222222,Bola,Abuja,wholesale,yes\n"
             "08033333333,Chi,Lagos,vip,no\n08034444444,Dayo,Lagos,vip,\n")
    orders = {"ada": order("akanraby", ADA, "AK-001", paid=True, days_ago=100),
              "bola": order("akanraby", BOLA, "LC-001", paid=True, days_ago=5),
              "dayo": order("akanraby", DAYO, "AK-002", paid=True, days_ago=100),
              "efe": order("akanraby", EFE, "AD-001", paid=False)}
    record_inbound("akanraby", DAYO, "whatsapp", stop=True)
    return orders


def test_the_contact_view_shows_consent_orders_categories_and_what_they_paid(shop):
    ada, efe = contact(ADA), contact(EFE)
    assert (ada.name, ada.city, ada.labels, ada.categories, ada.orders) == ("Ada", "Lagos", ("vip",), ("ankara",), 1)
    assert ada.lifetime_value_minor == shop["ada"].amount_paid_minor > 0 and ada.currency == "NGN"
    assert ada.last_order_at == shop["ada"].created_at
    assert ada.to_dict()["lifetime_value"].startswith("₦") and ada.to_dict()["opted_in_at"].endswith("Z")
    assert (efe.orders, efe.categories, efe.lifetime_value_minor) == (1, (), 0)  # ordered, paid nothing yet
    assert efe.value("first_name") == "" and ada.value("last_order_date") == shop["ada"].created_at.date().isoformat()
    # the name the customer gave Grace shows when the contact has none of its own
    with session_scope() as session:
        get_or_create_customer(session, "akanraby", EFE, "Efe Okon")
    assert contact(EFE).name == "Efe Okon" and contact(EFE).value("first_name") == "Efe"
    # the business's ops numbers are the team, not contacts
    record_inbound("akanraby", tenant().ops[0], "whatsapp")
    assert tenant().ops[0] not in book()


def test_segments_select_by_each_criterion_and_never_an_opted_out_number(shop):
    assert selected(Segment()) == [ADA, BOLA, EFE]  # opted in: Chi never agreed, Dayo sent STOP
    assert selected(Segment(opted_in_only=False)) == [ADA, BOLA, CHI, EFE]
    assert selected(Segment(labels=("vip",))) == [ADA]
    assert selected(Segment(labels=("VIP", "wholesale"))) == [ADA, BOLA]
    assert selected(Segment(labels=("vip",), opted_in_only=False)) == [ADA, CHI]
    assert selected(Segment(categories=("ankara",))) == [ADA]
    assert selected(Segment(categories=("Lace", "george"))) == [BOLA]
    assert selected(Segment(categories=("adire",))) == []  # Efe has not paid for hers
    assert selected(Segment(city=" lagos ")) == [ADA]
    assert selected(Segment(city="Lagos", opted_in_only=False)) == [ADA, CHI]
    assert selected(Segment(last_order_older_than_days=30)) == [ADA]
    assert selected(Segment(last_order_newer_than_days=30)) == [BOLA, EFE]
    assert selected(Segment(last_order_older_than_days=3, last_order_newer_than_days=30)) == [BOLA]
    assert selected(Segment(labels=("vip",), categories=("ankara",), city="Lagos",
                            last_order_older_than_days=90)) == [ADA]
    # Dayo matches every criterion above but sent STOP: listed for the team, never selected
    assert book(consent="opted_out") == [DAYO]
    with session_scope() as session:
        assert DAYO in [c.phone for c in list_contacts(session, tenant(), Segment(labels=("vip",),
                                                                                  opted_in_only=False))]
    assert DAYO not in selected(Segment(labels=("vip",), opted_in_only=False, categories=("ankara",)))


def test_a_segment_says_what_cannot_be_asked_and_keeps_its_json_form(grace_env):
    with pytest.raises(SegmentError, match="both over 30 days old and within the last 10"):
        Segment(last_order_older_than_days=30, last_order_newer_than_days=10)
    with pytest.raises(SegmentError, match="a label is"):
        Segment(labels=("no/slashes",))
    with pytest.raises(SegmentError, match="whole number of days"):
        Segment(last_order_newer_than_days=-1)
    with pytest.raises(SegmentError, match="unknown segment fields: colour"):
        Segment.from_dict({"colour": "red"})
    segment = Segment.from_dict({"labels": "vip;wholesale", "categories": ["ankara"], "city": "Lagos",
                                 "last_order_older_than_days": 60})
    assert Segment.from_dict(segment.to_dict()) == segment and segment.labels == ("vip", "wholesale")
    assert segment.describe() == ("opted in, labelled vip or wholesale, bought ankara, in Lagos, "
                                  "last order over 60 days ago")


# Labels and businesses ----------------------------------------------------------------------------------


def test_labels_are_the_conversations_and_each_book_is_its_businesss(grace_env):
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("kentehouse", ADA, "whatsapp", stop=True)  # the same number talks to both businesses
    imported("phone,name,city,labels,consent\n024 400 0001,Kofi,Accra,kente-lover,yes\n", "kentehouse")
    order("akanraby", ADA, "AK-001", paid=True, name="Ada Obi")
    order("kentehouse", KOFI, "KH-001", paid=True)
    with session_scope() as session:
        assert add_contact_label(session, tenant(), ADA, "VIP") == ["vip"]
        with pytest.raises(ContactNotFound):
            add_contact_label(session, tenant(), KOFI, "vip")  # Kente House's contact, not Akanraby's
        with pytest.raises(NoteRefused):
            add_contact_label(session, tenant(), ADA, "no/slashes")

    assert book("kentehouse") == [KOFI, ADA] and book() == [ADA]
    kofi, ada_there = contact(KOFI, "kentehouse"), contact(ADA, "kentehouse")
    assert (kofi.labels, kofi.city, kofi.categories, kofi.currency) == (("kente-lover",), "Accra", ("asante kente",),
                                                                        "GHS")
    assert ada_there.labels == () and ada_there.consent == "opted_out" and ada_there.name is None
    assert (ada_there.orders, ada_there.last_order_at, ada_there.categories, ada_there.lifetime_value_minor) == (
        0, None, (), 0)
    assert contact(ADA).opted_in and contact(ADA).orders == 1 and contact(ADA).labels == ("vip",)
    assert contact(ADA).name == "Ada Obi" and contact(ADA).categories == ("ankara",)
    assert selected(Segment(), "kentehouse") == [KOFI] and selected(Segment()) == [ADA]
    assert selected(Segment(labels=("vip",)), "kentehouse") == []
    assert contact(KOFI) is None
    with session_scope() as session:
        assert remove_contact_label(session, tenant(), ADA, "vip") == []
        assert session.scalars(select(Contact.tenant_id).where(Contact.phone == KOFI)).all() == ["kentehouse"]


def test_a_branch_selling_the_same_fabrics_in_the_same_currency_keeps_its_own_book(grace_env):
    """Two businesses alike in all but their id (the same catalog, currency and customer): nothing of one
    business's orders, payments or categories shows in the other's book."""
    tenants = grace_env / "tenants"
    shutil.copytree(tenants / "akanraby", tenants / "akanraby-ikeja")
    settings = tenants / "akanraby-ikeja" / "tenant.yml"
    settings.write_text(settings.read_text().replace("+2349010000001", "+2349010000002")
                        .replace("meta_phone_number_id: '109000000000001'", "").replace("order_prefix: AKA",
                                                                                         "order_prefix: IKJ"))
    record_inbound("akanraby", ADA, "whatsapp")
    record_inbound("akanraby-ikeja", ADA, "whatsapp")
    order("akanraby", ADA, "AK-001", paid=True, days_ago=40, name="Ada Obi")
    here, there = contact(ADA), contact(ADA, "akanraby-ikeja")
    assert (here.orders, here.categories, here.name) == (1, ("ankara",), "Ada Obi") and here.lifetime_value_minor > 0
    assert (there.orders, there.categories, there.lifetime_value_minor, there.last_order_at, there.name) == (
        0, (), 0, None, None)
    assert selected(Segment(categories=("ankara",))) == [ADA]
    assert selected(Segment(categories=("ankara",)), "akanraby-ikeja") == []
    assert selected(Segment(last_order_older_than_days=30), "akanraby-ikeja") == []
