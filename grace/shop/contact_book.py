"""A business's contacts as the team sees them, and the segments broadcasts are sent to.

A contact is a WhatsApp number the business knows (grace.messaging.contacts): it wrote, or came in a list
the business imported. Beside its consent (when, how, or STOP) it shows what the shop knows of that person:
name and city, the team's labels (the inbox's conversation labels, one list: labelling a contact labels
its conversation), the last order, the categories bought and what they paid.

Definitions the business reads the same way everywhere:
- orders: orders placed and not cancelled or expired; the last order is the newest of them.
- categories bought and lifetime value: from orders with verified money (amount_paid_minor), in the
  tenant's currency; a fabric's category is the tenant catalog's for the line's sku (a fabric since removed
  from the catalog adds no category).
- opted in: consent recorded and not withdrawn by STOP. Opted-out numbers are never selected for a
  broadcast, whatever the segment says.
- The tenant's ops numbers are the team, not customers: they are not in the book.

Every query is scoped by the tenant's id.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePosixPath

import phonenumbers
from phonenumbers import NumberParseException
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grace.errors import GraceError
from grace.messaging.contacts import takes_consent
from grace.messaging.inbound import conversation_id
from grace.messaging.team_notes import MAX_LABELS, NoteRefused, add_label, label_name, labels_of, remove_label
from grace.money import format_money
from grace.shop.orders import NOT_COUNTED
from grace.shop.spreadsheets import CONTROL, delimiter_of, guard_cell, spreadsheet_text, unguarded
from grace.store.models import Contact, ConversationLabel, Customer, Order, OrderLine, utcnow
from grace.tenancy.catalog import major_text
from grace.tenancy.registry import E164, Tenant

MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_NAME_CHARS = 120  # the contacts table's columns
MAX_CITY_CHARS = 80
MAX_DAYS = 3650
CONSENT_FILTERS = ("any", "opted_in", "not_opted_in", "opted_out")
# What a file's consent cell may say. Anything else is a bad row: a typo must not opt anyone in.
YES = {"yes", "y", "true", "1"}
NO = {"", "no", "n", "false", "0"}
# A file may say the consent came from a box ticked at checkout; any other way it is recorded as "import"
# (Grace cannot vouch for how a list was made, but an export of Grace's own imports back without bad rows).
FILE_SOURCES = {"import": "import", "checkout": "checkout", "wrote_first": "import", "team": "import"}
EXPORT_COLUMNS = ("phone", "name", "city", "labels", "consent", "source", "opted_in_at", "opted_out_at",
                  "last_order_at", "orders", "categories", "lifetime_value", "currency")
# Contact fields a broadcast's template variables can be filled with (ContactView.value).
TEMPLATE_FIELDS = ("name", "first_name", "phone", "city", "last_order_date", "categories")
LIST_SEPARATORS = re.compile(r"[;|]")


class ContactError(GraceError):
    """A contact request that cannot be done; the message says why, for the team."""


class ContactNotFound(ContactError):
    """No such number in this business's contacts."""


class ImportRefused(ContactError):
    """The whole file is refused (type, size, no phone column): nothing was changed."""


class SegmentError(ContactError):
    """A segment that cannot select anyone as asked (an unknown label form, impossible days)."""


# Phone numbers ------------------------------------------------------------------------------------------


def home_region(tenant: Tenant) -> str | None:
    """The business's own country (ISO code, "NG"), from its WhatsApp number (else its ops numbers): a number
    written the local way ("0803 123 4567") is taken to be from there."""
    own = next(iter(tenant.whatsapp_numbers or tenant.ops), None)
    if own is None:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(own))
    except NumberParseException:
        return None


