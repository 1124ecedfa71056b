"""Business hours in the tenant's own timezone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
    "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}
_RANGE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")
# How customers name days, Pidgin spellings included.
_DAY_WORDS = {
    "mon": ("monday", "mon"), "tue": ("tuesday", "tues", "tue"),
    "wed": ("wednesday", "wed", "wednes"), "thu": ("thursday", "thurs", "thur", "thu"),
    "fri": ("friday", "fri"), "sat": ("saturday", "saturdays", "sat", "satide", "satday"),
    "sun": ("sunday", "sundays", "sun", "sonday"),
}


@dataclass(frozen=True)
class OpeningHours:
    """For each day index (0 = Monday) either None (closed) or (open, close)."""

    days: tuple[tuple[time, time] | None, ...]

    @classmethod
    def parse(cls, raw: dict, field_error) -> OpeningHours:
        if not isinstance(raw, dict):
            raise field_error("hours", "expected a mapping of mon..sun")
        days: list[tuple[time, time] | None] = []
        for day in DAYS:
            value = raw.get(day)
            if value is None:
                raise field_error(f"hours.{day}", "missing (use \"HH:MM-HH:MM\" or \"closed\")")
            text = str(value).strip().lower()
            if text == "closed":
                days.append(None)
                continue
            match = _RANGE.match(text)
            if not match:
                raise field_error(f"hours.{day}", f"expected \"HH:MM-HH:MM\" or \"closed\", got {value!r}")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            opens = time(h1, m1)
            closes = time(23, 59) if h2 == 24 else time(h2, m2)
            if closes <= opens:
                raise field_error(f"hours.{day}", f"closing time is not after opening time in {value!r}")
            days.append((opens, closes))
        return cls(tuple(days))

    def is_open(self, now: datetime) -> bool:
        span = self.days[now.weekday()]
        return span is not None and span[0] <= now.time() < span[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment the shop opens strictly after `now` (None if always closed)."""
        for offset in range(0, 8):
            day = now + timedelta(days=offset)
            span = self.days[day.weekday()]
            if span is None:
                continue
            opening = day.replace(hour=span[0].hour, minute=span[0].minute, second=0, microsecond=0)
            if opening > now:
                return opening
        return None

    def closing_today(self, now: datetime) -> time | None:
        span = self.days[now.weekday()]
        return span[1] if span else None

    def describe_day(self, day: str) -> str:
        span = self.days[DAYS.index(day)]
        if span is None:
            return f"{DAY_NAMES[day]}: closed"
        return f"{DAY_NAMES[day]}: {fmt_time(span[0])} – {fmt_time(span[1])}"

    def describe_week(self) -> str:
        return "\n".join(self.describe_day(day) for day in DAYS)


def fmt_time(value: time) -> str:
    hour = value.hour % 12 or 12
    suffix = "am" if value.hour < 12 else "pm"
    return f"{hour}{suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d}{suffix}"


def describe_opening(now: datetime, when: datetime) -> str:
    """"today at 9am", "tomorrow at 10am", "on Monday at 9am"."""
    days_ahead = (when.date() - now.date()).days
    label = "today" if days_ahead == 0 else "tomorrow" if days_ahead == 1 else f"on {when:%A}"
    return f"{label} at {fmt_time(when.time())}"


def days_mentioned(text: str) -> list[str]:
    """Day keys named in a message, in the order of the week ("do una open saturday?")."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    found = [day for day, spellings in _DAY_WORDS.items() if words.intersection(spellings)]
    if "weekend" in words or "weekends" in words:
        found += [d for d in ("sat", "sun") if d not in found]
    return found
