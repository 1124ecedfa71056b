"""Owners change their business settings (tenant.yml) from the dashboard, with history and undo.

A change is checked by the real tenant parser before anything is written, so
the assistant never loads a broken file; the write is atomic and the registry
picks it up on the next message. tenant.yml is edited with ruamel.yaml, which
keeps the owner's comments and layout; the result is read back the way the
parser reads it (PyYAML, YAML 1.1) and must mean exactly what was intended,
else it is written plainly (comments lost, meaning kept). Each write keeps the
previous file in `.history/` with who, when and what changed.
"""
from __future__ import annotations

import copy
import errno
import io
import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from grace.errors import GraceError, TenantFileError, UnknownTenant
from grace.tenancy.catalog import COLUMNS
from grace.tenancy.files import HISTORY, atomic_write, history_name, locked, tenant_folder
from grace.tenancy.hours import DAYS
from grace.tenancy.registry import (
    REDIRECT_KINDS,
    TENANT_ID,
    Tenant,
    get_registry,
    parse_tenant,
    routing_addresses,
)

# What the dashboard may change; nested mappings are merged key by key, lists are replaced whole.
FIELDS: dict[str, object] = {
    "name": str, "timezone": str, "image_base_url": str,
    "deposit_percent": float, "hold_hours": float, "payment_reminder_hours": float, "max_unpaid_orders": float,
    "takeover_idle_minutes": float,
    "delivery": {"pickup": {"address": "text?", "note": "text?"},
                 "zones": [{"name": str, "areas": "items", "fee": "number?", "days": "text?"}],
                 "free_above": "number?"},
    "deposit_includes_delivery": "yes/no", "pay_on_delivery": "yes/no",
    "payment_links": "text?", "paystack_secret_key_env": "text?", "stripe_secret_key_env": "text?",
    "stripe_webhook_secret_env": "text?",
    "hours": {day: str for day in DAYS},
    "payment": {"bank_name": str, "account_name": str, "account_number": str, "instructions": str},
    "ops": "phones",
    "voice": {"persona": str, "humour": str, "redirects": {kind: "lines" for kind in REDIRECT_KINDS}},
    "policies": {"returns": str, "delivery": str},
    "faq": [{"q": str, "a": str}],
    "promotions": [{"code": str, "description": str, "percent_off": "number?", "amount_off": "number?",
                    "min_qty": "number?", "min_total": "number?", "categories": "items", "skus": "items",
                    "starts": "text?", "valid_until": str, "max_uses_per_customer": "number?",
                    "first_order_only": "flag"}],
    # Messages Grace writes first (grace.shop.follow_ups): each one off when left blank or 0.
    "follow_ups": {"restock_alerts": "yes/no", "summary_nudge_minutes": "number?", "reorder_after_days": "number?",
                   "quiet_hours": "text?"},
    # How long customers' pictures, conversations and files are kept (grace.privacy.retention): blank keeps them.
    "retention": {"proof_images_days": "number?", "conversations_days": "number?", "media_days": "number?"},
}
# Kinds a form may leave blank: a blank one is left out of the file (the parser's default applies).
OPTIONAL = ("number?", "text?", "items", "flag")
_YES, _NO = ("yes", "true", "on", "1", "y"), ("no", "false", "off", "0", "n", "")


