"""Payment receipts as customers send them: screenshots of bank apps, mobile-money confirmations and
M-Pesa messages, drawn with Pillow, for the proof-reading tests and `make bench`.

Each style imitates a layout customers of the three test businesses send (a Nigerian bank's "Transfer
Successful" page, an OPay-style card, an MTN MoMo confirmation, an M-Pesa SMS, a dark-mode app), in
the fonts this machine has (DejaVu, else Pillow's default), at phone sizes, slightly rotated and
blurred, with sensor noise and JPEG compression, as a WhatsApp forward looks. Everything is decided by
the seed, so a failing receipt can be drawn again. Pictures are written where the caller says (a
temporary folder), never into git.

    .venv/bin/python -m tests.receipts /tmp/receipts --count 36   # look at them
"""
from __future__ import annotations

import argparse
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from grace.money import format_money

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
REFERENCE_CHARS = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


@dataclass(frozen=True)
class Shop:
    tenant_id: str
    currency: str
    prefix: str
    account_number: str  # digits, as on the tenant's payment settings
    account_name: str


SHOPS = {
    "akanraby": Shop("akanraby", "NGN", "AKA", "0123456789", "AKANRABYATUCHE FABRICS LTD"),
    "kentehouse": Shop("kentehouse", "GHS", "KHA", "0244000001", "KENTE HOUSE ENTERPRISE"),
    "kitengenairobi": Shop("kitengenairobi", "KES", "KCN", "000111", "KITENGE CORNER NAIROBI"),
}


@dataclass(frozen=True)
class Receipt:
    """One drawn receipt and what is printed on it."""

    name: str
    style: str
    tenant_id: str
    currency: str
    amount_minor: int      # the amount sent, as printed
    reference: str         # the order reference in the narration / account / reference field
    account: str           # the receiving account printed (digits)
    date: str              # ISO date printed
    image: bytes           # JPEG

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.name}.jpg"
        path.write_bytes(self.image)
        return path


