"""Jump schedules (issue 13, item 7): weekly windows in a time zone, with the clock injected —
window edges, zones, the days the clocks change, and what bad input is told."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from relaydesk.server.domain import schedules
from relaydesk.server.domain.errors import Invalid

WORKDAYS = [0, 1, 2, 3, 4]
PARIS = ZoneInfo("Europe/Paris")


def office(
    zone: str = "Europe/Paris", start: str = "08:00", end: str = "18:00"
) -> schedules.Schedule:
    schedule = schedules.parse(zone, [{"days": WORKDAYS, "start": start, "end": end}])
    assert schedule is not None
    return schedule


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def test_inside_and_outside_the_window_edges() -> None:
    schedule = office()
    # Thursday 3 December 2026
    assert not schedule.allows(paris(2026, 12, 3, 7, 59, 59))
    assert schedule.allows(paris(2026, 12, 3, 8, 0))  # the start is inside
    assert schedule.allows(paris(2026, 12, 3, 17, 59, 59))
    assert not schedule.allows(paris(2026, 12, 3, 18, 0))  # the end is outside
    # Saturday
    assert not schedule.allows(paris(2026, 12, 5, 12, 0))


def test_next_allowed_time() -> None:
    schedule = office()
    # Thursday evening → Friday 08:00 Paris
    assert schedule.next_allowed(paris(2026, 12, 3, 18, 0)) == paris(2026, 12, 4, 8, 0)
    # Friday evening → Monday 08:00, over the weekend
    assert schedule.next_allowed(paris(2026, 12, 4, 19, 30)) == paris(2026, 12, 7, 8, 0)
    # Before the start on a workday → the same day
    assert schedule.next_allowed(paris(2026, 12, 7, 6, 0)) == paris(2026, 12, 7, 8, 0)
    # Allowed now → now
    now = paris(2026, 12, 7, 9, 0)
    assert schedule.next_allowed(now) == now
    # The answer is in UTC
    assert schedule.next_allowed(paris(2026, 12, 3, 18, 0)) == datetime(
        2026, 12, 4, 7, 0, tzinfo=UTC
    )


def test_the_zone_decides_the_local_time() -> None:
    moment = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # 15:00 in Paris, 09:00 in New York
    assert office("Europe/Paris").allows(moment)
    assert office("America/New_York").allows(moment)
    assert not office("Asia/Tokyo").allows(moment)  # 23:00 in Tokyo
    # New York's 08:00 on Friday is 13:00 UTC
    assert office("America/New_York").next_allowed(
        datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
    ) == datetime(2026, 12, 4, 13, 0, tzinfo=UTC)


def test_clocks_going_forward_keep_wall_clock_windows() -> None:
    """Paris, Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST."""
    every_day = schedules.parse(
        "Europe/Paris", [{"days": list(range(7)), "start": "08:00", "end": "18:00"}]
    )
    assert every_day is not None
    # Saturday 08:00 is 07:00 UTC, Sunday 08:00 is 06:00 UTC (summer time)
    assert every_day.next_allowed(datetime(2026, 3, 28, 18, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )
    assert every_day.allows(datetime(2026, 3, 29, 6, 0, tzinfo=UTC))
    assert not every_day.allows(datetime(2026, 3, 29, 5, 59, tzinfo=UTC))
    # A window that starts in the skipped hour begins when the clocks reach 03:00
    night = schedules.parse("Europe/Paris", [{"days": [6], "start": "02:30", "end": "04:00"}])
    assert night is not None
    start = night.next_allowed(datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    assert start == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert start.astimezone(PARIS).hour == 3
    # A window wholly inside the skipped hour never opens that day: next Sunday's
    gap = schedules.parse("Europe/Paris", [{"days": [6], "start": "02:10", "end": "02:50"}])
    assert gap is not None
    assert gap.next_allowed(datetime(2026, 3, 28, 23, 0, tzinfo=UTC)) == datetime(
        2026, 4, 5, 0, 10, tzinfo=UTC
    )


def test_clocks_going_back_keep_wall_clock_windows() -> None:
    """Paris, Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET (02:xx happens twice)."""
    every_day = schedules.parse(
        "Europe/Paris", [{"days": list(range(7)), "start": "08:00", "end": "18:00"}]
    )
    assert every_day is not None
    assert every_day.next_allowed(datetime(2026, 10, 24, 20, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 7, 0, tzinfo=UTC
    )
    # 17:30 local on that Sunday is 16:30 UTC (winter time): inside; 17:00 UTC is 18:00: outside
    assert every_day.allows(datetime(2026, 10, 25, 16, 30, tzinfo=UTC))
    assert not every_day.allows(datetime(2026, 10, 25, 17, 0, tzinfo=UTC))
    # A window in the repeated hour starts at its first pass
    repeated = schedules.parse("Europe/Paris", [{"days": [6], "start": "02:15", "end": "02:45"}])
    assert repeated is not None
    assert repeated.next_allowed(datetime(2026, 10, 24, 22, 0, tzinfo=UTC)) == datetime(
        2026, 10, 25, 0, 15, tzinfo=UTC
    )
    # Both passes of 02:20 are inside
    assert repeated.allows(datetime(2026, 10, 25, 0, 20, tzinfo=UTC))
    assert repeated.allows(datetime(2026, 10, 25, 1, 20, tzinfo=UTC))


def test_a_window_to_the_end_of_the_day_and_several_windows() -> None:
    schedule = schedules.parse(
        "UTC",
        [
            {"days": [5], "start": "22:00", "end": "24:00"},
            {"days": [6], "start": "00:00", "end": "02:00"},
            {"days": [0], "start": "12:00", "end": "13:00"},
        ],
    )
    assert schedule is not None
    assert schedule.allows(datetime(2026, 12, 5, 23, 59, 59, tzinfo=UTC))  # Saturday night
    assert schedule.allows(datetime(2026, 12, 6, 0, 0, tzinfo=UTC))  # Sunday just after midnight
    assert not schedule.allows(datetime(2026, 12, 6, 2, 0, tzinfo=UTC))
    assert schedule.next_allowed(datetime(2026, 12, 6, 2, 0, tzinfo=UTC)) == datetime(
        2026, 12, 7, 12, 0, tzinfo=UTC
    )


def test_no_windows_means_any_time() -> None:
    assert schedules.parse("Europe/Paris", []) is None


@pytest.mark.parametrize(
    ("zone", "windows", "code"),
    [
        ("Mars/Olympus", [{"days": [0], "start": "08:00", "end": "18:00"}], "invalid_timezone"),
        ("../etc/passwd", [{"days": [0], "start": "08:00", "end": "18:00"}], "invalid_timezone"),
        ("Europe/Paris", [{"days": [7], "start": "08:00", "end": "18:00"}], "invalid_schedule"),
        ("Europe/Paris", [{"days": [], "start": "08:00", "end": "18:00"}], "invalid_schedule"),
        ("Europe/Paris", [{"days": [0], "start": "8h", "end": "18:00"}], "invalid_schedule"),
        ("Europe/Paris", [{"days": [0], "start": "18:00", "end": "08:00"}], "invalid_schedule"),
        ("Europe/Paris", [{"days": [0], "start": "08:00", "end": "24:30"}], "invalid_schedule"),
        ("Europe/Paris", ["08:00-18:00"], "invalid_schedule"),
    ],
)
def test_bad_schedules_are_refused_with_what_is_wrong(
    zone: str, windows: list[object], code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        schedules.parse(zone, windows)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert refused.value.message


def test_a_moment_said_in_the_schedules_zone() -> None:
    text = schedules.describe(datetime(2026, 12, 7, 7, 0, tzinfo=UTC), PARIS)
    assert text == "Monday 7 December 2026, 08:00 (Europe/Paris)"