def normalise_phone(tenant: Tenant, text: str) -> str:
    """A phone number as Grace keeps it (E.164, "+2348031234567") from the ways people write it: with spaces,
    dashes or brackets, 00 for +, "whatsapp:+...", or locally ("0803...", "803..." once a spreadsheet dropped
    the 0) in the business's own country. The numbering plans are libphonenumber's (the `phonenumbers`
    package): which country code a number starts with, the trunk 0, each country's lengths. ContactError
    says what is wrong with it."""
    raw = CONTROL.sub("", text or "").strip()
    if raw.startswith("'"):  # the export's guard against spreadsheet formulas
        raw = raw[1:]
    raw = re.sub(r"^whatsapp:", "", raw, flags=re.IGNORECASE).strip()
    if re.search(r"\d[.,]\d*e\+?\d+$", raw, flags=re.IGNORECASE):
        raise ContactError(f"{text!r} is how a spreadsheet shows a long number: format the phone column as text")
    if not raw:
        raise ContactError("the phone number is missing")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    region = home_region(tenant)
    if not raw.startswith("+") and region is None:
        raise ContactError(f"{text!r}: write the number with its country code, like +2348031234567")
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        raise ContactError(f"{text!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise ContactError(f"{text!r} is not a phone number (too short or too long for its country)")
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not E164.match(formatted):
        raise ContactError(f"{text!r} is not a phone number (with its country code it has 7 to 15 digits)")
    return formatted


# The contact view ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactView:
    """One contact as the team and broadcasts see it. Money in the tenant's minor units."""

    tenant_id: str
    phone: str
    name: str | None
    city: str | None
    opted_in_at: datetime | None  # consent, UTC; kept after a STOP (opted_out_at says it was withdrawn)
    opt_in_source: str | None  # wrote_first / checkout / import / team
    opted_out_at: datetime | None
    labels: tuple[str, ...]
    last_order_at: datetime | None
    categories: tuple[str, ...]  # bought, as the catalog names them, sorted
    lifetime_value_minor: int
    currency: str
    orders: int
    last_inbound_at: datetime | None  # when the number last wrote: the 24-hour window opens there
    channel: str | None  # the provider it last wrote through; None when it never wrote
    created_at: datetime  # when the book first knew the number

    @property
    def opted_in(self) -> bool:
        """May get broadcasts: consent recorded and not withdrawn."""
        return self.opted_in_at is not None and self.opted_out_at is None

    @property
    def consent(self) -> str:
        """opted_in / opted_out / not_opted_in."""
        if self.opted_out_at is not None:
            return "opted_out"
        return "opted_in" if self.opted_in_at is not None else "not_opted_in"

    @property
    def conversation_id(self) -> str:
        """Its conversation ("<tenant>:<phone>"), where its labels live."""
        return conversation_id(self.tenant_id, self.phone)

    def value(self, field_name: str) -> str:
        """A field for a template variable (TEMPLATE_FIELDS); "" when unknown, e.g. no name."""
        if field_name not in TEMPLATE_FIELDS:
            raise ContactError(f"unknown contact field {field_name!r}; one of {', '.join(TEMPLATE_FIELDS)}")
        if field_name == "first_name":
            return (self.name or "").split(" ")[0]
        if field_name == "last_order_date":
            return self.last_order_at.date().isoformat() if self.last_order_at else ""
        if field_name == "categories":
            return ", ".join(self.categories)
        return str(getattr(self, field_name) or "")

    def to_dict(self) -> dict:
        """For the API: times in UTC with Z, money in minor units and as the shop writes it."""
        return {"phone": self.phone, "name": self.name, "city": self.city, "consent": self.consent,
                "opted_in": self.opted_in, "opted_in_at": _iso(self.opted_in_at), "opt_in_source": self.opt_in_source,
                "opted_out_at": _iso(self.opted_out_at), "labels": list(self.labels),
                "last_order_at": _iso(self.last_order_at), "orders": self.orders, "categories": list(self.categories),
                "lifetime_value_minor": self.lifetime_value_minor,
                "lifetime_value": format_money(self.lifetime_value_minor, self.currency), "currency": self.currency,
                "last_inbound_at": _iso(self.last_inbound_at)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


@dataclass(frozen=True)
class Segment:
    """Who a broadcast goes to: every criterion given must hold (within one, any of the values will do).

    labels: any of these labels; categories: bought any of these categories (case does not matter);
    city: this city (case and spacing do not matter); last_order_older_than_days: the last order was more
    than N days ago (no order: not selected); last_order_newer_than_days: the last order was within the last
    N days; opted_in_only: consent recorded (default; False also reaches numbers never asked, still never
    opted-out ones).
    """

    labels: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    city: str = ""
    last_order_older_than_days: int | None = None
    last_order_newer_than_days: int | None = None
    opted_in_only: bool = True

    def __post_init__(self) -> None:
        for name in ("labels", "categories"):  # one text given for a list: "vip;wholesale"
            if isinstance(getattr(self, name), str):
                object.__setattr__(self, name, tuple(LIST_SEPARATORS.split(getattr(self, name))))
        try:
            labels = tuple(dict.fromkeys(label_name(label) for label in self.labels if str(label).strip()))
        except NoteRefused as exc:
            raise SegmentError(str(exc)) from None
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "categories", tuple(dict.fromkeys(
            " ".join(str(c).split()) for c in self.categories if str(c).strip())))
        object.__setattr__(self, "city", " ".join(str(self.city or "").split()))
        for name in ("last_order_older_than_days", "last_order_newer_than_days"):
            days = getattr(self, name)
            if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS):
                raise SegmentError(f"{name} is a whole number of days from 0 to {MAX_DAYS}")
        older, newer = self.last_order_older_than_days, self.last_order_newer_than_days
        if older is not None and newer is not None and older >= newer:
            raise SegmentError(f"no last order is both over {older} days old and within the last {newer} days")

    @classmethod
    def from_dict(cls, data: dict) -> Segment:
        """From its JSON form (to_dict; Broadcast.segment), checked: SegmentError says what is wrong."""
        if not isinstance(data, dict):
            raise SegmentError("a segment is an object of labels, categories, city, last order days, opted_in_only")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise SegmentError(f"unknown segment fields: {', '.join(sorted(unknown))}")
        given = dict(data)
        for name in ("labels", "categories"):
            value = given.get(name, [])
            if isinstance(value, str):
                value = [v for v in LIST_SEPARATORS.split(value) if v.strip()]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise SegmentError(f"{name} is a list of texts")
            given[name] = tuple(value)
        if not isinstance(given.get("city", ""), str):
            raise SegmentError("city is a text")
        if not isinstance(given.get("opted_in_only", True), bool):
            raise SegmentError("opted_in_only is true or false")
        return cls(**given)

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "categories": list(self.categories), "city": self.city,
                "last_order_older_than_days": self.last_order_older_than_days,
                "last_order_newer_than_days": self.last_order_newer_than_days, "opted_in_only": self.opted_in_only}

    def describe(self) -> str:
        """In words, for the team: "opted in, labelled vip or wholesale, in Lagos"."""
        parts = ["opted in" if self.opted_in_only else "opted in or never asked (never opted out)"]
        if self.labels:
            parts.append("labelled " + " or ".join(self.labels))
        if self.categories:
            parts.append("bought " + " or ".join(self.categories))
        if self.city:
            parts.append(f"in {self.city}")
        if self.last_order_older_than_days is not None:
            parts.append(f"last order over {self.last_order_older_than_days} days ago")
        if self.last_order_newer_than_days is not None:
            parts.append(f"last order within {self.last_order_newer_than_days} days")
        return ", ".join(parts)

    def matches(self, contact: ContactView, now: datetime) -> bool:
        if self.opted_in_only and not contact.opted_in:
            return False
        if self.labels and not set(self.labels) & set(contact.labels):
            return False
        if self.categories and not {c.casefold() for c in self.categories} & {c.casefold() for c in contact.categories}:
            return False
        if self.city and " ".join((contact.city or "").split()).casefold() != self.city.casefold():
            return False
        last = contact.last_order_at
        if self.last_order_older_than_days is not None and (
                last is None or last > now - timedelta(days=self.last_order_older_than_days)):
            return False
        if self.last_order_newer_than_days is not None and (
                last is None or last < now - timedelta(days=self.last_order_newer_than_days)):
            return False
        return True