def _flatten(spec: dict, where: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, item in spec.items():
        out[f"{where}{key}"] = item
        if isinstance(item, dict):
            out |= _flatten(item, f"{where}{key}.")
    return out


FIELDS_AT = _flatten(FIELDS)  # "payment.bank_name" -> its spec
# What the parser assumes when the file leaves a field out: sending it back is not a change.
DEFAULTS = {"hold_hours": 48, "payment_reminder_hours": 6, "max_unpaid_orders": 2, "takeover_idle_minutes": 120,
            "image_base_url": "", "faq": [], "deposit_includes_delivery": True, "pay_on_delivery": False,
            "promotions": [], "payment_links": "", "delivery": None, "follow_ups": None,
            "retention": {}}  # no periods: everything kept (a form with every period blank changes nothing)
# Groups a form sends whole and that are replaced whole, so that a field cleared is removed (a pickup point
# taken away, the last zone deleted, quiet hours cleared), not kept from the old file as a merge would.
WHOLE = ("delivery", "follow_ups", "retention")
# What the form's "no payment links" choice is written as (the parser reads it as none).
NO_PAYMENT_LINKS = ("", "none", "no")
# The numbers customers write to decide which business answers: a number in the wrong tenant would hand
# one business's customers to another. Only the platform operator assigns them (`grace numbers`).
ROUTING = ("whatsapp_numbers", "meta_phone_number_id")
ROUTING_ONLY = "assigned by the platform operator (grace numbers assign); ask them to change it"
INDEX = "settings.jsonl"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPED = re.compile(r"(?<!\\)((?:\\\\)*)\\U([0-9A-Fa-f]{8})")


class SettingsError(GraceError):
    """Settings that cannot be saved; `errors` maps each field (dotted, e.g. payment.bank_name) to its problem."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    at: datetime
    by: str
    summary: str


def current_settings(tenant_id: str) -> dict:
    """The editable settings as the file has them (plus read-only id, currency, order_prefix), JSON-ready."""
    data = _plain(_read(_folder(tenant_id)))
    settings: dict = {"id": tenant_id, "currency": data.get("currency"),  # shown, not editable
                      "order_prefix": data.get("order_prefix") or _default_prefix(tenant_id),
                      "whatsapp_numbers": list(data.get("whatsapp_numbers") or []),
                      "meta_phone_number_id": str(data.get("meta_phone_number_id") or "")}
    for name, spec in FIELDS.items():
        settings[name] = _only_editable(data.get(name, DEFAULTS.get(name)), spec)
    return _json_ready(settings)


def _only_editable(value: object, spec: object) -> object:
    """What the form shows is what it may send back (payment.sample, say, stays in the file only)."""
    if isinstance(spec, dict) and isinstance(value, dict):
        return {k: _only_editable(value.get(k), s) for k, s in spec.items() if k in value}
    if isinstance(spec, list) and isinstance(value, list):
        return [_only_editable(item, spec[0]) for item in value]
    return value


def update_settings(tenant_id: str, changes: dict, by: str) -> Tenant:
    """Validate and save changed settings (unchanged values are left as written); the tenant as now loaded."""
    folder = _folder(tenant_id)
    path = folder / "tenant.yml"
    with locked(path):
        old_text = _read(folder)
        old = _plain(old_text)
        errors: dict[str, str] = {}
        fixed = {"id": tenant_id, "currency": old.get("currency"),
                 "order_prefix": old.get("order_prefix") or _default_prefix(tenant_id)}
        for name, value in fixed.items():  # the form may send them back, unchanged
            if name in changes and str(changes[name]).strip().upper() != str(value).strip().upper():
                errors[name] = "cannot be changed here (prices and order references depend on it)"
        for name in ROUTING:
            if name in changes and _routing_value(changes[name]) != _routing_value(old.get(name)):
                errors[name] = ROUTING_ONLY
        wanted = _normalise({k: v for k, v in changes.items() if k not in fixed and k not in ROUTING}, FIELDS, "",
                            errors)
        _tidy_delivery(wanted, changes)
        _check_url(wanted, errors)
        _check_promotions(tenant_id, wanted, errors)
        if errors:
            raise SettingsError(errors)
        intended = copy.deepcopy(old)
        changed: list[str] = []
        _merge(intended, old, wanted, "", changed)
        if not changed:
            return get_registry().get(tenant_id)
        text = _edited_text(old_text, old, wanted, intended)
        _validate(tenant_id, text)
        _write(folder, old_text, text, by, "changed " + ", ".join(changed))
    return get_registry().get(tenant_id)


def history(tenant_id: str) -> list[HistoryEntry]:
    """Every saved change of the tenant's settings, newest first."""
    index = _folder(tenant_id) / HISTORY / INDEX
    if not index.exists():
        return []
    entries = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [HistoryEntry(e["id"], datetime.fromisoformat(e["at"]), e["by"], e["summary"]) for e in reversed(entries)]


def undo(tenant_id: str, entry_id: str, by: str) -> Tenant:
    """Put tenant.yml back as it was before that change; the undo is itself a change in the history."""
    folder = _folder(tenant_id)
    entry = next((e for e in history(tenant_id) if e.id == entry_id), None)
    if entry is None:  # ids come from the dashboard's URLs: only ids in the index name files
        raise SettingsError({"history": f"no saved change {entry_id!r} for {tenant_id}"})
    previous = (folder / HISTORY / f"{entry.id}.yml").read_text(encoding="utf-8")
    with locked(folder / "tenant.yml"):
        current = _read(folder)
        _validate(tenant_id, previous)
        _write(folder, current, previous, by, f"undid {entry.at:%Y-%m-%d %H:%M} ({entry.summary})")
    return get_registry().get(tenant_id)


def create_tenant(tenant_id: str, name: str, **facts) -> Tenant:
    """A new business: its folder with a valid tenant.yml and an empty catalog (the dashboard fills it)."""
    if not TENANT_ID.match(tenant_id or ""):
        raise SettingsError({"id": "use 1-40 lower-case letters, digits, '-' or '_', starting with a letter or digit"})
    root = Path(get_registry().root)
    if (root / tenant_id).exists():
        raise SettingsError({"id": f"{tenant_id} already exists"})
    errors: dict[str, str] = {}
    data: dict = {"name": _text(name), "currency": str(facts.pop("currency", "")).strip().upper(),
                  "order_prefix": str(facts.pop("order_prefix", "") or _default_prefix(tenant_id)).upper()}
    data.update(_normalise({"hours": {d: "09:00-18:00" for d in DAYS[:5]} | {"sat": "10:00-16:00", "sun": "closed"},
                            "deposit_percent": 50, "hold_hours": 48, "faq": [], "promotions": [],
                            "voice": {"persona": "", "humour": "", "redirects": {k: [] for k in REDIRECT_KINDS}}},
                           FIELDS, "", errors))
    routing = {k: facts.pop(k) for k in ROUTING if facts.get(k)}  # the platform operator creates tenants
    wanted = _normalise(facts, FIELDS, "", errors)
    _check_url(wanted, errors)
    _merge(data, data, wanted, "", [])
    data |= _normalise(routing, {"whatsapp_numbers": "phones", "meta_phone_number_id": str}, "", errors)
    missing = ["currency", "timezone", "payment.bank_name", "payment.account_name", "payment.account_number",
               "ops", "policies.returns", "policies.delivery"]
    errors |= {field: "missing" for field in missing if _dotted(data, field) in (None, "", [])}
    if errors:
        raise SettingsError(errors)
    title = re.sub(r"\s+", " ", data["name"])  # one comment line, whatever was typed
    text = f"# {title}: created from the dashboard.\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True,
                                                                         width=4096)
    _validate(tenant_id, text)
    staging = root / f".new-{tenant_id}-{secrets.token_hex(4)}"  # not a tenant id: the registry never lists it
    staging.mkdir(parents=True)
    try:
        (staging / "tenant.yml").write_text(text, encoding="utf-8")
        (staging / "catalog.csv").write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
        staging.rename(root / tenant_id)  # all at once: never a half-made tenant
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        taken = exc.errno in (errno.EEXIST, errno.ENOTEMPTY)
        raise SettingsError({"id": f"{tenant_id} already exists" if taken else f"cannot create it: {exc}"}) from None
    return get_registry().get(tenant_id)


