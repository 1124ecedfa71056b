"""The report's date range in the tenant's timezone, and the instants that bound it.

Days are the business's days: a message at 23:30 in Lagos belongs to that Lagos date even
though it is already the next day in UTC. Rasa stores unix timestamps, the app store naive
UTC datetimes; both bounds are computed here so every query cuts at the same instants.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from grace.errors import GraceError

MAX_DAYS = 731  # two years: a longer range is almost certainly a typo, and one bar per day stops being readable


class AnalyticsError(GraceError):
    """A report that cannot be made as asked; the message says why."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    tz: ZoneInfo

    def __post_init__(self) -> None:
        for name, value in (("start", self.start), ("end", self.end)):
            if isinstance(value, datetime) or not isinstance(value, date):
                raise AnalyticsError(f"{name} must be a date, not {type(value).__name__}")
        if self.start > self.end:
            raise AnalyticsError(f"the range starts ({self.start}) after it ends ({self.end})")
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise AnalyticsError(f"the range is longer than {MAX_DAYS} days")

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def _bound(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.tz).astimezone(timezone.utc)

    @property
    def start_utc(self) -> datetime:
        """First instant of the range, as the app store keeps times (naive UTC)."""
        return self._bound(self.start).replace(tzinfo=None)

    @property
    def end_utc(self) -> datetime:
        """First instant after the range (naive UTC): ranges are half-open."""
        return self._bound(self.end + timedelta(days=1)).replace(tzinfo=None)

    @property
    def start_ts(self) -> float:
        return self._bound(self.start).timestamp()

    @property
    def end_ts(self) -> float:
        return self._bound(self.end + timedelta(days=1)).timestamp()

    def day_of_ts(self, timestamp: float) -> date:
        return datetime.fromtimestamp(timestamp, self.tz).date()

    def day_of_utc(self, moment: datetime) -> date:
        return moment.replace(tzinfo=timezone.utc).astimezone(self.tz).date()