EVERYONE = Segment(opted_in_only=False)


def list_contacts(session: Session, tenant: Tenant, segment: Segment = EVERYONE, *, consent: str = "any",
                  now: datetime | None = None) -> list[ContactView]:
    """The business's contacts matching `segment`, newest activity first, for the team's list: opted-out
    numbers are shown here (consent="opted_out" lists only them). `consent` is one of CONSENT_FILTERS."""
    if consent not in CONSENT_FILTERS:
        raise ContactError(f"consent is one of {', '.join(CONSENT_FILTERS)}")
    moment = now or utcnow()
    return [c for c in _book(session, tenant)
            if (consent == "any" or c.consent == consent) and segment.matches(c, moment)]


def select_contacts(session: Session, tenant: Tenant, segment: Segment,
                    now: datetime | None = None) -> list[ContactView]:
    """Who a broadcast to `segment` reaches now: the matching contacts, never an opted-out number (and, with
    segment.opted_in_only, the default, only numbers whose consent is recorded). Newest activity first."""
    return [c for c in list_contacts(session, tenant, segment, now=now) if c.opted_out_at is None]


def count_contacts(session: Session, tenant: Tenant, segment: Segment, now: datetime | None = None) -> int:
    """How many select_contacts reaches: the count a broadcast page shows before sending."""
    return len(select_contacts(session, tenant, segment, now))