def _folder(tenant_id: str) -> Path:
    # Ids come from URLs and forms: only a registered tenant's own folder is ever touched.
    if not get_registry().exists(tenant_id):
        raise UnknownTenant(tenant_id)
    return tenant_folder(tenant_id)


def _read(folder: Path) -> str:
    return (folder / "tenant.yml").read_text(encoding="utf-8")


def _plain(text: str) -> dict:
    """The file as the tenant parser sees it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError({"(file)": f"tenant.yml cannot be read: {exc}"}) from None
    if not isinstance(data, dict):
        raise SettingsError({"(file)": "tenant.yml is not a mapping of settings"})
    return data


def _normalise(value: object, spec: object, where: str, errors: dict[str, str]) -> Any:
    """Form input shaped like the spec: texts stripped, numbers from text, lists from lines; problems in errors."""
    field = where.rstrip(".") or "(settings)"
    if isinstance(spec, dict):
        if value is None and where.count(".") == 1:  # a whole group left out (no delivery): as the file has it
            return None
        if not isinstance(value, dict):
            errors[field] = "expected a group of fields"
            return {}
        result = {}
        for key, item in value.items():
            if key not in spec:
                errors[f"{where}{key}"] = "not a setting that can be changed here"
            else:
                normalised = _normalise(item, spec[key], f"{where}{key}.", errors)
                if not (spec[key] in OPTIONAL and (normalised is None or normalised is False or normalised == [])):
                    result[key] = normalised
        return result
    if isinstance(spec, list):
        if not isinstance(value, list):
            errors[field] = "expected a list"
            return []
        items = [_normalise(item, spec[0], f"{field}[{i}].", errors) for i, item in enumerate(value)]
        return [item for item in items if any(v not in ("", None) for v in item.values())]  # a form's blank row
    if spec in ("phones", "lines"):
        lines: object = value.splitlines() if spec == "lines" and isinstance(value, str) else value
        lines = re.split(r"[,\s]+", lines) if isinstance(lines, str) else lines
        if not isinstance(lines, list):
            errors[field] = "expected a list"
            return []
        return [t for t in (_text(i) for i in lines) if t]
    if spec == "items":  # a list, or a text of names one per line or separated by commas
        names = re.split(r"[,\n]", value) if isinstance(value, str) else value
        if not isinstance(names, list):
            errors[field] = "expected a list of names"
            return []
        return [t for t in (_text(n) for n in names) if t]
    if spec in ("flag", "yes/no"):  # a flag left blank is left out; a yes/no is written either way
        if isinstance(value, bool):
            return value
        answer = _text(value).lower()
        if answer not in _YES + _NO:
            errors[field] = f"expected yes or no, got {value!r}"
        return answer in _YES
    if spec in ("number?", "text?") and _text(value) == "":
        return None
    if spec == "text?":
        return _text(value)
    if spec in (float, "number?"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            written = _text(value).rstrip("%")
            number = float(written.replace(",", "") if spec == "number?" else written)  # "5,000" off
        except ValueError:
            errors[field] = f"expected a number, got {value!r}"
            return value
        return int(number) if number.is_integer() else number
    return _text(value)


def _tidy_delivery(wanted: dict, changes: dict) -> None:
    """A delivery block left blank means no delivery (no question asked): written as `delivery: null`; a
    pickup point without an address or note is no pickup point. "No payment links" is written as ""."""
    if "payment_links" in changes and str(changes["payment_links"] or "").strip().lower() in NO_PAYMENT_LINKS:
        wanted["payment_links"] = ""
    if "delivery" not in wanted:
        return
    delivery = wanted["delivery"]
    if not isinstance(delivery, dict):
        wanted["delivery"] = None
        return
    if not delivery.get("pickup"):
        delivery.pop("pickup", None)
    if not delivery.get("pickup") and not delivery.get("zones"):
        wanted["delivery"] = None


def _check_url(wanted: dict, errors: dict[str, str]) -> None:
    # The parser joins picture names onto this address as given: a typo would break every picture.
    url = wanted.get("image_base_url")
    if url and not re.match(r"^https?://[^\s/]+\.[^\s]+$", url):
        errors["image_base_url"] = f"expected an http(s) address like https://example.com/fabrics/, got {url!r}"


def _check_promotions(tenant_id: str, wanted: dict, errors: dict[str, str]) -> None:
    """Promotions name categories and skus of the catalog: a typo would make a code apply to nothing.
    (The tenant parser checks the rest of a promotion: it reads the file beside an empty catalog.)"""
    promotions = wanted.get("promotions")
    if not isinstance(promotions, list):
        return
    try:
        catalog = get_registry().get(tenant_id).catalog
    except GraceError:  # the files are broken now: the parser will say so
        return
    categories = sorted(catalog.categories)
    for i, promotion in enumerate(promotions):
        if not isinstance(promotion, dict):
            continue
        unknown = [c for c in promotion.get("categories") or [] if c.lower() not in categories]
        if unknown:
            errors[f"promotions[{i}].categories"] = (
                f"{', '.join(unknown)}: not a category of your catalog ({', '.join(categories) or 'empty'})")
        unknown = [sku for sku in promotion.get("skus") or [] if catalog.get(sku) is None]
        if unknown:
            errors[f"promotions[{i}].skus"] = f"{', '.join(unknown)}: not in your catalog"


def _text(value: object) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return _CONTROL.sub("", "" if value is None else str(value)).strip()


def _merge(target: dict, old: object, wanted: dict, where: str, changed: list[str]) -> None:
    """Apply wanted values that differ from the old ones; nested groups key by key."""
    old = old if isinstance(old, dict) else {}
    for key, value in wanted.items():
        if isinstance(value, dict) and isinstance(FIELDS_AT.get(f"{where}{key}"), dict) \
                and f"{where}{key}" not in WHOLE:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge(target[key], old.get(key), value, f"{where}{key}.", changed)
        elif _json_ready(old.get(key, DEFAULTS.get(key) if not where else None)) != _json_ready(value):
            target[key] = value
            changed.append(f"{where}{key}")


def _edited_text(old_text: str, old: dict, wanted: dict, intended: dict) -> str:
    """The new tenant.yml: the owner's file with only the changed values replaced, when that reads back right."""
    rt = YAML()
    rt.preserve_quotes = True  # type: ignore[assignment]  # ruamel declares these None
    rt.width = 4096  # type: ignore[assignment]
    rt.indent(mapping=2, sequence=4, offset=2)
    document = rt.load(old_text)
    _merge(document, old, _quoted(wanted), "", [])
    out = io.StringIO()
    rt.dump(document, out)
    # ruamel writes emoji in double quotes as \U escapes; the owner should read their emoji.
    text = _ESCAPED.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), out.getvalue())
    try:
        if yaml.safe_load(text) == intended:
            return text
    except yaml.YAMLError:
        pass
    return yaml.safe_dump(intended, sort_keys=False, allow_unicode=True, width=4096)