def font(size: int, bold: bool = False, mono: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono" if mono else "DejaVuSans"
    path = FONT_DIR / f"{name}{'-Bold' if bold else ''}.ttf"
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:  # no DejaVu on this machine: Pillow's own font, scaled
        return ImageFont.load_default(size)


def reference(rng: random.Random, prefix: str) -> str:
    return f"{prefix}-" + "".join(rng.choice(REFERENCE_CHARS) for _ in range(5))


def amount_text(minor: int, currency: str, style: str = "symbol") -> str:
    """"₦45,000.00", "NGN 45,000.00", "GHS 84.00", "Ksh12,600.00": always two decimals, as apps print."""
    major, rest = divmod(minor, 100)
    number = f"{major:,}.{rest:02d}"
    if style == "code":
        return f"{currency} {number}"
    return {"NGN": "₦", "GHS": "GHS ", "KES": "Ksh"}[currency] + number


@dataclass
class Canvas:
    image: Image.Image
    draw: ImageDraw.ImageDraw
    scale: float

    def text(self, xy: tuple[float, float], words: str, size: int, fill: str | tuple, bold: bool = False,
             anchor: str = "la") -> None:
        self.draw.text((xy[0] * self.scale, xy[1] * self.scale), words, font=font(round(size * self.scale), bold),
                       fill=fill, anchor=anchor)

    def rect(self, box: tuple[float, float, float, float], fill: str | tuple, radius: float = 0) -> None:
        scaled = tuple(v * self.scale for v in box)
        self.draw.rounded_rectangle(scaled, radius=radius * self.scale, fill=fill)


def canvas(rng: random.Random, height: int, background: str | tuple) -> Canvas:
    """A phone-width picture (540-1080 px wide) drawn on a 540-unit grid."""
    width = rng.choice((540, 720, 828, 1080))
    scale = width / 540
    image = Image.new("RGB", (width, round(height * scale)), background)
    return Canvas(image, ImageDraw.Draw(image), scale)


def _date(rng: random.Random) -> tuple[str, int, int, int]:
    year, month, day = 2026, rng.randint(1, 12), rng.randint(1, 28)
    return f"{year:04d}-{month:02d}-{day:02d}", year, month, day


def _time(rng: random.Random) -> str:
    return f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {'AM' if rng.random() < 0.5 else 'PM'}"


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


# --------------------------------------------------------------------------- styles


def nigerian_bank(rng: random.Random, shop: Shop, minor: int, ref: str, account: str) -> tuple[Image.Image, str]:
    """A Nigerian bank app's transfer receipt: green bar, the amount in naira, a table of details."""
    c = canvas(rng, 860, "white")
    green = rng.choice(("#0a7d3b", "#e35205", "#5c2d91", "#003b73"))
    c.rect((0, 0, 540, 90), green)
    c.text((270, 45), rng.choice(("Transaction Receipt", "Transfer Receipt", "Payment Receipt")), 26, "white",
           bold=True, anchor="mm")
    c.text((270, 140), "Transfer Successful", 24, "#222222", bold=True, anchor="mm")
    c.text((270, 200), amount_text(minor, shop.currency), 40, "#111111", bold=True, anchor="mm")
    iso, year, month, day = _date(rng)
    rows = [
        ("Amount", amount_text(minor, shop.currency, rng.choice(("symbol", "code")))),
        ("Beneficiary", shop.account_name),
        ("Beneficiary Account", account),
        ("Beneficiary Bank", "Sample Trust Bank"),
        ("Narration", ref),
        ("Transaction Date", f"{day:02d} {MONTHS[month - 1]} {year}, {_time(rng)}"),
        ("Session ID", _digits(rng, 20)),
        ("Sender", rng.choice(("ADAEZE OKORO", "TUNDE BAKARE", "NGOZI EZE", "IBRAHIM MUSA"))),
    ]
    rng.shuffle(rows[5:])
    y = 270
    for label, value in rows:
        c.text((40, y), label, 20, "#666666")
        c.text((500, y), value, 20, "#111111", bold=True, anchor="ra")
        c.draw.line((40 * c.scale, (y + 40) * c.scale, 500 * c.scale, (y + 40) * c.scale), fill="#dddddd")
        y += 62
    return c.image, iso


def opay_card(rng: random.Random, shop: Shop, minor: int, ref: str, account: str) -> tuple[Image.Image, str]:
    """An OPay-style wallet receipt: a rounded white card on a light green page, the amount big."""
    c = canvas(rng, 900, "#eef7f1")
    c.rect((24, 30, 516, 870), "white", radius=24)
    c.text((270, 90), "Successful", 28, "#1aa260", bold=True, anchor="mm")
    c.text((270, 160), amount_text(minor, shop.currency), 46, "#111111", bold=True, anchor="mm")
    iso, year, month, day = _date(rng)
    c.text((270, 215), f"{MONTHS[month - 1]} {day}, {year} {_time(rng)}", 18, "#888888", anchor="mm")
    rows = [
        ("Recipient Details", shop.account_name),
        ("", f"Sample Trust Bank | {account}"),
        ("Transaction No.", _digits(rng, 18)),
        ("Remark", ref),
        ("Transaction Type", "Transfer to Bank"),
        ("Payment Method", "Wallet"),
    ]
    y = 290
    for label, value in rows:
        if label:
            c.text((56, y), label, 19, "#777777")
        c.text((484, y), value, 19, "#111111", anchor="ra")
        y += 70 if label else 80
    return c.image, iso


def momo_confirmation(rng: random.Random, shop: Shop, minor: int, ref: str, account: str) -> tuple[Image.Image, str]:
    """An MTN MoMo confirmation SMS on a phone: yellow header, a grey message bubble, wrapped text."""
    c = canvas(rng, 760, "#f4f4f4")
    c.rect((0, 0, 540, 80), "#ffcc00")
    c.text((30, 40), "MobileMoney", 26, "#111111", bold=True, anchor="lm")
    iso, year, month, day = _date(rng)
    balance = minor + rng.randint(1_000, 90_000)
    message = (f"Payment made for {amount_text(minor, shop.currency)} to {shop.account_name} {account}. "
               f"Current Balance: {amount_text(balance, shop.currency)}. Available Balance: "
               f"{amount_text(balance, shop.currency)}. Reference: {ref}. Transaction ID: {_digits(rng, 11)}. "
               f"Fee charged: GHS 0.00 TAX charged: GHS {rng.randint(0, 2)}.{rng.randint(10, 99)}. "
               f"Date: {day:02d}/{month:02d}/{year} {_time(rng)}.")
    _bubble(c, message, 120, 22, "#e6e6e6", "#111111")
    return c.image, iso


def mpesa_sms(rng: random.Random, shop: Shop, minor: int, ref: str, account: str) -> tuple[Image.Image, str]:
    """An M-Pesa confirmation SMS: "QK12AB34CD Confirmed. Ksh12,600.00 sent to ... for account KCN-..."."""
    c = canvas(rng, 700, "white")
    c.rect((0, 0, 540, 76), "#f2f2f2")
    c.text((270, 38), "MPESA", 26, "#111111", bold=True, anchor="mm")
    iso, year, month, day = _date(rng)
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(10))
    balance = rng.randint(5_000, 900_000)
    message = (f"{code} Confirmed. {amount_text(minor, shop.currency)} sent to {shop.account_name} for account "
               f"{ref} on {day}/{month}/{year % 100} at {_time(rng)} New M-PESA balance is "
               f"{amount_text(balance, shop.currency)}. Transaction cost, Ksh0.00. Amount you can transact "
               f"within the day is 499,{rng.randint(100, 999)}.00.")
    _bubble(c, message, 110, 23, "#e9e9eb", "#000000")
    return c.image, iso