def get_contact(session: Session, tenant: Tenant, phone: str) -> ContactView | None:
    """One contact of this business (None: not in its book, e.g. another business's number)."""
    return next((c for c in _book(session, tenant, phone) if c.phone == phone), None)


def add_contact_label(session: Session, tenant: Tenant, phone: str, label: object) -> list[str]:
    """Label the contact (its conversation, as the inbox does): its labels afterwards. NoteRefused for a
    label that is not one, or one too many; ContactNotFound for a number not in the book."""
    _known(session, tenant, phone)
    add_label(session, tenant.id, conversation_id(tenant.id, phone), label)
    return _labels(session, tenant, phone)


def remove_contact_label(session: Session, tenant: Tenant, phone: str, label: object) -> list[str]:
    _known(session, tenant, phone)
    remove_label(session, tenant.id, conversation_id(tenant.id, phone), label)
    return _labels(session, tenant, phone)


def _known(session: Session, tenant: Tenant, phone: str) -> None:
    found = session.scalar(select(Contact.id).where(Contact.tenant_id == tenant.id, Contact.phone == phone))
    if found is None or phone in tenant.ops:
        raise ContactNotFound(f"{phone} is not one of {tenant.name}'s contacts")


def _labels(session: Session, tenant: Tenant, phone: str) -> list[str]:
    conversation = conversation_id(tenant.id, phone)
    return labels_of(session, tenant.id, [conversation]).get(conversation, [])