def _quoted(value: object) -> Any:
    """Texts double-quoted: YAML 1.1 (the parser) and 1.2 (ruamel) read "yes" or "0123" differently unquoted."""
    if isinstance(value, str):
        return DoubleQuotedScalarString(value)
    if isinstance(value, list):
        return [_quoted(v) for v in value]
    if isinstance(value, dict):
        return {k: _quoted(v) for k, v in value.items()}
    return value


def _validate(tenant_id: str, text: str) -> None:
    """Parse the new file with the real parser, beside an empty catalog: settings problems only; and no
    number another business receives messages on."""
    with tempfile.TemporaryDirectory(prefix="grace-settings-") as tmp:
        folder = Path(tmp)
        (folder / "tenant.yml").write_text(text, encoding="utf-8")
        (folder / "catalog.csv").write_text(",".join(COLUMNS) + "\n", encoding="utf-8")
        try:
            tenant = parse_tenant(tenant_id, folder)
        except TenantFileError as exc:
            raise SettingsError({exc.field: exc.problem}) from None
    claims = get_registry().claims()
    for address in routing_addresses(tenant):
        others = [t.id for t in claims.get(address, []) if t.id != tenant_id]
        if others:
            field = "meta_phone_number_id" if address.startswith("meta:") else "whatsapp_numbers"
            raise SettingsError({field: f"{address.split(':', 1)[1]} belongs to another business ({others[0]})"})


