"""Times of day for :mod:`worker.enrich.dates`: ``9:03 AM IST``, ``09:03 IST``, ``9.03 am``,
``T09:03:00+05:30``, ``सुबह 9:03 बजे``, ``शाम 5 बजे``.

:data:`TIME` reads a time right after a day (``July 2, 2018, 9:03 AM IST``), which it then
joins; a time alone (the date scanner finds it by :data:`AMPM` or ``बजे``) is neither a
date nor a number. Zones: IST (+05:30),
GMT, UTC and Z (+00:00), PKT (+05:00), NPT (+05:45), and numeric offsets; without a zone a
time is local and has no offset.
"""

from __future__ import annotations

import re

from worker.enrich.scanning import DIGITS
from worker.enrich.tokens import WORD_CHARS

__all__ = ["AMPM", "TIME", "time_of_day"]

_W = WORD_CHARS
_D = f"[{DIGITS}]"
_END = f"(?![{_W}])"
AMPM = f"[AaPp](?:\\.[Mm]\\.?|[Mm]){_END}"  # am, a.m., a.m: "am." ends a sentence

# A time of day right after a date, matched at the date's end in the scan copy: "July 2,
# 2018, 9:03 AM IST", "02 Jul 2018 09:03 IST", "2018-07-02T09:03:00+05:30", "2 जुलाई को
# सुबह 9:03 बजे". The bare hour needs AM/PM or बजे, and "9.03" a marker or a zone, so that
# "2 July 2018, 5 people" or "…, 10.30 lakh" keep their numbers.
TIME = re.compile(
    f"(?:,? (?:at |को |\\| |- |– |— |/ )?(?:(?P<pd>सुबह|सवेरे|दोपहर|शाम|रात) )?|T)"
    f"(?P<h>{_D}{_D}?)(?:(?P<sep>[:.])(?P<mi>{_D}{_D})(?::{_D}{_D}(?:\\.{_D}{{1,9}})?)?)?"
    f"(?: ?(?P<ap>[AaPp])(?:\\.[Mm]\\.?|[Mm])| (?P<bj>बजे))?"
    # "(IST)" reads "  IST)" in the scan copy, where "(" is a space.
    f"(?: ?[ (]?(?P<zn>IST|GMT|UTC|PKT|NPT)\\)?(?P<zo>[+-]{_D}{_D}?(?::?{_D}{_D})?)?"
    f"| ?(?P<zd>[+-]{_D}{_D}:?{_D}{_D})|(?P<z>Z))?"
    f"(?![{_W}]|[:.,]{_D})"
)
_ZONES = {"IST": 330, "GMT": 0, "UTC": 0, "PKT": 300, "NPT": 345}


def _offset(zone: str) -> int | None:
    """Minutes east of UTC of ``+05:30``, ``+0530``, ``+5:30`` or ``+05``; None if invalid."""
    digits = zone[1:].replace(":", "")
    if len(digits) <= 2:
        hours, minutes = int(digits), 0
    else:
        hours, minutes = int(digits[:-2]), int(digits[-2:])
    if hours > 14 or minutes > 59:
        return None
    return (hours * 60 + minutes) * (-1 if zone[0] == "-" else 1)


def time_of_day(m: re.Match[str]) -> str | None:
    """A matched time as ``"THH:MM"`` plus its offset (``"+05:30"``) when a zone is given;
    None when it is no valid time or its form needs a marker it lacks."""
    h, sep, mi, ap, bj, period = m["h"], m["sep"], m["mi"], m["ap"], m["bj"], m["pd"]
    zone = m["zo"] or m["zd"]
    named = m["zn"] or m["z"]
    marked = ap is not None or bj is not None
    if (mi is None and not marked) or (sep == "." and not (marked or named or zone)):
        return None
    hour, minute = int(h), int(mi) if mi is not None else 0
    if ap is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap in "Pp" else 0)
    elif period is not None and 1 <= hour <= 12:
        # शाम (evening) 5 is 17:00, रात (night) 10 is 22:00 but रात 2 is 02:00, दोपहर
        # (afternoon) 2 is 14:00 but दोपहर 12 is noon.
        if period == "शाम" or (period == "रात" and hour >= 6) or (period == "दोपहर" and hour <= 6):
            hour = hour % 12 + 12
        elif period == "रात" and hour == 12:
            hour = 0
    if hour > 23 or minute > 59:
        return None
    value = f"T{hour:02d}:{minute:02d}"
    if zone is not None:
        east = _offset(zone)
        if east is None:
            return None
    elif named is not None:
        east = _ZONES.get(named, 0)
    else:
        return value  # no zone: local time, no offset
    sign = "-" if east < 0 else "+"
    return f"{value}{sign}{abs(east) // 60:02d}:{abs(east) % 60:02d}"