def dark_mode(rng: random.Random, shop: Shop, minor: int, ref: str, account: str) -> tuple[Image.Image, str]:
    """A bank app in dark mode: light text on near-black, the amount in the app's accent colour."""
    c = canvas(rng, 820, "#121212")
    accent = rng.choice(("#4fc3f7", "#81c784", "#ffb74d", "#ffffff"))
    c.text((270, 70), "Payment sent", 26, "#eeeeee", bold=True, anchor="mm")
    c.text((270, 150), amount_text(minor, shop.currency, "code"), 40, accent, bold=True, anchor="mm")
    iso, year, month, day = _date(rng)
    rows = [
        ("To", shop.account_name),
        ("Account", account),
        ("Reference", ref),
        ("Date", f"{day:02d}/{month:02d}/{year}"),
        ("Status", "Completed"),
    ]
    y = 240
    for label, value in rows:
        c.rect((30, y - 14, 510, y + 50), "#1e1e1e", radius=10)
        c.text((50, y), label, 20, "#9e9e9e")
        c.text((490, y), value, 20, "#f5f5f5", bold=True, anchor="ra")
        y += 80
    return c.image, iso


def _bubble(c: Canvas, message: str, top: float, size: int, fill: str, ink: str) -> None:
    face = font(round(size * c.scale))
    width = 440 * c.scale
    lines, line = [], ""
    for word in message.split():
        trial = f"{line} {word}".strip()
        if c.draw.textlength(trial, font=face) > width and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    height = len(lines) * size * 1.45 + 40
    c.rect((30, top, 510, top + height), fill, radius=18)
    for k, words in enumerate(lines):
        c.text((50, top + 20 + k * size * 1.45), words, size, ink)


STYLES: dict[str, tuple[tuple[str, ...], Callable]] = {
    "nigerian_bank": (("akanraby",), nigerian_bank),
    "opay_card": (("akanraby",), opay_card),
    "momo_confirmation": (("kentehouse",), momo_confirmation),
    "mpesa_sms": (("kitengenairobi",), mpesa_sms),
    "dark_mode": (("akanraby", "kentehouse", "kitengenairobi"), dark_mode),
}


def roughen(image: Image.Image, rng: random.Random) -> bytes:
    """What a screenshot goes through before it reaches us: a slight tilt (a photo of a screen), blur,
    sensor noise, and JPEG compression at WhatsApp-like quality."""
    angle = rng.uniform(-1.5, 1.5)
    if abs(angle) > 0.3:
        background = image.getpixel((2, image.size[1] - 3))  # the page, below any header bar
        image = image.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=background)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.9)))
    # Uniform grain from the seeded generator (Pillow's effect_noise has a generator of its own).
    grain = Image.frombytes("L", image.size, rng.randbytes(image.size[0] * image.size[1])).convert("RGB")
    image = Image.blend(image, grain, rng.uniform(0.04, 0.12))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randint(55, 85))
    return out.getvalue()


def make_receipt(seed: int, style: str | None = None, tenant_id: str | None = None, *, minor: int | None = None,
                 ref: str | None = None, account: str | None = None) -> Receipt:
    """One receipt, decided by `seed`; style, business, amount, reference and receiving account may be
    fixed by the caller (an order's own, or another account for a mismatch)."""
    rng = random.Random(seed)
    style = style or sorted(STYLES)[seed % len(STYLES)]
    tenants, draw = STYLES[style]
    shop = SHOPS[tenant_id or tenants[rng.randrange(len(tenants))]]
    if minor is None:
        major = rng.choice((rng.randint(5, 400) * 100, rng.randint(20, 950) * 10, rng.randint(1_000, 250_000)))
        minor = major * 100 if rng.random() < 0.8 else major * 100 + rng.choice((50, 25, 75))
    ref = ref or reference(rng, shop.prefix)
    account = account or shop.account_number
    picture, iso = draw(rng, shop, minor, ref, account)
    return Receipt(name=f"{seed:03d}-{style}-{shop.tenant_id}", style=style, tenant_id=shop.tenant_id,
                   currency=shop.currency, amount_minor=minor, reference=ref, account=account, date=iso,
                   image=roughen(picture, rng))


def receipts(count: int = 36, first_seed: int = 1) -> list[Receipt]:
    """`count` receipts cycling through the styles (and each style's businesses)."""
    return [make_receipt(seed) for seed in range(first_seed, first_seed + count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=36)
    args = parser.parse_args()
    for receipt in receipts(args.count):
        path = receipt.save(args.folder)
        print(f"{path}  {format_money(receipt.amount_minor, receipt.currency)}  {receipt.reference}")


if __name__ == "__main__":
    main()