def _book(session: Session, tenant: Tenant, phone: str | None = None) -> list[ContactView]:
    """Every contact of the tenant (or the one number) with what the shop knows of it, in a few queries over
    the whole tenant (no per-contact queries, no long IN lists)."""
    contacts_query = select(Contact).where(Contact.tenant_id == tenant.id)
    if phone is not None:
        contacts_query = contacts_query.where(Contact.phone == phone)
    contacts = [c for c in session.scalars(contacts_query) if c.phone not in tenant.ops]
    if not contacts:
        return []
    names_query = select(Customer.phone, Customer.name).where(Customer.tenant_id == tenant.id)
    placed = (select(Customer.phone, func.count(Order.id), func.max(Order.created_at))
              .join(Order, Order.customer_id == Customer.id)
              .where(Customer.tenant_id == tenant.id, Order.tenant_id == tenant.id, Order.status.not_in(NOT_COUNTED))
              .group_by(Customer.phone))
    paid = (select(Customer.phone, func.sum(Order.amount_paid_minor))
            .join(Order, Order.customer_id == Customer.id)
            .where(Customer.tenant_id == tenant.id, Order.tenant_id == tenant.id, Order.amount_paid_minor > 0,
                   Order.currency == tenant.currency)
            .group_by(Customer.phone))
    bought = (select(Customer.phone, OrderLine.sku).distinct()
              .join(Order, Order.customer_id == Customer.id).join(OrderLine, OrderLine.order_id == Order.id)
              .where(Customer.tenant_id == tenant.id, Order.tenant_id == tenant.id, Order.amount_paid_minor > 0))
    if phone is not None:
        names_query, placed, paid, bought = (q.where(Customer.phone == phone)
                                             for q in (names_query, placed, paid, bought))
    names = {p: n for p, n in session.execute(names_query)}
    orders = {p: (count, last) for p, count, last in session.execute(placed)}
    values = {p: int(total or 0) for p, total in session.execute(paid)}
    categories: dict[str, set[str]] = {}
    for customer_phone, sku in session.execute(bought):
        fabric = tenant.catalog.get(sku)
        if fabric is not None:
            categories.setdefault(customer_phone, set()).add(fabric.category)
    labels = labels_of(session, tenant.id, None if phone is None else [conversation_id(tenant.id, phone)])
    views = []
    for row in contacts:
        count, last = orders.get(row.phone, (0, None))
        views.append(ContactView(
            tenant_id=tenant.id, phone=row.phone, name=row.name or names.get(row.phone), city=row.city,
            opted_in_at=row.opted_in_at, opt_in_source=row.opt_in_source, opted_out_at=row.opted_out_at,
            labels=tuple(labels.get(conversation_id(tenant.id, row.phone), [])), last_order_at=last,
            categories=tuple(sorted(categories.get(row.phone, ()))), lifetime_value_minor=values.get(row.phone, 0),
            currency=tenant.currency, orders=count, last_inbound_at=row.last_inbound_at,
            channel=row.channel or None, created_at=row.created_at))
    views.sort(key=lambda v: (max(filter(None, (v.last_inbound_at, v.last_order_at, v.created_at))), v.phone),
               reverse=True)
    return views



# Import and export ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportProblem:
    """A row left out of an import: its line in the file (the header is line 1) and why."""

    line: int
    phone: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}" + (f" ({self.phone})" if self.phone else "") + f": {self.problem}"


@dataclass
class ImportReport:
    added: int = 0  # numbers new to the book
    updated: int = 0  # numbers it knew: name, city and labels from the file, consent only ever added
    opted_in: int = 0  # consent recorded by this file
    kept_opted_out: int = 0  # said yes in the file, but the person had sent STOP: not opted back in
    problems: list[ImportProblem] = field(default_factory=list)

    def summary(self) -> str:
        said = f"{self.added} added, {self.updated} updated, {self.opted_in} opted in"
        if self.kept_opted_out:
            said += f", {self.kept_opted_out} kept opted out (they sent STOP)"
        if self.problems:
            said += f"; {len(self.problems)} row{'' if len(self.problems) == 1 else 's'} left out"
        return said

    def to_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "opted_in": self.opted_in,
                "kept_opted_out": self.kept_opted_out, "summary": self.summary(),
                "problems": [{"line": p.line, "phone": p.phone, "problem": p.problem} for p in self.problems]}


@dataclass(frozen=True)
class _Row:
    phone: str
    name: str
    city: str
    labels: tuple[str, ...]
    consent: bool
    source: str


