"""Synthetic ``clickstream_events`` rows for the sample warehouse and the export tests.

Why it looks the way it does:

* Sessions are instantiated from a small set of *journeys* (event sequences) with numpy
  index arithmetic, so a million sessions for one org-day take seconds, not a per-event
  Python loop. Properties are JSON text assembled from pre-encoded fragments by
  element-wise concatenation of object arrays, which is also vectorised.
* The data deliberately contains what the export has to get right: every event and
  property of the contract catalogue, inactive and unknown event names, NULL/``{}``
  payloads, repeated ballot ids (distinct counts differ from counts), leading-zero zip
  codes, ``221B`` house numbers, unparseable addresses, formula-like names, phone numbers
  such as ``+1 555 0100``, context fields empty on the first event, sessions crossing
  midnight (UTC and America/Chicago) and lasting up to exactly 90 minutes, equal event
  times inside a session and event ids that do not always follow event time (late
  ingestion), so ``ORDER BY event_time, event_id`` matters.
* Everything is derived from ``numpy.random.Generator`` seeded with
  ``(seed, org slot, day, batch)``: the same arguments give identical frames.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from flatexport.seed.load import Sink, open_sink
from flatexport.seed.schema import (
    CLICKSTREAM_COLUMNS,
    CLICKSTREAM_EVENTS_DDL,
    CLICKSTREAM_EVENTS_DROP,
    CLICKSTREAM_EVENTS_INDEXES,
    CLICKSTREAM_TABLE,
    SOURCE_TABLES,
)

BATCH_SESSIONS = 200_000
MAX_SESSION_MS = 90 * 60 * 1000
_DAY_MS = 24 * 3600 * 1000
_SEQ_SPAN = 10**8  # sessions per org-day that fit in a session id
_SLOT_SPAN = 10**4  # org slots (crc32 of the org id)
_EPOCH = dt.date(2000, 1, 1)

# --------------------------------------------------------------------------------------
# Catalogue (contract section 2): event name -> property keys. Used for documentation and
# by the tests; the journeys below are what actually produce the events.
CATALOGUE: dict[str, tuple[str, ...]] = {
    "session_start": (),
    "tile_click": ("tile",),
    "widget.address_submitted": (
        "address",
        "first_name",
        "last_name",
        "phone",
        "email",
        "opt_in",
        "ballot_id",
    ),
    "ballot.position_viewed": ("id",),
    "ballot.candidate_viewed": ("id",),
    "ballot.issue_viewed": ("id",),
    "ballot.measure_viewed": ("id",),
    "turnout.get_started_clicked": (),
    "turnout.method_clicked": ("method",),
    "turnout.return_ballot_planned": (),
    "turnout.request_ballot_clicked": (),
    "turnout.dropoff_location_clicked": (),
    "turnout.date_selected": ("polling_date", "early_voting"),
    "turnout.date_next_clicked": (),
    "turnout.location_selected": ("polling_place_name",),
    "turnout.location_next_clicked": (),
    "turnout.plan_created": ("vote_at", "drop_off"),
    "turnout.added_to_calendar": (),
    "registration.started": ("choice",),
    "registration.register_online_chosen": (),
    "registration.register_by_mail_chosen": (),
    "registration.check_submitted": ("first_name", "last_name", "date_of_birth"),
    "registration.match_result": ("matched", "voter_id", "voterbase_id"),
    "registration.not_matched_clicked": ("button_text",),
    "registration.flow_completed": (),
    "registration.reminders_submitted": ("email", "phone"),
    "vbm.downloaded": (),
    "vbm.printed": (),
    "vbm.form_submitted": (),
    "vbm.emailed": (),
    "vbm.portal_clicked": (),
    "vbm.summary_page_reached": (),
    "pledge.completed": ("reasons", "name_entered", "name_signed"),
}
UNKNOWN_EVENTS = ("widget.opened", "experiment.assigned")

TILES = (
    "Research your ballot",
    "Make a plan to vote",
    "Register to vote",
    "Request a ballot",
    "Pledge to vote",
)

# Journeys: (weight, tokens). A token is an event name, optionally "#variant" to pick a
# property flavour (e.g. the tile matching the engine, a failed voter-file match).
_TURNOUT_IN_PERSON = (
    "turnout.get_started_clicked",
    "turnout.method_clicked#in_person",
    "turnout.date_selected",
    "turnout.date_next_clicked",
    "turnout.location_selected",
    "turnout.location_next_clicked",
    "turnout.plan_created#in_person",
)
_BALLOT = (
    "ballot.candidate_viewed",
    "ballot.candidate_viewed",
    "ballot.position_viewed",
    "ballot.candidate_viewed",
    "ballot.measure_viewed",
    "ballot.issue_viewed",
)
JOURNEYS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (14, ("session_start",)),
    (6, ("session_start", "tile_click")),
    (4, ("tile_click",)),
    (9, ("session_start", "widget.opened", "widget.address_submitted", "tile_click#ballot", *_BALLOT)),
    (
        5,
        (
            "session_start",
            "widget.address_submitted",
            "widget.address_submitted",
            "tile_click#ballot",
            "ballot.measure_viewed",
            "ballot.measure_viewed",
            "ballot.issue_viewed",
            "ballot.issue_viewed",
            "ballot.position_viewed",
        ),
    ),
    (8, ("session_start", "tile_click#turnout", *_TURNOUT_IN_PERSON)),
    (2, ("session_start", "tile_click#turnout", *_TURNOUT_IN_PERSON, "turnout.added_to_calendar")),
    (
        6,
        (
            "session_start",
            "tile_click#turnout",
            "turnout.get_started_clicked",
            "turnout.method_clicked#in_person",
            "turnout.method_clicked#mail",
            "turnout.request_ballot_clicked",
            "turnout.return_ballot_planned",
            "turnout.dropoff_location_clicked",
            "turnout.plan_created#mail",
        ),
    ),
    (
        3,
        (
            "session_start",
            "tile_click#turnout",
            "turnout.get_started_clicked",
            "turnout.method_clicked#mail",
            "turnout.method_clicked#in_person",
            "turnout.date_selected",
        ),
    ),
    (
        7,
        (
            "session_start",
            "tile_click#registration",
            "registration.started#check",
            "registration.check_submitted",
            "registration.match_result#yes",
            "registration.flow_completed",
            "registration.reminders_submitted",
        ),
    ),
    (
        4,
        (
            "session_start",
            "tile_click#registration",
            "registration.started#check",
            "registration.check_submitted",
            "registration.match_result#no",
            "registration.not_matched_clicked",
            "registration.register_online_chosen",
        ),
    ),
    (
        4,
        (
            "session_start",
            "tile_click#registration",
            "registration.started#register",
            "registration.register_by_mail_chosen",
            "registration.flow_completed",
            "registration.reminders_submitted",
        ),
    ),
    (
        3,
        (
            "session_start",
            "tile_click#registration",
            "registration.started#register",
            "registration.register_online_chosen",
        ),
    ),
    (5, ("session_start", "tile_click#vbm", "vbm.portal_clicked", "vbm.summary_page_reached")),
    (3, ("session_start", "tile_click#vbm", "vbm.emailed", "vbm.summary_page_reached")),
    (
        1.5,
        (
            "session_start",
            "tile_click#vbm",
            "vbm.downloaded",
            "vbm.printed",
            "vbm.form_submitted",
            "vbm.summary_page_reached",
        ),
    ),
    (6, ("session_start", "tile_click#pledge", "pledge.completed")),
    (2, ("session_start", "tile_click#pledge", "pledge.completed", "tile_click", "pledge.completed")),
    (
        4,
        (
            "tile_click",
            "session_start",
            "widget.address_submitted",
            "tile_click#ballot",
            "ballot.candidate_viewed",
            "tile_click#turnout",
            "turnout.get_started_clicked",
            "turnout.method_clicked#mail",
            "turnout.request_ballot_clicked",
            "tile_click#pledge",
            "pledge.completed",
            "experiment.assigned",
        ),
    ),
    (3, ("session_start", "experiment.assigned", "tile_click", "widget.opened", "ballot.position_viewed")),
)

# --------------------------------------------------------------------------------------
# Value pools. Real-world shapes the export must survive.
ADDRESSES = (
    "77 Massachusetts Ave, Cambridge, MA 02139",
    "1 Center St, Newark, NJ 07102",
    "221B Baker St, Boston, MA 02115",
    "221B Baker Street Apt 4, Portland, ME 04101",
    "1600 Pennsylvania Ave NW, Washington, DC 20500",
    "350 Fifth Avenue, Suite 3400, New York, NY 10118",
    "123 Main St Apt 5B, Springfield, IL 62701",
    "4059 Mt Lee Dr, Hollywood, CA 90068",
    "500 S Buena Vista St, Burbank, CA 91521",
    "2100 W Wilson Ave Unit 12, Chicago, IL 60625",
    "1 Infinite Loop, Cupertino, CA 95014-2083",
    "10 Elm St #3, Hartford, CT 06103",
    "742 Evergreen Terrace, Springfield, OR 97477",
    "8 Rue de la Paix Ln, Lafayette, LA 70501",
    "1234 Calle Sol, San Juan, PR 00907",
    "PO Box 12, Springfield",
    "somewhere near the park",
    "55 Water St., Brooklyn NY 11201",
    "900 N Michigan Ave Fl 7, Chicago, IL 60611",
    "3 Av. Ñandú, El Paso, TX 79901",
)
FIRST_NAMES = (
    "Ana",
    "James",
    "María José",
    "Nguyễn",
    "Aisha",
    "Liam",
    "Zoë",
    "Chris",
    "O'Neil",
    "李",
    '=HYPERLINK("http://evil.example","click")',
    "@SUM(1)",
    "+Carlos",
    "-Dana",
)
LAST_NAMES = (
    "Lopez",
    "Smith",
    "O'Brien",
    "Nguyen",
    "Johnson",
    "García-Márquez",
    "Washington",
    "Kim",
    "de la Cruz",
)
PHONES = ("+1 555 0100", "(555) 010-0199", "555-010-0142", "5550100123", "+1-555-010-0177")
EMAILS = ("ana.lopez@example.com", "jsmith@example.org", "voter+2024@example.net", "o'brien@example.com")
POLLING_PLACES = (
    "Lincoln Elementary School",
    "St. Mary's Parish Hall",
    'Community Center "Annex"',
    "Fire Station #4",
    "Biblioteca Pública, Sala 2",
    "Cook County Clerk's Office",
)
PLEDGE_REASONS = ("My community", "My family", "Climate", "Healthcare", "The economy", "Education, schools")
BUTTON_TEXTS = ("Try again", "Register to vote", "I'm not registered")
USER_AGENTS: tuple[tuple[float, str], ...] = (
    (
        14,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        5,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    ),
    (3, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"),
    (
        2,
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/109.0.0.0 Safari/537.36",
    ),
    (1, "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"),
    (
        7,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Safari/605.1.15",
    ),
    (
        4,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        2,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (1, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0"),
    (
        18,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.0 Mobile/15E148 Safari/604.1",
    ),
    (
        4,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/130.0.6723.90 Mobile/15E148 Safari/604.1",
    ),
    (
        3,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/22B83 [FBAN/FBIOS;FBAV/489.0.0.45.108;FBBV/654321;FBDV/iPhone15,2;FBMD/iPhone;"
        "FBSN/iOS;FBSV/18.1;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]",
    ),
    (
        3,
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.6 Mobile/15E148 Safari/604.1",
    ),
    (
        10,
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.6723.86 Mobile Safari/537.36",
    ),
    (
        5,
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Mobile Safari/537.36",
    ),
    (
        2,
        "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (
        1,
        "Mozilla/5.0 (Linux; Android 12; Lenovo TB-X606F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/129.0.0.0 Safari/537.36",
    ),
    (
        2,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240905.003; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/130.0.6723.58 Mobile Safari/537.36 "
        "[FB_IAB/FB4A;FBAV/485.0.0.70.77;]",
    ),
    (
        1,
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
    ),
    (0.5, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
)
REFERRERS: tuple[tuple[float, str | None], ...] = (
    (25, None),
    (8, ""),
    (20, "https://www.google.com/"),
    (10, "https://www.facebook.com/"),
    (5, "https://t.co/"),
    (4, "https://www.bing.com/"),
    (3, "android-app://com.google.android.gm/"),
    (10, "https://www.{host}.example/news/2024/11/voter-guide"),
    (5, "https://www.{host}.example/"),
    (3, "https://www.instagram.com/"),
)
UTM_QUERIES = (
    "utm_source=google&utm_medium=cpc&utm_campaign=gotv_2024&utm_content=banner_a&utm_term=where+to+vote",
    "utm_source=facebook&utm_medium=social&utm_campaign=gotv_2024&utm_content=video_1",
    "utm_source=newsletter&utm_medium=email&utm_campaign=early_vote",
    "utm_source=twitter&utm_medium=social&utm_campaign=GOTV%202024&utm_term=vote%26win",
    "utm_campaign=ballot_guide&utm_source=partner_site&utm_medium=referral&lang=es",
    "utm_source=sms&utm_medium=text",
    "utm_source=google&utm_medium=organic&utm_campaign=&utm_content=&utm_term=",
)
PAGES = ("", "/ballot", "/plan", "/register", "/request-ballot", "/pledge")


# --------------------------------------------------------------------------------------
def default_orgs() -> list[str]:
    """Three tenants; ``org_tiny`` is meant to get far fewer sessions (see default_sessions)."""
    return ["org_acme", "org_civic", "org_tiny"]


def default_days() -> list[dt.date]:
    """Days around the 2024 US election, including the America/Chicago DST fall-back day
    (2024-11-03) and election eve / election day."""
    return [dt.date(2024, 11, d) for d in (2, 3, 4, 5, 6)]


def default_sessions(per_org_day: int = 2000) -> dict[str, int]:
    """Sessions per org-day for the default orgs: two large tenants and one tiny one, so
    exports see both busy days and almost empty ones."""
    return {
        "org_acme": per_org_day,
        "org_civic": max(1, per_org_day * 3 // 5),
        "org_tiny": max(1, per_org_day // 50),
    }


# --------------------------------------------------------------------------------------
def _obj(values) -> np.ndarray:
    """Object array of Python values, the cheap element type for string concatenation."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values)
    return arr


