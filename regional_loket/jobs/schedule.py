"""When a periodic job is due: every N seconds, or daily / weekly at a wall-clock time of the
region (``clock.region_zone``, Europe/Brussels).

Wall-clock slots are computed in the region's zone and compared as instants (epoch seconds):
a job due "daily at 06:00" is due once the latest 06:00 that has passed is later than its last
run. Across a change of daylight saving time that still means once a day at 06:00 local time
(the day is 23 or 25 hours long). A time that does not exist that night (02:30 when the clocks
jump from 02:00 to 03:00) is taken as the instant the clocks jumped past it; a time that
happens twice (02:30 when they go back) counts once, the first time.

A job never run before (no last run known: a new deployment, or Redis lost its keys) is due at
once: every job is idempotent, and missing a day of retention or expiry is worse than one run
at an unusual hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["Schedule"]

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _parse_time(value: str) -> time:
    try:
        hours, minutes = (int(part) for part in str(value).split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError(f"not a time of day (HH:MM): {value!r}") from exc


@dataclass(frozen=True)
class Schedule:
    every: float = 0.0  # seconds, when ``at`` is None
    at: time | None = None  # a wall-clock time of the region
    weekday: int | None = None  # with ``at``: 0 = Monday … 6 = Sunday; None = every day

    @classmethod
    def parse(cls, *, every: float = 0, daily_at: str | None = None,
              weekly_on: tuple[int, str] | None = None) -> Schedule:
        if sum(x is not None and x != 0 for x in (every, daily_at, weekly_on)) > 1:
            raise ValueError("give one of every=, daily_at= or weekly_on=")
        if daily_at is not None:
            return cls(at=_parse_time(daily_at))
        if weekly_on is not None:
            weekday, at = weekly_on
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday): {weekday!r}")
            return cls(at=_parse_time(at), weekday=int(weekday))
        if every < 0:
            raise ValueError("every must be >= 0 seconds")
        return cls(every=float(every))

    def describe(self) -> str:
        if self.at is None:
            return f"every {self.every:g} s" if self.every else "every round"
        when = self.at.strftime("%H:%M")
        return f"daily at {when}" if self.weekday is None else f"weekly on {DAY_NAMES[self.weekday]} at {when}"

    @property
    def period(self) -> float:
        """Seconds between two runs (about: a day across DST is 23 or 25 hours)."""
        if self.at is None:
            return self.every
        return 86400.0 if self.weekday is None else 7 * 86400.0

    def _slot(self, day: date, zone: ZoneInfo) -> float:
        # fold=0: an ambiguous time is its first occurrence; a missing one maps past the gap.
        return datetime.combine(day, self.at, tzinfo=zone).timestamp()

    def latest_slot(self, now: float, zone: ZoneInfo) -> float:
        """The last wall-clock slot at or before ``now`` (epoch seconds)."""
        today = datetime.fromtimestamp(now, zone).date()
        back = 0 if self.weekday is None else (today.weekday() - self.weekday) % 7
        slot = self._slot(today - timedelta(days=back), zone)
        if slot > now:
            slot = self._slot(today - timedelta(days=back + (1 if self.weekday is None else 7)), zone)
        return slot

    def next_slot(self, now: float, zone: ZoneInfo) -> float:
        """The first wall-clock slot after ``now``."""
        today = datetime.fromtimestamp(now, zone).date()
        step = 1 if self.weekday is None else 7
        ahead = 0 if self.weekday is None else (self.weekday - today.weekday()) % 7
        slot = self._slot(today + timedelta(days=ahead), zone)
        while slot <= now:
            ahead += step
            slot = self._slot(today + timedelta(days=ahead), zone)
        return slot

    def due(self, last: float | None, now: float, zone: ZoneInfo) -> bool:
        if last is None:
            return True
        if self.at is None:
            return now - last >= self.every
        return last < self.latest_slot(now, zone)

    def late(self, last_success: float | None, now: float, zone: ZoneInfo, *, grace: float) -> bool:
        """Whether the job should have succeeded by now: its last success is older than the
        slot (or interval) it was due at, by more than ``grace`` seconds (the retries' time)."""
        expected = now - max(self.every, 0.0) if self.at is None else self.latest_slot(now, zone)
        if now - expected < grace and self.at is not None:
            expected = self.latest_slot(expected - 1, zone)  # the run at this slot may still be going
        if self.at is None:
            expected -= grace
        return last_success is None or last_success < expected