def import_contacts(session: Session, tenant: Tenant, data: bytes, filename: str = "contacts.csv") -> ImportReport:
    """Add or update contacts from a CSV file: phone (required), name, city, labels (separated by ; or |),
    consent (yes / y / true / 1: opted in, source "import"; a `source` column may say "checkout"; empty, no,
    n, false, 0: not opted in). An import never removes consent, never opts a number that sent STOP back in,
    and never removes a label. Bad rows are reported with their line and left out, the good ones kept.

    ImportRefused, with nothing changed, for a file that is not CSV, is over MAX_IMPORT_BYTES or
    MAX_IMPORT_ROWS rows, or has no phone column; also when a number of the file wrote in, or a label was put
    on it, while the file was being read (the session is then rolled back: import it again). The caller
    commits."""
    header, rows = _table(data, filename)
    at = {name: i for i, name in reversed(list(enumerate(header)))}  # a repeated column: its first one counts
    report = ImportReport()
    known = {c.phone: c for c in session.scalars(select(Contact).where(Contact.tenant_id == tenant.id))}
    labels = labels_of(session, tenant.id)
    seen: dict[str, int] = {}
    new_contacts: list[dict] = []
    new_labels: list[dict] = []
    now = utcnow()
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue  # a blank line (Excel leaves some at the end)
        try:
            row = _read_row(tenant, cells, at)
            if row.phone in seen:
                raise ContactError(f"the same number as line {seen[row.phone]}")
            if row.phone in tenant.ops:
                raise ContactError("an ops number of the business, not a customer")
            conversation = conversation_id(tenant.id, row.phone)
            current = labels.get(conversation, [])
            adding = [label for label in row.labels if label not in current]
            if len(current) + len(adding) > MAX_LABELS:
                raise ContactError(f"a contact keeps at most {MAX_LABELS} labels; this one would have "
                                   f"{len(current) + len(adding)}")
        except ContactError as exc:
            report.problems.append(ImportProblem(line, _cell(cells, at.get("phone")).strip()[:40], str(exc)))
            continue
        seen[row.phone] = line
        contact = known.get(row.phone)
        if contact is None:
            report.added += 1
            new_contacts.append(_new_contact(tenant, row, now, report))
        else:
            report.updated += 1
            _update(contact, row, now, report)
        new_labels += [{"tenant_id": tenant.id, "conversation_id": conversation, "label": label} for label in adding]
    # Thousands of rows: inserted together, not one statement (and savepoint) per row.
    try:
        with session.begin_nested():
            if new_contacts:
                session.execute(insert(Contact), new_contacts)
            if new_labels:
                session.execute(insert(ConversationLabel), new_labels)
            session.flush()
    except IntegrityError:
        session.rollback()
        raise ImportRefused("some of these numbers wrote in or were labelled while the file was read: nothing "
                            "was imported; import the file again") from None
    return report


def _new_contact(tenant: Tenant, row: _Row, now: datetime, report: ImportReport) -> dict:
    """A number new to the book ("" channel: it never wrote, so it has no provider of its own yet)."""
    consent = row.consent and takes_consent(None)
    report.opted_in += consent
    return {"tenant_id": tenant.id, "phone": row.phone, "channel": "", "name": row.name or None,
            "city": row.city or None, "created_at": now, "opted_in_at": now if consent else None,
            "opt_in_source": row.source if consent else None}


def _update(contact: Contact, row: _Row, now: datetime, report: ImportReport) -> None:
    """A number the book knew: the file's name and city; its consent only ever added, never over a STOP."""
    if row.name:
        contact.name = row.name
    if row.city:
        contact.city = row.city
    if not row.consent:
        return
    if contact.opted_out_at is not None:
        report.kept_opted_out += 1
    elif takes_consent(contact):
        contact.opted_in_at, contact.opt_in_source = now, row.source
        report.opted_in += 1


