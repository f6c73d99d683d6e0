"""When a jump policy lets technicians jump (issue 13, item 7): weekly windows of local time in an
IANA time zone ("Monday to Friday, 08:00 to 18:00, Europe/Paris"). Pure: no database, no clock of
its own; the moment is always given, so tests inject it.

A window is a set of weekdays (0 = Monday … 6 = Sunday) and a start and end of local wall-clock
time, start inclusive, end exclusive, end after start ("24:00" is the end of the day; a window
that crosses midnight is written as two). Local time follows the zone's daylight saving rules: on
the day the clocks go forward an 08:00–18:00 window is ten wall-clock hours (nine real ones), and
a start inside the skipped hour begins when the clocks reach it (the first moment after the gap)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from relaydesk.server.domain.errors import Invalid

MINUTES_PER_DAY = 24 * 60
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_WINDOWS = 28
_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start: int  # minutes after local midnight
    end: int  # exclusive; MINUTES_PER_DAY is the end of the day

    def holds(self, weekday: int, minute: float) -> bool:
        return weekday in self.days and self.start <= minute < self.end


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo
    windows: tuple[Window, ...]

    @property
    def timezone(self) -> str:
        return self.zone.key

    def allows(self, moment: datetime) -> bool:
        """Whether a jump at `moment` (an aware datetime) falls inside a window."""
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        return any(window.holds(local.weekday(), minute) for window in self.windows)

    def next_allowed(self, moment: datetime) -> datetime | None:
        """The first moment at or after `moment` that a window allows (UTC); `moment` itself
        when it is allowed; None when there are no windows."""
        if self.allows(moment):
            return moment.astimezone(UTC)
        local_day = moment.astimezone(self.zone).date()
        best: datetime | None = None
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            for window in self.windows:
                if day.weekday() not in window.days:
                    continue
                start = self._instant(day, window.start)
                end = self._instant(day, window.end)
                if start >= end:
                    continue  # the whole window lies in a skipped hour
                if start > moment and (best is None or start < best):
                    best = start
            if best is not None:
                return best
        return best

    def _instant(self, day: date, minute: int) -> datetime:
        """The UTC moment at which local wall-clock time reaches `minute` on `day`: in a gap (the
        clocks go forward) the first moment after it; in a repeated hour its first pass."""
        if minute >= MINUTES_PER_DAY:
            return self._instant(day + timedelta(days=1), 0)
        naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
        instant = naive.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        back = instant.astimezone(self.zone).replace(tzinfo=None)
        if back != naive:  # inside a gap: fold=0 counts with the offset before the change
            later = naive.replace(tzinfo=self.zone, fold=1).astimezone(UTC)
            gap_end = min(instant, later)
            # The first moment after the gap is where local time jumps: walk to it.
            while gap_end.astimezone(self.zone).replace(tzinfo=None) < naive:
                gap_end += timedelta(minutes=1)
            return gap_end
        return instant


def _clock(text: Any, field: str) -> int:
    match = _CLOCK.match(text) if isinstance(text, str) else None
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise Invalid(
            "invalid_schedule",
            f"'{text}' is not a time of day: write HH:MM, from 00:00 to 24:00.",
            field=field,
        )
    return int(match.group(1)) * 60 + int(match.group(2))


def zone_of(name: str) -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            "invalid_timezone",
            f"'{name}' is not a time zone: give an IANA name such as Europe/Paris.",
            field="schedule_timezone",
        ) from None


def parse(timezone: str, windows: list[dict[str, Any]]) -> Schedule | None:
    """A policy's stored schedule as a Schedule (None: no windows, jumps at any time); bad input
    gets invalid_schedule or invalid_timezone naming what is wrong."""
    if not windows:
        return None
    if len(windows) > MAX_WINDOWS:
        raise Invalid(
            "invalid_schedule",
            f"A schedule has at most {MAX_WINDOWS} windows.",
            field="schedule_windows",
        )
    zone = zone_of(timezone)
    parsed = []
    for index, raw in enumerate(windows):
        where = f"schedule_windows.{index}"
        days = raw.get("days") if isinstance(raw, dict) else None
        if (
            not isinstance(days, list)
            or not days
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days)
        ):
            raise Invalid(
                "invalid_schedule",
                "Each window needs its days: numbers from 0 (Monday) to 6 (Sunday).",
                field=where,
            )
        start = _clock(raw.get("start"), where)
        end = _clock(raw.get("end"), where)
        if end <= start:
            raise Invalid(
                "invalid_schedule",
                f"A window must end after it starts ({raw.get('start')}–{raw.get('end')}); "
                "write one that crosses midnight as two windows.",
                field=where,
            )
        parsed.append(Window(frozenset(days), start, end))
    return Schedule(zone, tuple(parsed))


def normalised(windows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Windows as stored: sorted days, HH:MM times."""
    result = []
    for raw in windows:
        result.append(
            {
                "days": sorted(set(raw["days"])),
                "start": str(raw["start"]),
                "end": str(raw["end"]),
            }
        )
    return result


def describe(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as a person reads it in the schedule's zone: 'Monday 7 December 2026, 08:00
    (Europe/Paris)'."""
    local = moment.astimezone(zone)
    return (
        f"{DAY_NAMES[local.weekday()]} {local.day} {local:%B} {local.year}, "
        f"{local:%H:%M} ({zone.key})"
    )