def _j(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _frag(key: str, values, absent: int = 0, null: bool = False) -> np.ndarray:
    """``, "key": value`` fragments; ``absent`` empty entries model a widget that does not
    collect the field, ``null`` adds an explicit JSON null."""
    items = [f', "{key}": {_j(v)}' for v in values] + [""] * absent
    if null:
        items.append(f', "{key}": null')
    return _obj(items)


def _ints_as_str(values: np.ndarray) -> np.ndarray:
    return values.astype(str).astype(object)


@dataclass(frozen=True)
class _Batch:
    """What the property builders need about the events of one kind in one batch."""

    rng: np.random.Generator
    n: int  # number of events of this kind
    session: np.ndarray  # batch-local session index per event
    ballot_id: np.ndarray  # per batch session: ballot id as text


Builder = Callable[[_Batch], np.ndarray]


def _pick(b: _Batch, pool: np.ndarray) -> np.ndarray:
    return pool[b.rng.integers(0, len(pool), b.n)]


def _const(text: str) -> Builder:
    return lambda b: np.full(b.n, text, dtype=object)


def _choice(key: str, values) -> Builder:
    pool = _obj([f'{{"{key}": {_j(v)}}}' for v in values])
    return lambda b: _pick(b, pool)


@cache
def _pools() -> dict[str, np.ndarray]:
    dates = [dt.date(2024, 10, 21) + dt.timedelta(days=i) for i in range(16)]
    vote_at = [
        f"{d.isoformat()}T{hh:02d}:{mm:02d}:00{off}"
        for d in dates[7:]
        for hh, mm in ((7, 0), (8, 30), (12, 15), (17, 45), (19, 0))
        for off in ("-05:00", "-06:00", "-07:00", "-08:00", "-04:00")
    ]
    reasons = [
        [PLEDGE_REASONS[i] for i in range(len(PLEDGE_REASONS)) if mask >> i & 1]
        for mask in range(1, 2 ** len(PLEDGE_REASONS))
    ]
    return {
        "address": _obj([f'{{"address": {_j(a)}' for a in ADDRESSES]),
        "first": _frag("first_name", FIRST_NAMES, absent=2, null=True),
        "last": _frag("last_name", LAST_NAMES, absent=2),
        "phone": _frag("phone", PHONES, absent=2, null=True),
        "email": _frag("email", EMAILS, absent=1),
        "opt_in": _frag("opt_in", (True, False), absent=2),
        "date": _obj(
            [f'{{"polling_date": "{d}", "early_voting": {_j(d < dt.date(2024, 11, 5))}}}' for d in dates]
        ),
        "vote_at": _obj([f'{{"vote_at": "{v}"' for v in vote_at]),
        "dob": _obj(
            [
                f'"date_of_birth": "{y}-{m:02d}-{d:02d}"'
                for y in (1950, 1968, 1984, 1999, 2006)
                for m, d in ((1, 9), (7, 31), (12, 1))
            ]
        ),
        "reasons": _obj([f'{{"reasons": {_j(r)}' for r in reasons] + ['{"reasons": []']),
        "name": _obj([_j(f"{f} {ln}") for f in FIRST_NAMES[:9] for ln in LAST_NAMES]),
        "reminders": _obj(
            ["{" + (e + p)[2:] + "}" for e in _frag("email", EMAILS, 1) for p in _frag("phone", PHONES, 1)]
        ),
    }


def _address_submitted(b: _Batch) -> np.ndarray:
    p = _pools()
    return (
        _pick(b, p["address"])
        + _pick(b, p["first"])
        + _pick(b, p["last"])
        + _pick(b, p["phone"])
        + _pick(b, p["email"])
        + _pick(b, p["opt_in"])
        + ', "ballot_id": '
        + b.ballot_id[b.session]
        + "}"
    )


def _ballot_view(base: int) -> Builder:
    """Ids from a window of four per session, so a session often views one id twice."""

    def build(b: _Batch) -> np.ndarray:
        ids = base + (b.session % 500) * 4 + b.rng.integers(0, 4, b.n)
        return '{"id": ' + _ints_as_str(ids) + "}"

    return build


def _plan_created(drop_off: tuple[bool, ...]) -> Builder:
    tails = _obj([f', "drop_off": {_j(d)}}}' for d in drop_off])
    return lambda b: _pick(b, _pools()["vote_at"]) + _pick(b, tails)


def _check_submitted(b: _Batch) -> np.ndarray:
    p = _pools()
    first = _obj([f'{{"first_name": {_j(n)}' for n in FIRST_NAMES])
    last = _obj([f', "last_name": {_j(n)}, ' for n in LAST_NAMES])
    return _pick(b, first) + _pick(b, last) + _pick(b, p["dob"]) + "}"


def _match_yes(b: _Batch) -> np.ndarray:
    nums = _ints_as_str(b.rng.integers(10**8, 10**9, b.n))
    return '{"matched": true, "voter_id": "IL-' + nums + '", "voterbase_id": "TS-' + nums + '-X"}'


def _reminders(b: _Batch) -> np.ndarray:
    return _pick(b, _pools()["reminders"])


def _pledge(b: _Batch) -> np.ndarray:
    p = _pools()
    names = _pick(b, p["name"])
    signed = np.where(b.rng.random(b.n) < 0.8, names, _pick(b, p["name"]))
    return _pick(b, p["reasons"]) + ', "name_entered": ' + names + ', "name_signed": ' + signed + "}"


BUILDERS: dict[str, Builder] = {
    "tile_click": _choice("tile", TILES),
    "tile_click#ballot": _const('{"tile": "Research your ballot"}'),
    "tile_click#turnout": _const('{"tile": "Make a plan to vote"}'),
    "tile_click#registration": _const('{"tile": "Register to vote"}'),
    "tile_click#vbm": _const('{"tile": "Request a ballot"}'),
    "tile_click#pledge": _const('{"tile": "Pledge to vote"}'),
    "widget.address_submitted": _address_submitted,
    "ballot.position_viewed": _ballot_view(10_000),
    "ballot.candidate_viewed": _ballot_view(20_000),
    "ballot.issue_viewed": _ballot_view(30_000),
    "ballot.measure_viewed": _ballot_view(40_000),
    "turnout.method_clicked#mail": _const('{"method": "mail"}'),
    "turnout.method_clicked#in_person": _const('{"method": "in_person"}'),
    "turnout.date_selected": lambda b: _pick(b, _pools()["date"]),
    "turnout.location_selected": _choice("polling_place_name", POLLING_PLACES),
    "turnout.plan_created#in_person": _plan_created((False,)),
    "turnout.plan_created#mail": _plan_created((True, True, False)),
    "registration.started#check": _const('{"choice": "Check my registration"}'),
    "registration.started#register": _const('{"choice": "Register to vote"}'),
    "registration.check_submitted": _check_submitted,
    "registration.match_result#yes": _match_yes,
    "registration.match_result#no": _choice("matched", (False,)),
    "registration.not_matched_clicked": _choice("button_text", BUTTON_TEXTS),
    "registration.reminders_submitted": _reminders,
    "pledge.completed": _pledge,
    "widget.opened": _choice("embed_host", ("news.example", "county.example.gov")),
    "experiment.assigned": lambda b: _pick(
        b, _obj(['{"experiment": "hero_v2", "variant": "a"}', '{"variant": "b"}'])
    ),
}


# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Journeys:
    """Journeys flattened into numpy arrays so sessions expand by index arithmetic."""

    tokens: tuple[str, ...]  # distinct tokens
    flat: np.ndarray  # token code per journey step, all journeys concatenated
    start: np.ndarray  # offset of each journey in flat
    length: np.ndarray
    prob: np.ndarray


@cache
def _journeys() -> _Journeys:
    tokens = tuple(sorted({t for _, steps in JOURNEYS for t in steps}))
    code = {t: i for i, t in enumerate(tokens)}
    flat = np.array([code[t] for _, steps in JOURNEYS for t in steps], dtype=np.int32)
    length = np.array([len(steps) for _, steps in JOURNEYS], dtype=np.int64)
    weights = np.array([w for w, _ in JOURNEYS], dtype=float)
    return _Journeys(tokens, flat, np.cumsum(length) - length, length, weights / weights.sum())


def _weighted(pairs) -> tuple[np.ndarray, np.ndarray]:
    weights = np.array([w for w, _ in pairs], dtype=float)
    return _obj([v for _, v in pairs]), np.cumsum(weights) / weights.sum()


def _org_slot(org: str) -> int:
    return zlib.crc32(org.encode()) % _SLOT_SPAN


def _check_slots(orgs: list[str]) -> dict[str, int]:
    """Session ids embed an org slot; two orgs sharing a slot would share ids, so refuse."""
    slots = {org: _org_slot(org) for org in orgs}
    if len(set(slots.values())) != len(slots) or len(set(orgs)) != len(orgs):
        raise ValueError(f"org ids collide in the session-id slot space: {slots}")
    return slots


def _day_start_us(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * 1_000_000


@dataclass(frozen=True)
class _Expanded:
    """Sessions of a batch expanded to one entry per event, in (session, step) order."""

    session: np.ndarray
    pos: np.ndarray
    token: np.ndarray


def _expand(rng: np.random.Generator, n: int) -> _Expanded:
    j = _journeys()
    journey = rng.choice(len(j.length), size=n, p=j.prob)
    lengths = j.length[journey]
    session = np.repeat(np.arange(n), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    pos = np.arange(len(session)) - first
    token = j.flat[np.repeat(j.start[journey], lengths) + pos]
    return _Expanded(session, pos, token)


def _session_starts_ms(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets within the UTC day and durations. Most starts are uniform; a share
    starts in the last UTC hour or in 04:00-06:00 UTC (late evening in America/Chicago) and
    lasts long, so sessions cross midnight in both zones."""
    segment = rng.choice(3, size=n, p=[0.9, 0.05, 0.05])
    lo = np.array([0, 23 * 3600_000, 4 * 3600_000])[segment]
    span = np.array([_DAY_MS, 3600_000, 2 * 3600_000])[segment]
    start = lo + (rng.random(n) * span).astype(np.int64)
    duration = np.minimum(rng.exponential(10 * 60_000, n), MAX_SESSION_MS).astype(np.int64)
    long = (rng.random(n) < 0.08) | ((segment > 0) & (rng.random(n) < 0.5))
    duration[long] = rng.integers(30 * 60_000, MAX_SESSION_MS + 1, int(long.sum()))
    duration[rng.random(n) < 0.002] = MAX_SESSION_MS  # right up to the limit
    return start, duration


def _event_offsets_us(rng: np.random.Generator, ex: _Expanded, duration_ms: np.ndarray) -> np.ndarray:
    """Offsets from the session start: sorted uniform fractions of the duration (the first
    event at 0), with ~1% of events sharing the previous event's timestamp."""
    u = rng.random(len(ex.session))
    u[ex.pos == 0] = 0.0
    order = np.lexsort((u, ex.session))
    offsets = (u[order] * duration_ms[ex.session] * 1000).astype(np.int64)
    offsets += np.where(ex.pos > 0, rng.integers(0, 1000, len(offsets)), 0)
    offsets = np.minimum(offsets, duration_ms[ex.session] * 1000 - 1)  # strictly under 90 minutes
    tie = np.flatnonzero((ex.pos > 0) & (rng.random(len(offsets)) < 0.01))
    offsets[tie] = offsets[tie - 1]
    return offsets


def _properties(rng: np.random.Generator, ex: _Expanded, ballot_id: np.ndarray) -> np.ndarray:
    """JSON text per event. Events without a payload get NULL or ``{}`` (both mean {});
    a few payload events lose their payload (tracker glitch) and must not crash the export."""
    tokens = _journeys().tokens
    props = np.full(len(ex.token), None, dtype=object)
    for code, token in enumerate(tokens):
        idx = np.flatnonzero(ex.token == code)
        if len(idx) == 0:
            continue
        builder = BUILDERS.get(token)
        if builder is None:
            props[idx] = np.where(rng.random(len(idx)) < 0.3, "{}", None)
            continue
        props[idx] = builder(_Batch(rng, len(idx), ex.session[idx], ballot_id))
        lost = idx[rng.random(len(idx)) < 0.003]
        props[lost] = None
    return props


def _empty_prefix(rng: np.random.Generator, n: int) -> np.ndarray:
    """How many leading events of each session miss a context field (mostly none)."""
    return rng.choice(3, size=n, p=[0.86, 0.11, 0.03])


def _blank(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.where(rng.random(n) < 0.5, "", None)


def _with_prefix_blank(rng, values: np.ndarray, ex: _Expanded, n_sessions: int) -> np.ndarray:
    k = _empty_prefix(rng, n_sessions)
    blank = _blank(rng, n_sessions)
    out = values.copy()
    mask = ex.pos < k[ex.session]
    out[mask] = blank[ex.session[mask]]
    return out


@dataclass(frozen=True)
class _Org:
    org: str
    slot: int
    host: str
    locales: tuple[np.ndarray, np.ndarray]
    referrers: tuple[np.ndarray, np.ndarray]


def _org_info(org: str, slot: int) -> _Org:
    host = org.removeprefix("org_")
    brand = host.title()
    locales = (
        (70, "en-US"),
        (18, "es-US"),
        (8, f"en-US-{brand}"),
        (2, f"es-US-{brand}"),
        (1, "vi-US"),
        (1, "zh-US"),
    )
    referrers = tuple((w, r.format(host=host) if r else r) for w, r in REFERRERS)
    return _Org(org, slot, host, _weighted(locales), _weighted(referrers))


def _sample(rng: np.random.Generator, pool: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
    values, cum = pool
    return values[np.minimum(np.searchsorted(cum, rng.random(n), side="right"), len(values) - 1)]


def _context(
    rng: np.random.Generator, org: _Org, ex: _Expanded, devices: np.ndarray
) -> dict[str, np.ndarray]:
    """locale, user_agent, referrer, page_url per event: session values repeated on every
    event, blank on the first event(s) of some sessions; the utm landing URL only on the
    first non-blank page_url; a few sessions switch locale half-way."""
    n = len(devices)
    s = ex.session
    ua_values, ua_cum = _weighted(USER_AGENTS)
    device_hash = (devices * 2654435761) % 2**32 / 2**32  # a device keeps its browser across sessions
    user_agent = ua_values[np.minimum(np.searchsorted(ua_cum, device_hash, side="right"), len(ua_values) - 1)]
    locale = _sample(rng, org.locales, n)[s]
    switch = (rng.random(n) < 0.03)[s] & (ex.pos >= 2)
    locale[switch] = "es-US"
    base = f"https://{org.host}.civicengine.example/election-center"
    pages = _obj([base + p for p in PAGES])
    page = pages[rng.integers(0, len(pages), len(s))]
    utm = _obj([f"?{q}" for q in UTM_QUERIES] + [""] * 6 + ["?lang=es"])
    landing = pages[rng.integers(0, len(pages), n)] + utm[rng.integers(0, len(utm), n)]
    k = _empty_prefix(rng, n)
    page_url = np.where(ex.pos == k[s], landing[s], page)
    page_url[ex.pos < k[s]] = _blank(rng, n)[s][ex.pos < k[s]]
    return {
        "locale": _with_prefix_blank(rng, locale, ex, n),
        "user_agent": _with_prefix_blank(rng, user_agent[s], ex, n),
        "referrer": _with_prefix_blank(rng, _sample(rng, org.referrers, n)[s], ex, n),
        "page_url": page_url,
    }


def _batch_frame(
    rng: np.random.Generator,
    org: _Org,
    day: dt.date,
    seq0: int,
    n: int,
    device_pool: int,
    first_event_id: int,
) -> pd.DataFrame:
    """One batch of ``n`` sessions of one org-day as a contract-shaped frame, rows in
    event_id order. Ids follow ingestion time (event time plus a rare delay of up to ten
    minutes), so a few ids are out of event-time order on purpose."""
    ex = _expand(rng, n)
    start_ms, duration_ms = _session_starts_ms(rng, n)
    event_us = _day_start_us(day) + start_ms[ex.session] * 1000 + _event_offsets_us(rng, ex, duration_ms)
    day_no = (day - _EPOCH).days
    session_id = day_no * _SEQ_SPAN * _SLOT_SPAN + org.slot * _SEQ_SPAN + seq0 + np.arange(n, dtype=np.int64)
    devices = org.slot * 10**10 + rng.integers(0, device_pool, n)
    ballot_id = _ints_as_str(rng.integers(10**6, 10**8, n))
    props = _properties(rng, ex, ballot_id)
    context = _context(rng, org, ex, devices)
    delay = np.where(rng.random(len(event_us)) < 0.005, rng.integers(1, 600_000_000, len(event_us)), 0)
    order = np.argsort(event_us + delay, kind="stable")
    names = _obj([t.split("#")[0] for t in _journeys().tokens])
    columns = {
        "event_id": np.arange(first_event_id, first_event_id + len(order), dtype=np.int64),
        "org_id": pd.array(np.full(len(order), org.org, dtype=object), dtype="str"),
        "session_id": session_id[ex.session][order],
        "device_id": pd.array(("dev-" + _ints_as_str(devices))[ex.session][order], dtype="str"),
        "event_time": pd.DatetimeIndex(event_us[order].astype("datetime64[us]")).tz_localize("UTC"),
        "event_name": pd.array(names[ex.token][order], dtype="str"),
        "properties": pd.array(props[order], dtype="str"),
    }
    for key, values in context.items():
        columns[key] = pd.array(values[order], dtype="str")
    return pd.DataFrame(columns, columns=list(CLICKSTREAM_COLUMNS))


def _sessions_for(sessions_per_org_day: int | Mapping[str, int], org: str) -> int:
    if isinstance(sessions_per_org_day, Mapping):
        return int(sessions_per_org_day.get(org, 0))
    return int(sessions_per_org_day)


def generate_clickstream(
    orgs: list[str],
    days: list[dt.date],
    sessions_per_org_day: int | Mapping[str, int],
    seed: int = 7,
    first_event_id: int = 1,
    batch_sessions: int = BATCH_SESSIONS,
) -> Iterator[pd.DataFrame]:
    """Yield contract-shaped frames, org by org, day by day, ``batch_sessions`` sessions at
    a time (bounded memory). ``sessions_per_org_day`` is one number for every org or a
    mapping org -> number (orgs not in it get none). event_id runs on from
    ``first_event_id`` across the whole call; session ids encode (day, org, sequence) and so
    are unique across calls too, as long as each org-day is generated once.
    The result depends on ``batch_sessions``; keep the default for reproducible data."""
    slots = _check_slots(list(orgs))
    next_event_id = first_event_id
    for org in orgs:
        info = _org_info(org, slots[org])
        total = _sessions_for(sessions_per_org_day, org)
        if total >= _SEQ_SPAN:
            raise ValueError(f"at most {_SEQ_SPAN - 1} sessions per org-day, got {total}")
        device_pool = max(1, int(total * 0.8))
        for day in days:
            for batch_no, seq0 in enumerate(range(0, total, batch_sessions)):
                n = min(batch_sessions, total - seq0)
                rng = np.random.default_rng([seed, info.slot, day.toordinal(), batch_no])
                frame = _batch_frame(rng, info, day, seq0, n, device_pool, next_event_id)
                next_event_id += len(frame)
                yield frame


def seed_warehouse(
    url: str,
    orgs: list[str] | None = None,
    days: list[dt.date] | None = None,
    sessions_per_org_day: int | Mapping[str, int] | None = None,
    seed: int = 7,
    replace: bool = True,
) -> dict[str, dict[str, int]]:
    """Create ``clickstream_events`` at ``url`` (dropped first when ``replace``) and load the
    generated events in one transaction. Without ``replace`` the rows are appended after the
    highest existing event_id; do not append an org-day that is already there (its session
    ids would repeat). Returns ``{"sessions": {org: n}, "events": {org: n}}``."""
    orgs = default_orgs() if orgs is None else list(orgs)
    days = default_days() if days is None else list(days)
    if sessions_per_org_day is None:
        sessions_per_org_day = default_sessions()
    counts: dict[str, dict[str, int]] = {
        "sessions": {org: _sessions_for(sessions_per_org_day, org) * len(days) for org in orgs},
        "events": dict.fromkeys(orgs, 0),
    }
    with open_sink(url) as sink:
        first_event_id = _prepare_table(sink, replace)
        for frame in generate_clickstream(orgs, days, sessions_per_org_day, seed, first_event_id):
            sink.append(CLICKSTREAM_TABLE, frame, json_columns=SOURCE_TABLES[CLICKSTREAM_TABLE].json_columns)
            counts["events"][frame["org_id"].iat[0]] += len(frame)
        for ddl in CLICKSTREAM_EVENTS_INDEXES:
            sink.execute(ddl)
    return counts


def _prepare_table(sink: Sink, replace: bool) -> int:
    """(Re)create the table; the first free event_id when appending."""
    if replace:
        sink.execute(CLICKSTREAM_EVENTS_DROP)
        sink.execute(CLICKSTREAM_EVENTS_DDL)
        return 1
    sink.execute(CLICKSTREAM_EVENTS_DDL.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
    return int(sink.scalar(f"SELECT COALESCE(MAX(event_id), 0) + 1 FROM {CLICKSTREAM_TABLE}"))  # noqa: S608
