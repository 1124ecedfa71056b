"""`grace`: the command line for ops and trainers.

  grace payments list [--status pending]      payments of a tenant
  grace payments verify <order ref>           deposit verified: the customer is told
  grace payments reject <order ref> --reason  rejected with a reason the customer sees
  grace orders list [--status deposit_paid]   orders of a tenant
  grace orders status <order ref> <status>    in_production / ready / shipped / delivered: the customer is told
                                              (shipped / delivered: once the balance is paid, or pay_on_delivery)
  grace orders request-balance <order ref>    ask the customer for the balance of a paid order
  grace events retry                          re-deliver customer notifications
  grace tenants check                         validate every tenant's files
  grace tenants create <id> --name ...        a new business (then fill it in from the dashboard)
  grace numbers list|assign|release [<tenant> --whatsapp N | --meta-id ID]
                                              which business receives which number (platform operator only)
  grace users add <tenant> <email> --role R   a dashboard account (owner, ops or viewer)
  grace admin ...                             the platform operator: admins, businesses, numbers, suspension,
                                              plans, the secret key (grace admin --help)
  grace keys create <tenant>                  an API key for /api/v1 (printed once)
  grace contacts import <tenant> <file.csv>   add or update contacts (phone, name, city, labels, consent)
  grace contacts export <tenant> [file]       the contacts as CSV (to the file, else printed)
  grace analytics <tenant> <from> <to> [--out DIR]   figures as JSON, charts as SVG
  grace learn [--days 30]                     review of unhandled messages and FAQ candidates (data/suggestions/)
  grace run [--shell]                         start Rasa and the action server
  grace shell                                 chat with a running Grace as a customer
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date, datetime
from pathlib import Path

from grace.config import load_settings
from grace.errors import GraceError
from grace.messaging.rasa_delivery import deliver_customer_events
from grace.money import format_money
from grace.shop.balance import BalanceError, balance_due, request_balance
from grace.shop.fulfilment import FulfilmentError, change_status
from grace.shop.ops import decide_payment
from grace.shop.orders import orders_of
from grace.shop.payments import PaymentError, payments_of
from grace.store import session_scope
from grace.store.audit import Actor
from grace.tenancy.registry import get_registry


def _report(tenant_id: str, delivered: list[tuple]) -> int:
    failures = 0
    for row, outcome in delivered:
        who = row.recipients[0]
        if isinstance(outcome, str):
            failures += 1
            print(f"  ! {row.kind} not delivered to {who}: {outcome}\n"
                  f"    (saved; run 'grace events retry --tenant {tenant_id}' once Rasa is up)")
        else:
            print(f"  → {who}: {row.kind}")
            for message in outcome:
                print(f"    Grace: {message.get('text') or message.get('image') or ''}")
    return 1 if failures else 0


def cmd_payments(args: argparse.Namespace) -> int:
    tenant = get_registry().get(args.tenant)
    if args.action == "list":
        with session_scope() as session:
            for p in payments_of(session, tenant.id, None if args.status == "all" else args.status):
                money = lambda m: format_money(m, tenant.currency) if m is not None else "-"  # noqa: E731
                print(f"{p.id:>5}  {p.order.reference}  {p.status:<9} due {money(p.expected_minor)}"
                      f"  stated {money(p.stated_amount_minor)}  proof {p.proof_url or '(text only)'}")
        return 0
    try:
        decision = decide_payment(tenant, args.reference, args.action == "verify", args.reason or "", by=args.by,
                                  actor=Actor(f"cli {args.by}"))
    except PaymentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Payment for order {decision.reference} {decision.status}.")
    return _report(tenant.id, decision.delivered)


def cmd_orders(args: argparse.Namespace) -> int:
    tenant = get_registry().get(args.tenant)
    if args.action == "list":
        with session_scope() as session:
            for order in orders_of(session, tenant.id, None if args.status == "all" else args.status):
                lines = ", ".join(f"{line.quantity} {line.unit} {line.sku}" for line in order.lines)
                due = balance_due(order)
                print(f"{order.reference}  {order.status:<17} {format_money(order.total_minor, tenant.currency):>12}"
                      f"  {order.customer.name or order.customer.phone}  {lines}"
                      + (f"  (paid {format_money(order.amount_paid_minor, tenant.currency)}, balance due "
                         f"{format_money(due, tenant.currency)})" if order.amount_paid_minor and due else ""))
        return 0
    if args.action == "request-balance":
        try:
            with session_scope() as session:
                order = request_balance(session, tenant, args.reference, by=args.by, actor=Actor(f"cli {args.by}"))
                reference, amount = order.reference, format_money(balance_due(order), tenant.currency)
        except BalanceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Balance of {amount} requested for order {reference}.\n"
              "  → the customer is told on WhatsApp by the outbox worker")
        return 0
    try:
        with session_scope() as session:
            order = change_status(session, tenant, args.reference, args.status)
            reference = order.reference
    except FulfilmentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Order {reference} is now {args.status}.")
    if args.status == "delivered":  # told inside the conversation, which then asks for feedback
        return _report(tenant.id, deliver_customer_events(tenant.id))
    print("  → the customer is told on WhatsApp by the outbox worker")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    tenant_id = get_registry().get(args.tenant).id
    return _report(tenant_id, deliver_customer_events(tenant_id))


def cmd_tenants(args: argparse.Namespace) -> int:
    if args.action == "create":
        return cmd_tenant_create(args)
    registry = get_registry()
    bad = 0
    for tenant_id in registry.ids():
        problem: GraceError | None
        try:
            tenant = registry.get(tenant_id)
            problem = registry.error(tenant_id)
        except GraceError as exc:
            problem = exc
        if problem:
            bad += 1
            print(f"✗ {tenant_id}: {problem}")
        else:
            print(f"✓ {tenant_id}: {tenant.name}, {len(tenant.catalog.fabrics)} fabrics")
    if not registry.ids():
        print(f"no tenants under {registry.root}")
        return 1
    for address, owners in registry.conflicts().items():
        bad += 1
        print(f"✗ {address.split(':', 1)[1]} is claimed by {' and '.join(owners)}: messages to it are refused "
              f"until one releases it (grace numbers release)")
    return 1 if bad else 0


def cmd_numbers(args: argparse.Namespace) -> int:
    """Which business receives messages on which number: the platform operator's decision alone."""
    from grace.tenancy.settings import SettingsError
    from grace.tenancy.standing import StandingError, assign

    registry = get_registry()
    if args.action == "list":
        conflicts = registry.conflicts()
        for address, tenants in sorted(registry.claims().items()):
            note = "  ✗ claimed twice: routed to none" if address in conflicts else ""
            print(f"{address:32} {', '.join(t.id for t in tenants)}{note}")
        return 1 if conflicts else 0
    if not (args.whatsapp or args.meta_id):
        print("error: give --whatsapp NUMBER or --meta-id ID", file=sys.stderr)
        return 2
    try:
        with session_scope() as session:
            tenant = assign(session, registry.get(args.tenant).id, args.whatsapp, args.meta_id,
                            release=args.action == "release", by=_operator(args))
    except SettingsError as exc:
        for field_name, problem in exc.errors.items():
            print(f"error: {field_name}: {problem}", file=sys.stderr)
        return 2
    except StandingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta_id = tenant.extra.get("meta_phone_number_id") or "-"
    print(f"{tenant.id}: WhatsApp numbers {', '.join(tenant.whatsapp_numbers) or '-'}; Meta phone-number id {meta_id}")
    return 0


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from grace.tenancy.settings import SettingsError
    from grace.tenancy.standing import business_facts, create_business

    facts = business_facts(currency=args.currency, timezone=args.timezone, ops=args.ops, whatsapp=args.whatsapp,
                           deposit_percent=args.deposit_percent, bank_name=args.bank_name,
                           account_name=args.account_name, account_number=args.account_number,
                           returns=args.returns, delivery=args.delivery)
    try:
        with session_scope() as session:
            tenant = create_business(session, args.tenant_id, args.name or args.tenant_id, facts, _operator(args))
    except SettingsError as exc:
        for field_name, problem in exc.errors.items():
            print(f"error: {field_name}: {problem}", file=sys.stderr)
        return 2
    print(f"Created {tenant.id} ({tenant.name}). Next: grace users add {tenant.id} <email> --role owner")
    return 0