def _read_row(tenant: Tenant, cells: list[str], at: dict[str, int]) -> _Row:
    phone = normalise_phone(tenant, _cell(cells, at.get("phone")))
    name, city = _text(cells, at, "name", MAX_NAME_CHARS), _text(cells, at, "city", MAX_CITY_CHARS)
    labels = []
    for given in LIST_SEPARATORS.split(_text(cells, at, "labels", 1000)):
        if given.strip():
            try:
                labels.append(label_name(given))
            except NoteRefused as exc:
                raise ContactError(f"label {given.strip()[:40]!r}: {exc}") from None
    consent_text = _cell(cells, at.get("consent")).strip().lower()
    if consent_text not in YES | NO:
        raise ContactError(f"consent is yes or no (or true/false, 1/0), not {consent_text[:20]!r}")
    source_text = _cell(cells, at.get("source")).strip().lower() or "import"
    if source_text not in FILE_SOURCES:
        raise ContactError(f"source is import or checkout, not {source_text[:20]!r}")
    return _Row(phone, name, city, tuple(dict.fromkeys(labels)), consent_text in YES, FILE_SOURCES[source_text])


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _text(cells: list[str], at: dict[str, int], column: str, limit: int) -> str:
    text, formula = unguarded(" ".join(CONTROL.sub("", _cell(cells, at.get(column))).split()))
    if formula:
        raise ContactError(f"{column} {text[:30]!r} is a spreadsheet formula: type the value itself")
    if len(text) > limit:
        raise ContactError(f"{column} is at most {limit} characters; this one has {len(text)}")
    return text


def _table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The file's header (lower case) and rows with their line numbers; ImportRefused when it is no CSV
    contacts file, before anything is read into the book."""
    if not data:
        raise ImportRefused("the file is empty")
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportRefused(f"the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_IMPORT_BYTES // 2**20} MB")
    suffix = PurePosixPath((filename or "contacts.csv").lower()).suffix
    if suffix not in (".csv", ".txt") or data.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0")):
        raise ImportRefused(f"{filename!r} is not a CSV file (in Excel: File > Save As > CSV UTF-8)")
    text = spreadsheet_text(data)
    if text is None or "\x00" in text:
        raise ImportRefused("the file is not text: save it as CSV UTF-8")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text))
    table: list[tuple[int, list[str]]] = []
    ended = 0  # the line the previous row ended on: a cell may hold line breaks
    try:
        for cells in reader:
            if len(table) > MAX_IMPORT_ROWS:  # the header and MAX_IMPORT_ROWS rows are in: one too many
                raise ImportRefused(f"the file has over {MAX_IMPORT_ROWS:,} rows: split it into smaller files")
            table.append((ended + 1, cells))
            ended = reader.line_num
    except csv.Error as exc:
        raise ImportRefused(f"not a readable CSV file (line {reader.line_num}: {exc})") from None
    while table and not any(cell.strip() for cell in table[0][1]):
        table.pop(0)
    header = [CONTROL.sub("", name).strip().lower() for name in table[0][1]] if table else []
    if "phone" not in header:
        raise ImportRefused("the file has no phone column: its first line names the columns, e.g. "
                            "phone,name,city,labels,consent")
    return header, table[1:]


def export_contacts_csv(tenant: Tenant, contacts: list[ContactView]) -> str:
    """The contacts as CSV for Excel (BOM, CRLF; no cell can run as a formula, so phone numbers start with
    "'"): the import's columns first, so the file imports back as it is."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for c in contacts:
        writer.writerow([guard_cell(cell) for cell in (
            c.phone, c.name or "", c.city or "", ";".join(c.labels), "yes" if c.opted_in else "no",
            c.opt_in_source or "", _stamp(c.opted_in_at), _stamp(c.opted_out_at), _stamp(c.last_order_at),
            str(c.orders), ";".join(c.categories), major_text(c.lifetime_value_minor, c.currency), c.currency)])
    return "\ufeff" + out.getvalue()


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""