def _routing_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return sorted(str(v).strip() for v in value if str(v).strip())
    if isinstance(value, str) and "\n" in value:
        return sorted(v.strip() for v in value.splitlines() if v.strip())
    return str(value or "").strip()


def assign_number(tenant_id: str, whatsapp: str | None = None, meta_id: str | None = None, *,
                  release: bool = False, by: str = "platform") -> Tenant:
    """The platform operator gives a business a WhatsApp number or Meta phone-number id (or takes it
    back). Refused, with the file unchanged, when another business has it."""
    folder = _folder(tenant_id)
    path = folder / "tenant.yml"
    with locked(path):
        old_text = _read(folder)
        old = _plain(old_text)
        intended = copy.deepcopy(old)
        numbers = [str(n) for n in old.get("whatsapp_numbers") or []]
        if whatsapp:
            number = whatsapp.removeprefix("whatsapp:").strip()
            numbers = [n for n in numbers if n != number] + ([] if release else [number])
            intended["whatsapp_numbers"] = numbers
        if meta_id is not None:
            if release:
                intended.pop("meta_phone_number_id", None)
            else:
                intended["meta_phone_number_id"] = str(meta_id).strip()
        if intended == old:
            return get_registry().get(tenant_id)
        # A released id is a key removed, which the comment-keeping edit cannot do: then the file is rewritten.
        text = _edited_text(old_text, old, {k: intended[k] for k in ROUTING if k in intended}, intended)
        _validate(tenant_id, text)
        what = "released" if release else "assigned"
        _write(folder, old_text, text, by, f"{what} " + ", ".join(x for x in (whatsapp, meta_id) if x))
    return get_registry().get(tenant_id)


def _write(folder: Path, old_text: str, text: str, by: str, summary: str) -> None:
    """Keep the old file in .history, then replace tenant.yml. Call under the tenant.yml lock."""
    kept = history_name(folder, "tenant", ".yml")
    kept.write_text(old_text, encoding="utf-8")
    atomic_write(folder / "tenant.yml", text)
    entry = {"id": kept.stem, "at": datetime.now(timezone.utc).isoformat(), "by": by, "summary": summary}
    with open(folder / HISTORY / INDEX, "a", encoding="utf-8") as index:  # listed once it happened
        index.write(json.dumps(entry, ensure_ascii=False) + "\n")


def _dotted(data: dict, dotted: str) -> object:
    node: object = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _default_prefix(tenant_id: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", tenant_id.upper())[:3]


def _json_ready(value: object) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value