def _operator(args: argparse.Namespace) -> str:
    """Who runs a platform command, as the business's audit log names them ("platform <this>"): --by, else
    the login name on this machine."""
    if getattr(args, "by", None):
        return args.by
    try:
        return f"{getpass.getuser()} (cli)"
    except Exception:  # no login name (a container without a passwd entry)
        return "cli"


def _new_password(args: argparse.Namespace, who: str) -> str | None:
    """A password from stdin (--password-stdin: its first line) or typed twice; None after saying why not."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            print("error: no password on stdin", file=sys.stderr)
            return None
        return password
    password = getpass.getpass(f"Password for {who}: ")
    if getpass.getpass("Again: ") != password:
        print("error: the passwords differ", file=sys.stderr)
        return None
    return password


def cmd_admin(args: argparse.Namespace) -> int:
    """The platform operator's commands; each change is kept in the business's audit log."""
    from grace.tenancy.settings import SettingsError
    from grace.tenancy.standing import StandingError, resume, set_plan, suspend

    if args.admin_command == "add-admin":
        return _add_admin(args)
    if args.admin_command == "businesses":
        return _list_businesses(args)
    if args.admin_command == "create-business":
        return cmd_tenant_create(args)
    if args.admin_command == "assign-number":
        args.action = "release" if args.release else "assign"
        return cmd_numbers(args)
    if args.admin_command == "new-key":
        from grace.store.secrets import new_key

        print(new_key())
        return 0
    if args.admin_command == "rotate-key":
        from grace.tenancy.credentials import reseal_all

        try:
            with session_scope() as session:
                count = reseal_all(session)
        except GraceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{count} provider account{'' if count == 1 else 's'} sealed again with the newest key; "
              "the older keys may now be dropped from GRACE_SECRET_KEY.")
        return 0
    by = _operator(args)
    try:
        with session_scope() as session:
            if args.admin_command == "suspend":
                suspend(session, args.tenant, args.reason, by)
                done = (f"{args.tenant} is suspended: its customers get a polite message and nothing is sent for it; "
                        "its data and dashboard are kept.")
            elif args.admin_command == "resume":
                resume(session, args.tenant, by)
                done = f"{args.tenant} is active again."
            else:
                account = set_plan(session, args.tenant, args.plan, by)
                done = f"{args.tenant} is on plan {account.plan or 'default'}."
    except (StandingError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(done)
    return 0


def _add_admin(args: argparse.Namespace) -> int:
    from grace.tenancy.admins import AdminError, create_admin

    password = _new_password(args, args.email)
    if password is None:
        return 2
    try:
        with session_scope() as session:
            email = create_admin(session, args.email, password).email
    except AdminError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{email} can now log in to the admin area (/admin).")
    return 0


def _list_businesses(args: argparse.Namespace) -> int:
    from grace.tenancy.standing import businesses

    with session_scope() as session:
        listed = businesses(session, args.month)
    for b in listed:
        standing = (f"SUSPENDED since {b.suspended_at:%Y-%m-%d %H:%M} UTC by {b.suspended_by}: {b.suspended_reason}"
                    if b.suspended_at else "active")
        usage = ", ".join(f"{metric} {count:,}" + ("" if b.limits.get(metric) is None else f" of {b.limits[metric]:,}")
                          for metric, count in sorted(b.usage.items())) or "no usage"
        print(f"{b.id:20} {b.name[:30]:30} plan {b.plan or 'default':12} {standing}")
        print(f"{'':20} numbers {', '.join(b.numbers) or '-'}; {args.month or 'this month'}: {usage}"
              + (f"\n{'':20} ✗ its files do not load: {b.problem}" if b.problem else ""))
    if not listed:
        print("no businesses yet (grace admin create-business)")
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from grace.tenancy.accounts import AccountError, create_user

    if not get_registry().exists(args.tenant_id):
        print(f"error: unknown tenant {args.tenant_id!r}", file=sys.stderr)
        return 2
    if args.password_env:
        password = os.environ.get(args.password_env, "")
        if not password:
            print(f"error: {args.password_env} is not set", file=sys.stderr)
            return 2
    else:
        password = getpass.getpass(f"Password for {args.email}: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 2
    try:
        with session_scope() as session:
            user = create_user(session, args.tenant_id, args.email, args.role, password)
            email = user.email
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{email} can now log in to {args.tenant_id}'s dashboard as {args.role}.")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from grace.tenancy.accounts import create_api_key

    if not get_registry().exists(args.tenant_id):
        print(f"error: unknown tenant {args.tenant_id!r}", file=sys.stderr)
        return 2
    with session_scope() as session:
        _, key = create_api_key(session, args.tenant_id, args.label or "cli")
    print("API key (shown only now; Grace keeps only its hash). Send it as X-API-Key:")
    print(key)
    return 0


def cmd_contacts(args: argparse.Namespace) -> int:
    from grace.shop.contact_book import ImportRefused, export_contacts_csv, import_contacts, list_contacts

    registry = get_registry()
    if not registry.exists(args.tenant):
        print(f"error: unknown tenant {args.tenant!r}", file=sys.stderr)
        return 2
    tenant = registry.get(args.tenant)
    if args.action == "export":
        with session_scope() as session:
            contacts = list_contacts(session, tenant)
            text = export_contacts_csv(tenant, contacts)
        if args.file:
            args.file.write_text(text, encoding="utf-8", newline="")
            print(f"{len(contacts)} contacts written to {args.file}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if args.file is None:
        print("error: contacts import needs a CSV file", file=sys.stderr)
        return 2
    try:
        with session_scope() as session:
            report = import_contacts(session, tenant, args.file.read_bytes(), args.file.name)
    except (ImportRefused, OSError) as exc:
        print(f"error: nothing was imported: {exc}", file=sys.stderr)
        return 2
    print(f"{tenant.id}: {report.summary()}")
    for problem in report.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def cmd_analytics(args: argparse.Namespace) -> int:
    """A tenant's figures as JSON, and its charts as SVG files when --out is given."""
    import json

    from grace.analytics import render_charts, tenant_report

    try:
        report = tenant_report(args.tenant, args.start, args.end)
    except GraceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, svg in render_charts(report).items():
            (args.out / f"{name}.svg").write_text(svg, encoding="utf-8")
        print(f"charts written to {args.out}", file=sys.stderr)
    return 0


def _business_options(parser: argparse.ArgumentParser) -> None:
    """What a new business is created with (`tenants create`, `admin create-business`)."""
    parser.add_argument("--name", help="the business's name")
    parser.add_argument("--currency", help="ISO 4217, e.g. NGN")
    parser.add_argument("--timezone", help="IANA, e.g. Africa/Lagos")
    parser.add_argument("--ops", action="append", default=[], help="an ops team number (repeat for more)")
    parser.add_argument("--whatsapp", action="append", default=[], help="a WhatsApp number of the business")
    parser.add_argument("--deposit-percent", type=float)
    parser.add_argument("--bank-name")
    parser.add_argument("--account-name")
    parser.add_argument("--account-number")
    parser.add_argument("--returns", help="the returns policy")
    parser.add_argument("--delivery", help="the delivery policy")


def _month(text: str) -> str:
    try:
        return datetime.strptime(text, "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month like 2026-11") from None


def _admin_parser(sub) -> None:
    admin = sub.add_parser("admin", help="the platform operator: admins, businesses, numbers, suspension, plans")
    commands = admin.add_subparsers(dest="admin_command", required=True)
    by = argparse.ArgumentParser(add_help=False)
    by.add_argument("--by", help="who acts (the audit log's platform <by>; default: your login name)")

    add_admin = commands.add_parser("add-admin", help="an account for the admin area (/admin)")
    add_admin.add_argument("email")
    add_admin.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")

    listing = commands.add_parser("businesses", help="every business: plan, standing, numbers, usage this month")
    listing.add_argument("--month", type=_month, help="another month's usage, YYYY-MM (UTC)")

    create = commands.add_parser("create-business", parents=[by], help="a new business (as grace tenants create)")
    create.add_argument("tenant_id", help="lower-case letters, digits, - or _")
    _business_options(create)

    assign = commands.add_parser("assign-number", parents=[by], help="give a business a number (or --release it)")
    assign.add_argument("tenant")
    assign.add_argument("--whatsapp", help="an E.164 number, +233...")
    assign.add_argument("--meta-id", help="a Meta phone-number id")
    assign.add_argument("--release", action="store_true", help="take the number back")

    suspend = commands.add_parser("suspend", parents=[by], help="customers get a polite message; data is kept")
    suspend.add_argument("tenant")
    suspend.add_argument("--reason", required=True, help="why (the business's owners see it)")

    resume = commands.add_parser("resume", parents=[by], help="lift a suspension")
    resume.add_argument("tenant")

    plan = commands.add_parser("plan", parents=[by], help="put a business on a plan of plans.yml (or default)")
    plan.add_argument("tenant")
    plan.add_argument("plan")

    commands.add_parser("new-key", help="print a new key for GRACE_SECRET_KEY")
    commands.add_parser("rotate-key", help="seal every stored provider account again with the newest key")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="grace", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    default_tenant = load_settings().default_tenant

    pay = sub.add_parser("payments", help="list, verify or reject payments")
    pay.add_argument("action", choices=["list", "verify", "reject"])
    pay.add_argument("reference", nargs="?", help="order reference, e.g. AKA-7QX4M")
    pay.add_argument("--tenant", default=default_tenant)
    pay.add_argument("--reason", help="why the payment is rejected (the customer sees it)")
    pay.add_argument("--status", default="pending", choices=["pending", "verified", "rejected", "all"])
    pay.add_argument("--by", default="ops", help="who decided (kept with the payment)")

    orders = sub.add_parser("orders", help="list orders, move a paid order forward, request its balance")
    orders.add_argument("action", choices=["list", "status", "request-balance"])
    orders.add_argument("reference", nargs="?", help="order reference, e.g. AKA-7QX4M")
    orders.add_argument("new_status", nargs="?", metavar="status",
                        choices=["in_production", "ready", "shipped", "delivered"])
    orders.add_argument("--tenant", default=default_tenant)
    orders.add_argument("--status", default="all", help="list only orders with this status")
    orders.add_argument("--by", default="ops", help="who asked for the balance (kept with the request)")

    events = sub.add_parser("events", help="deliver pending customer notifications")
    events.add_argument("action", choices=["retry"])
    events.add_argument("--tenant", default=default_tenant)

    tenants = sub.add_parser("tenants", help="check tenant files, or create a tenant")
    tenants.add_argument("action", choices=["check", "create"])
    tenants.add_argument("tenant_id", nargs="?", help="for create: lower-case letters, digits, - or _")
    _business_options(tenants)

    numbers = sub.add_parser("numbers", help="which business receives which WhatsApp number (platform operator)")
    numbers.add_argument("action", choices=["list", "assign", "release"])
    numbers.add_argument("tenant", nargs="?")
    numbers.add_argument("--whatsapp", help="an E.164 number, +233...")
    numbers.add_argument("--meta-id", help="a Meta phone-number id")
    numbers.add_argument("--by", help="who assigns it (the audit log's platform <by>; default: your login name)")

    _admin_parser(sub)

    users = sub.add_parser("users", help="dashboard accounts")
    users.add_argument("action", choices=["add"])
    users.add_argument("tenant_id")
    users.add_argument("email")
    users.add_argument("--role", required=True, choices=["owner", "ops", "viewer"])
    users.add_argument("--password-env", metavar="VAR", help="read the password from this variable, not a prompt")

    keys = sub.add_parser("keys", help="API keys")
    keys.add_argument("action", choices=["create"])
    keys.add_argument("tenant_id")
    keys.add_argument("--label", help="what will use the key")

    contacts = sub.add_parser("contacts", help="import or export a business's contacts (CSV)")
    contacts.add_argument("action", choices=["import", "export"])
    contacts.add_argument("tenant")
    contacts.add_argument("file", nargs="?", type=Path, help="import: the CSV file; export: where to write it")

    run = sub.add_parser("run", help="start Rasa and the action server")
    run.add_argument("--shell", action="store_true", help="then chat in this terminal")
    run.add_argument("--tenant", default=default_tenant)

    shell = sub.add_parser("shell", help="chat with a running Grace as a customer")
    shell.add_argument("--tenant", default=default_tenant)
    shell.add_argument("--sender", default="+2348000000000")

    analytics = sub.add_parser("analytics", help="a tenant's figures (JSON) and charts (SVG) over a date range")
    analytics.add_argument("tenant")
    analytics.add_argument("start", type=date.fromisoformat, help="first day, YYYY-MM-DD (tenant's timezone)")
    analytics.add_argument("end", type=date.fromisoformat, help="last day, inclusive")
    analytics.add_argument("--out", type=Path, help="folder for <chart>.svg files")

    # Listed here for `grace --help`; its own options are grace.learn's (dispatched before parsing).
    sub.add_parser("learn", help="review of unhandled messages and FAQ candidates (data/suggestions/)")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["learn"]:
        from grace.learn import main as learn_main

        return learn_main(argv[1:])
    args = parser.parse_args(argv)
    if args.command == "payments":
        if args.action != "list" and not args.reference:
            parser.error("an order reference is needed")
        if args.action == "reject" and not args.reason:
            parser.error("reject needs --reason")
        return cmd_payments(args)
    if args.command == "orders":
        if args.action == "status" and not (args.reference and args.new_status):
            parser.error("orders status needs an order reference and a status")
        if args.action == "request-balance" and (not args.reference or args.new_status):
            parser.error("orders request-balance needs an order reference (and nothing after it)")
        args.status = args.new_status if args.action == "status" else args.status
        return cmd_orders(args)
    if args.command == "events":
        return cmd_events(args)
    if args.command == "tenants":
        if args.action == "create" and not args.tenant_id:
            parser.error("tenants create needs a tenant id")
        return cmd_tenants(args)
    if args.command == "numbers":
        if args.action != "list" and not args.tenant:
            parser.error(f"numbers {args.action} needs a tenant")
        return cmd_numbers(args)
    if args.command == "admin":
        return cmd_admin(args)
    if args.command == "users":
        return cmd_users(args)
    if args.command == "keys":
        return cmd_keys(args)
    if args.command == "analytics":
        return cmd_analytics(args)
    if args.command == "contacts":
        return cmd_contacts(args)
    if args.command == "run":
        from grace.run.local import run as run_locally

        return run_locally(shell_tenant=args.tenant if args.shell else None)
    from grace.run.shell import chat

    return chat(args.tenant, args.sender)


if __name__ == "__main__":
    sys.exit(main())
