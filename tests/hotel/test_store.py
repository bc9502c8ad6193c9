"""The hotel store on a real SQLite file: schema, inventory, availability, holds and records."""

from __future__ import annotations

import contextlib
import datetime as dt
import inspect
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
import trio
from hypothesis import event, given, settings
from hypothesis import strategies as st

from hotelvoice.hotel.store import (
    MIGRATIONS,
    AsyncStore,
    AvailabilityError,
    CallerHistory,
    CallFinished,
    CallStarted,
    DuplicateCallError,
    Hold,
    HoldError,
    Lead,
    NotFoundError,
    SoldOutError,
    Store,
    StoreBusyError,
    StoreError,
    TurnAdded,
    waiting_at_most,
)
from hotelvoice.properties.model import Property, RoomType

START = dt.date(2026, 12, 1)  # a Tuesday
NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 10:00 in New York, on START

KING = RoomType(
    code="king",
    name="King Room",
    count=2,
    max_guests=2,
    nightly_rate_cents=18900,
    weekend_rate_cents=22900,
)
QUEEN = RoomType(
    code="double_queen", name="Double Queen", count=1, max_guests=4, nightly_rate_cents=20900
)
SUITE = RoomType(
    code="suite",
    name="Suite",
    count=1,
    max_guests=4,
    max_adults=2,
    nightly_rate_cents=34900,
    pets_allowed=False,
)
PROP = Property(
    id="seaside",
    name="Seaside Inn",
    timezone="America/New_York",
    pets_allowed=True,
    pet_fee_cents=2500,
    room_types=(KING, QUEEN, SUITE),
    max_stay_nights=14,
    booking_horizon_days=60,
    hold_minutes=30,
)


def day(n: int) -> dt.date:
    """The date ``n`` days after START."""
    return START + dt.timedelta(days=n)


def minutes(n: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=n)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hotel.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        opened.seed_property(PROP, START)
        yield opened


@contextlib.contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the store's file, for checks behind its back."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        yield conn


def hold(
    store: Store,
    room: str,
    check_in: int,
    check_out: int,
    *,
    pets: bool = False,
    guest_name: str = "Ada Lovelace",
    phone: str = "+15550001",
    minutes: int | None = None,
) -> Hold:
    """Two adults hold ``room`` from ``day(check_in)`` to ``day(check_out)`` at NOW."""
    return store.hold_room(
        "seaside",
        room,
        day(check_in),
        day(check_out),
        2,
        pets=pets,
        guest_name=guest_name,
        phone=phone,
        now=NOW,
        minutes=minutes,
    )


# --- schema


def test_open_migrates_an_empty_file(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.schema_version == len(MIGRATIONS)
    with raw(db_path) as conn:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    assert {"properties", "room_types", "nightly_rates", "holds", "reservations"} <= tables
    assert {"leads", "payment_links", "sms_outbox", "callbacks", "calls", "call_turns"} <= tables
    assert mode == "wal"


def test_reopening_keeps_data_and_version(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.seed_property(PROP, START)
        made = hold(store, "suite", 3, 5)
    with Store.open(db_path) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert store.get_hold(made.id) == made


def test_open_creates_missing_directories(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a" / "b" / "hotel.db") as store:
        assert store.schema_version == len(MIGRATIONS)


def test_refuses_a_database_from_a_newer_hotelvoice(db_path: Path) -> None:
    Store.open(db_path).close()
    with raw(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    newer, known = len(MIGRATIONS) + 1, len(MIGRATIONS)
    with pytest.raises(StoreError, match=rf"schema version {newer} .* only up to {known}"):
        Store.open(db_path)


def test_closed_store_refuses_work_and_closes_twice(store: Store) -> None:
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.leads("seaside")


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(NotFoundError, match="unknown property 'nowhere'"):
        store.create_lead(
            "nowhere",
            call_sid=None,
            name="Bo",
            phone=None,
            email=None,
            check_in=None,
            check_out=None,
            adults=None,
            children=None,
            room_type=None,
            notes="",
            now=NOW,
        )


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.availability("seaside", day(1), day(2), 2, now=NOW.replace(tzinfo=None))


# --- seeding


def test_seeding_stores_room_counts_and_weekend_rates(store: Store, db_path: Path) -> None:
    with raw(db_path) as conn:
        counts = dict(conn.execute("SELECT code, count FROM room_types").fetchall())
        nights = dict(
            conn.execute("SELECT room_type, count(*) FROM nightly_rates GROUP BY room_type")
        )
        friday, tuesday = (
            conn.execute(
                "SELECT rate_cents FROM nightly_rates WHERE room_type = 'king' AND night = ?",
                (night.isoformat(),),
            ).fetchone()[0]
            for night in (day(3), day(7))
        )
    assert counts == {"king": 2, "double_queen": 1, "suite": 1}
    assert nights == {"king": 60, "double_queen": 60, "suite": 60}
    assert day(3).weekday() == 4 and friday == 22900
    assert tuesday == 18900


def test_reseeding_keeps_published_rates_adds_nights_and_updates_counts(
    store: Store, db_path: Path
) -> None:
    dearer = attrs.evolve(KING, count=5, nightly_rate_cents=25000, weekend_rate_cents=None)
    store.seed_property(attrs.evolve(PROP, room_types=(dearer, QUEEN, SUITE)), day(10))
    with raw(db_path) as conn:
        rates = dict(
            conn.execute("SELECT night, rate_cents FROM nightly_rates WHERE room_type = 'king'")
        )
        (count,) = conn.execute("SELECT count FROM room_types WHERE code = 'king'").fetchone()
    assert len(rates) == 70  # 60 from START, 10 more up to day(69)
    assert rates[day(1).isoformat()] == 18900  # already published: unchanged
    assert rates[day(65).isoformat()] == 25000  # new night: the new rate
    assert count == 5
    offer = store.availability("seaside", day(1), day(2), 1, room_type="king", now=NOW).offers[0]
    assert offer.free_rooms == 5


def test_reseeding_without_a_room_type_stops_offering_it(store: Store) -> None:
    store.seed_property(attrs.evolve(PROP, room_types=(KING, QUEEN)), START)
    offered = store.availability("seaside", day(1), day(2), 2, now=NOW).offers
    assert [offer.room_type for offer in offered] == ["king", "double_queen"]


# --- availability


def test_availability_prices_every_fitting_room(store: Store) -> None:
    result = store.availability("seaside", day(2), day(5), 2, now=NOW)  # Thu, Fri, Sat
    assert result.reasons == ()
    king, queen, suite = result.offers
    assert (king.room_type, king.name, king.free_rooms) == ("king", "King Room", 2)
    assert king.nightly_rates == ((day(2), 18900), (day(3), 22900), (day(4), 22900))
    assert king.total_cents == king.grand_total_cents == 18900 + 2 * 22900
    assert king.pet_fee_cents == 0 and king.currency == "USD"
    assert queen.total_cents == 3 * 20900
    assert suite.total_cents == 3 * 34900


def test_room_type_is_matched_by_name_in_any_case(store: Store) -> None:
    result = store.availability("seaside", day(1), day(2), 2, room_type="double QUEEN", now=NOW)
    assert [offer.room_type for offer in result.offers] == ["double_queen"]


def test_occupancy_that_does_not_fit_says_why(store: Store) -> None:
    result = store.availability("seaside", day(1), day(2), 3, 1, now=NOW)
    assert [offer.room_type for offer in result.offers] == ["double_queen"]
    assert result.reasons == (
        "The King Room sleeps at most 2 guests.",
        "The Suite takes at most 2 adults.",
    )


def test_a_sold_out_night_inside_the_stay_excludes_the_room(store: Store) -> None:
    hold(store, "double_queen", 9, 10)
    result = store.availability("seaside", day(7), day(12), 2, now=NOW)
    assert [offer.room_type for offer in result.offers] == ["king", "suite"]
    assert result.reasons == ("The Double Queen is sold out on 2026-12-10.",)


def test_sold_out_nights_are_listed_briefly(store: Store) -> None:
    hold(store, "suite", 1, 6)
    result = store.availability("seaside", day(1), day(7), 2, room_type="suite", now=NOW)
    assert result.reasons == (
        "The Suite is sold out on 2026-12-02, 2026-12-03, 2026-12-04 and 2 other nights.",
    )


def test_free_rooms_is_the_fewest_over_the_nights(store: Store) -> None:
    hold(store, "king", 3, 4)
    offer = store.availability("seaside", day(2), day(5), 2, room_type="king", now=NOW).offers[0]
    assert offer.free_rooms == 1


def test_holds_stop_counting_when_they_expire(store: Store) -> None:
    made = hold(store, "suite", 1, 3)
    assert made.expires_at == minutes(30)
    still_held = store.availability(
        "seaside", day(1), day(3), 2, room_type="suite", now=minutes(29)
    )
    assert still_held.offers == ()
    expired = store.availability("seaside", day(1), day(3), 2, room_type="suite", now=minutes(30))
    assert [offer.room_type for offer in expired.offers] == ["suite"]


def test_a_released_hold_frees_the_room(store: Store) -> None:
    made = hold(store, "suite", 1, 3)
    released = store.release_hold(made.id)
    assert released.status == "released"
    assert store.release_hold(made.id).status == "released"  # idempotent
    result = store.availability("seaside", day(1), day(3), 2, room_type="suite", now=NOW)
    assert len(result.offers) == 1


def test_a_confirmed_reservation_outlives_its_hold_until_cancelled(store: Store) -> None:
    reservation = store.confirm_hold(hold(store, "suite", 1, 3).id, now=minutes(5))
    later = minutes(24 * 60)
    assert (
        store.availability("seaside", day(1), day(3), 2, room_type="suite", now=later).offers == ()
    )
    assert store.cancel_reservation(reservation.id).status == "cancelled"
    assert (
        len(store.availability("seaside", day(1), day(3), 2, room_type="suite", now=later).offers)
        == 1
    )


def test_pets_follow_the_property_and_room_rules(store: Store) -> None:
    result = store.availability("seaside", day(1), day(4), 2, pets=True, now=NOW)
    assert [offer.room_type for offer in result.offers] == ["king", "double_queen"]
    assert result.reasons == ("Pets are not allowed in the Suite.",)
    king = result.offers[0]
    assert king.pet_fee_cents == 3 * 2500
    assert king.grand_total_cents == king.total_cents + 3 * 2500

    store.seed_property(attrs.evolve(PROP, pets_allowed=False), START)
    result = store.availability("seaside", day(1), day(4), 2, pets=True, now=NOW)
    assert result.offers == ()
    assert result.reasons == ("Pets are not allowed at Seaside Inn.",)


def test_nights_without_published_rates_say_so(store: Store) -> None:
    # Thirty days on without a re-seed, the horizon reaches past the last seeded night.
    result = store.availability("seaside", day(58), day(62), 2, now=NOW, today=day(30))
    assert result.offers == ()
    assert result.reasons == ("No rates are published for nights after 2027-01-29.",)


def test_today_defaults_to_the_property_local_date(store: Store) -> None:
    # 03:00 UTC on START is still the evening before in New York: that check-in is not past.
    early = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
    result = store.availability("seaside", day(-1), day(1), 2, room_type="king", now=early)
    assert result.reasons == ("No rates are published for 2026-11-30.",)
    with pytest.raises(AvailabilityError, match="in the past"):
        store.availability("seaside", day(-1), day(1), 2, room_type="king", now=NOW)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"check_in": day(-1), "check_out": day(1)},
            "Check-in on 2026-11-30 is in the past; today is 2026-12-01.",
        ),
        (
            {"check_in": day(4), "check_out": day(4)},
            "Check-out must be at least one day after check-in.",
        ),
        (
            {"check_in": day(1), "check_out": day(16)},
            "Stays are limited to 14 nights; this one is 15.",
        ),
        ({"adults": 0}, "At least one adult must stay in the room."),
        ({"children": -1}, "The number of children cannot be negative."),
        (
            {"check_in": day(58), "check_out": day(61)},
            "Rooms can be booked up to 60 days ahead, so check-out must be on or before "
            "2027-01-30.",
        ),
        (
            {"room_type": "penthouse"},
            "There is no room type 'penthouse'; the room types are: King Room (king), "
            "Double Queen (double_queen), Suite (suite).",
        ),
        ({"property_id": "nowhere"}, "There is no hotel 'nowhere' in the store."),
    ],
)
def test_invalid_requests_say_what_is_wrong(
    store: Store, arguments: dict[str, object], message: str
) -> None:
    request: dict[str, object] = {
        "property_id": "seaside",
        "check_in": day(1),
        "check_out": day(3),
        "adults": 2,
        "children": 0,
    }
    request.update(arguments)
    with pytest.raises(AvailabilityError) as raised:
        store.availability(now=NOW, **request)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


# --- holds and reservations


def test_a_hold_locks_in_the_price(store: Store) -> None:
    made = hold(store, "king", 2, 4, pets=True)
    assert made.id.startswith("hold_")
    assert (made.room_type, made.check_in, made.check_out, made.adults) == (
        "king",
        day(2),
        day(4),
        2,
    )
    assert made.nightly_rates == ((day(2), 18900), (day(3), 22900))
    assert made.total_cents == 18900 + 22900
    assert made.pet_fee_cents == 2 * 2500
    assert made.grand_total_cents == 18900 + 22900 + 5000
    assert (made.status, made.guest_name, made.phone) == ("held", "Ada Lovelace", "+15550001")
    assert made.created_at == NOW and made.is_active(minutes(29))
    assert not made.is_active(minutes(30))


def test_a_hold_can_last_a_chosen_time(store: Store) -> None:
    assert hold(store, "king", 2, 4, minutes=5).expires_at == minutes(5)


def test_holding_a_sold_out_room_raises_sold_out(store: Store) -> None:
    hold(store, "suite", 1, 3)
    with pytest.raises(SoldOutError, match=r"^The Suite is sold out on 2026-12-03\.$"):
        hold(store, "suite", 2, 5)


def test_holding_a_room_that_does_not_fit_is_not_sold_out(store: Store) -> None:
    with pytest.raises(AvailabilityError) as raised:
        hold(store, "suite", 1, 3, pets=True)
    assert not isinstance(raised.value, SoldOutError)
    assert str(raised.value) == "Pets are not allowed in the Suite."


def test_confirming_a_hold_makes_a_reservation_once(store: Store) -> None:
    made = hold(store, "king", 2, 4, pets=True)
    reservation = store.confirm_hold(made.id, now=minutes(10))
    assert reservation.id.startswith("res_")
    assert (reservation.hold_id, reservation.status, reservation.created_at) == (
        made.id,
        "confirmed",
        minutes(10),
    )
    assert reservation.nightly_rates == made.nightly_rates
    assert reservation.grand_total_cents == made.grand_total_cents
    # A repeated payment webhook gets the same reservation back, even after the hold's time.
    assert store.confirm_hold(made.id, now=minutes(90)) == reservation
    assert store.get_reservation(reservation.id) == reservation
    assert store.get_reservation("res_missing") is None
    with pytest.raises(HoldError, match="already"):
        store.release_hold(made.id)


def test_expired_released_and_unknown_holds_cannot_be_confirmed(store: Store) -> None:
    expired = hold(store, "king", 2, 4)
    with pytest.raises(HoldError, match="expired"):
        store.confirm_hold(expired.id, now=minutes(30))
    released = store.release_hold(hold(store, "king", 5, 6).id)
    with pytest.raises(HoldError, match="released"):
        store.confirm_hold(released.id, now=NOW)
    with pytest.raises(NotFoundError, match="unknown hold 'hold_missing'"):
        store.confirm_hold("hold_missing", now=NOW)
    with pytest.raises(NotFoundError):
        store.release_hold("hold_missing")
    assert store.get_hold("hold_missing") is None


def test_reservations_for_a_phone_in_check_in_order(store: Store) -> None:
    later = store.confirm_hold(hold(store, "king", 8, 9).id, now=NOW)
    sooner = store.confirm_hold(hold(store, "king", 2, 3).id, now=NOW)
    store.confirm_hold(hold(store, "king", 4, 5, phone="+15559999").id, now=NOW)
    assert store.reservations_for_phone("+15550001") == (sooner, later)


@pytest.mark.parametrize("shared", [True, False], ids=["one-connection", "one-per-thread"])
def test_racing_threads_get_the_last_room_once(db_path: Path, shared: bool) -> None:
    with Store.open(db_path) as store:
        store.seed_property(PROP, START)
        barrier = threading.Barrier(8)
        outcomes: list[object] = []

        def race(n: int) -> None:
            with contextlib.ExitStack() as stack:
                mine = store if shared else stack.enter_context(Store.open(db_path))
                barrier.wait()
                try:
                    outcomes.append(hold(mine, "suite", 1, 3, guest_name=f"guest {n}"))
                except SoldOutError as exc:
                    outcomes.append(exc)

        threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(outcomes) == 8
    assert sum(isinstance(outcome, Hold) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, SoldOutError) for outcome in outcomes) == 7


# --- properties over random operations

SMALL = attrs.evolve(
    PROP,
    room_types=(attrs.evolve(KING, count=2), attrs.evolve(SUITE, count=1, pets_allowed=True)),
)
ROOMS = {room.code: room for room in SMALL.room_types}

holds_in_a_busy_week = st.tuples(
    st.just("hold"),
    st.sampled_from(sorted(ROOMS)),
    st.integers(0, 5),  # check-in, days after START
    st.integers(1, 4),  # nights
    st.integers(1, 60),  # hold minutes
)
operations = st.lists(
    st.one_of(
        holds_in_a_busy_week,
        holds_in_a_busy_week,  # twice as likely as the others, so rooms do fill up
        st.tuples(st.sampled_from(["release", "confirm"]), st.integers(0, 30)),
        st.tuples(st.just("cancel"), st.integers(0, 30)),
        st.tuples(st.just("wait"), st.integers(1, 90)),
    ),
    min_size=5,
    max_size=30,
)


def taken(conn: sqlite3.Connection, room: str, night: dt.date, now: dt.datetime) -> int:
    """Rooms of ``room`` booked or actively held on ``night``, counted straight from the tables."""
    (booked,) = conn.execute(
        "SELECT count(*) FROM reservations WHERE room_type = ? AND status != 'cancelled'"
        " AND check_in <= ? AND check_out > ?",
        (room, night.isoformat(), night.isoformat()),
    ).fetchone()
    (held,) = conn.execute(
        "SELECT count(*) FROM holds WHERE room_type = ? AND status = 'held' AND expires_at > ?"
        " AND check_in <= ? AND check_out > ?",
        (
            room,
            now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            night.isoformat(),
            night.isoformat(),
        ),
    ).fetchone()
    return int(booked) + int(held)


@settings(deadline=None, max_examples=50)
@given(ops=operations)
def test_rooms_are_never_overbooked(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[object, ...]]
) -> None:
    path = tmp_path_factory.mktemp("random") / "hotel.db"
    now = NOW
    holds: list[Hold] = []
    reservations: list[str] = []
    with Store.open(path) as store, raw(path) as conn:
        store.seed_property(SMALL, START)
        for op in ops:
            match op:
                case ("hold", str(room), int(start), int(nights), int(minutes_held)):
                    stay = [day(start + i) for i in range(nights)]
                    free = all(taken(conn, room, night, now) < ROOMS[room].count for night in stay)
                    try:
                        made = store.hold_room(
                            "seaside",
                            room,
                            day(start),
                            day(start + nights),
                            1,
                            guest_name="G",
                            phone=None,
                            now=now,
                            minutes=minutes_held,
                        )
                    except SoldOutError:
                        event("sold out")
                        assert not free  # refused only when some night really is full
                    else:
                        assert free
                        holds.append(made)
                case ("release", int(index)) if holds:
                    with contextlib.suppress(HoldError):
                        store.release_hold(holds[index % len(holds)].id)
                case ("confirm", int(index)) if holds:
                    target = holds[index % len(holds)]
                    try:
                        reservations.append(store.confirm_hold(target.id, now=now).id)
                        event("confirmed")
                    except HoldError:
                        event("not confirmed")
                        current = store.get_hold(target.id)
                        assert current is not None and not current.is_active(now)
                case ("cancel", int(index)) if reservations:
                    store.cancel_reservation(reservations[index % len(reservations)])
                case ("wait", int(waited)):
                    now += dt.timedelta(minutes=waited)
            for room_type in ROOMS.values():
                for night in (day(i) for i in range(13)):
                    assert taken(conn, room_type.code, night, now) <= room_type.count


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("prices") / "hotel.db") as opened:
        opened.seed_property(PROP, START)
        yield opened


@settings(deadline=None, max_examples=50)
@given(
    start=st.integers(0, 40),
    nights=st.integers(1, 14),
    adults=st.integers(1, 2),
    children=st.integers(0, 2),
    pets=st.booleans(),
)
def test_offer_totals_add_up(
    shared_store: Store, start: int, nights: int, adults: int, children: int, pets: bool
) -> None:
    result = shared_store.availability(
        "seaside", day(start), day(start + nights), adults, children, pets, now=NOW
    )
    assert result.offers or result.reasons
    for offer in result.offers:
        room = ROOMS.get(offer.room_type) or PROP.room_type(offer.room_type)
        assert room is not None and room.fits(adults, children)
        assert [night for night, _ in offer.nightly_rates] == [
            day(start + i) for i in range(nights)
        ]
        assert all(rate == room.rate_for(night) for night, rate in offer.nightly_rates)
        assert offer.total_cents == sum(rate for _, rate in offer.nightly_rates)
        assert offer.pet_fee_cents == (2500 * nights if pets else 0)
        assert offer.grand_total_cents == offer.total_cents + offer.pet_fee_cents


# --- leads, payment links, SMS, callbacks


def test_leads_by_property_and_phone(store: Store) -> None:
    first = store.create_lead(
        "seaside",
        call_sid="CA1",
        name="Grace Hopper",
        phone="+15550002",
        email="grace@example.com",
        check_in=day(10),
        check_out=day(12),
        adults=2,
        children=1,
        room_type="double_queen",
        notes="Wants a quiet room.",
        now=NOW,
    )
    second = store.create_lead(
        "seaside",
        call_sid=None,
        name="Alan",
        phone=None,
        email=None,
        check_in=None,
        check_out=None,
        adults=None,
        children=None,
        room_type=None,
        notes="Wedding block.",
        now=minutes(1),
    )
    assert first.id.startswith("lead_")
    assert (first.check_in, first.children, first.created_at) == (day(10), 1, NOW)
    assert second.check_in is None and second.phone is None
    assert store.leads("seaside") == (first, second)
    assert store.leads_for_phone("+15550002") == (first,)
    assert store.leads("elsewhere") == ()


def test_payment_links_are_recorded_and_marked(store: Store) -> None:
    made = hold(store, "king", 2, 4)
    link = store.record_payment_link(
        token="tok.123.mac",
        property_id="seaside",
        hold_id=made.id,
        amount_cents=made.grand_total_cents,
        currency="USD",
        description="King Room, 2 nights",
        url="https://hotel.example.com/pay/tok.123.mac",
        provider="local",
        provider_id=None,
        expires_at=made.expires_at,
        now=NOW,
    )
    assert (link.status, link.hold_id, link.amount_cents) == ("pending", made.id, 18900 + 22900)
    assert store.payment_link("tok.123.mac") == link
    assert store.payment_link("nope") is None
    paid = store.mark_payment_link("tok.123.mac", "paid")
    assert paid == attrs.evolve(link, status="paid")
    assert store.payment_link("tok.123.mac") == paid
    with pytest.raises(NotFoundError):
        store.mark_payment_link("nope", "paid")


def test_payment_links_refuse_bad_input(store: Store) -> None:
    link = {
        "token": "plink_1",
        "property_id": "seaside",
        "hold_id": None,
        "amount_cents": 100,
        "currency": "USD",
        "description": "Deposit",
        "url": "https://buy.stripe.com/x",
        "provider": "stripe",
        "provider_id": "plink_1",
        "expires_at": minutes(30),
        "now": NOW,
    }
    store.record_payment_link(**link)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="already recorded"):
        store.record_payment_link(**link)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="provider"):
        store.record_payment_link(**{**link, "token": "t2", "provider": "paypal"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        store.record_payment_link(**{**link, "token": "t3", "amount_cents": 0})  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="unknown hold"):
        store.record_payment_link(**{**link, "token": "t4", "hold_id": "hold_x"})  # type: ignore[arg-type]


def test_sms_outbox_tracks_delivery(store: Store) -> None:
    queued = store.enqueue_sms(
        property_id="seaside", call_sid="CA1", to="+15550001", body="Your link", now=NOW
    )
    other = store.enqueue_sms(
        property_id="seaside", call_sid=None, to="+15550003", body="Hello", now=minutes(1)
    )
    assert queued.id.startswith("sms_") and queued.status == "queued"
    sent = store.update_sms(queued.id, status="sent", provider_id="SM1", now=minutes(2))
    assert (sent.status, sent.provider_id, sent.updated_at) == ("sent", "SM1", minutes(2))
    delivered = store.update_sms(queued.id, status="delivered", now=minutes(3))
    assert delivered.provider_id == "SM1"  # kept when not given
    failed = store.update_sms(other.id, status="failed", error="30003 unreachable", now=minutes(3))
    assert store.sms_outbox("seaside") == (delivered, failed)
    assert store.sms_outbox("seaside", status="failed") == (failed,)
    with pytest.raises(NotFoundError):
        store.update_sms("sms_missing", status="sent", now=NOW)


def test_callbacks_soonest_first(store: Store) -> None:
    late = store.create_callback(
        property_id="seaside",
        call_sid="CA1",
        phone="+15550001",
        when=dt.datetime(2026, 12, 2, 10, 0, tzinfo=PROP.zone),
        reason="Group rates",
        now=NOW,
    )
    soon = store.create_callback(
        property_id="seaside",
        call_sid=None,
        phone="+15550004",
        when=minutes(60),
        reason="Billing question",
        now=NOW,
    )
    assert late.id.startswith("cb_") and late.status == "pending"
    assert late.when == dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)
    assert store.callbacks("seaside") == (soon, late)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.create_callback(
            property_id="seaside",
            call_sid=None,
            phone="+1",
            when=dt.datetime(2026, 12, 2, 10, 0),
            reason="",
            now=NOW,
        )


# --- calls


def test_call_records_keep_turns_in_order_and_guest_info(store: Store) -> None:
    store.start_call(
        call_sid="CA1", property_id="seaside", caller="+15550001", dialed="+15551000", now=NOW
    )
    with pytest.raises(DuplicateCallError, match="CA1"):
        store.start_call(
            call_sid="CA1", property_id="seaside", caller="+1999", dialed="+1999", now=minutes(9)
        )
    store.add_turn("CA1", role="caller", text="Do you have a king room?", now=minutes(1))
    store.add_turn(
        "CA1",
        role="tool",
        text="",
        tool_name="check_availability",
        tool_arguments='{"room_type": "king"}',
        tool_result='{"offers": 1}',
        now=minutes(1),
    )
    last = store.add_turn("CA1", role="assistant", text="Yes, we do.", now=minutes(2))
    assert last.seq == 3
    store.finish_call(
        "CA1",
        summary="Asked about a king room.",
        end_reason="caller_hung_up",
        guest={"name": "Ada", "party": {"adults": 2}, "arrives": day(2)},
        now=minutes(3),
    )
    record = store.call_record("CA1")
    assert record is not None
    assert (record.caller, record.dialed, record.started_at) == ("+15550001", "+15551000", NOW)
    assert (record.ended_at, record.summary, record.end_reason) == (
        minutes(3),
        "Asked about a king room.",
        "caller_hung_up",
    )
    assert dict(record.guest) == {"name": "Ada", "party": {"adults": 2}, "arrives": "2026-12-03"}
    assert [turn.role for turn in record.turns] == ["caller", "tool", "assistant"]
    assert [turn.seq for turn in record.turns] == [1, 2, 3]
    assert record.turns[1].tool_name == "check_availability"
    assert record.turns[1].tool_result == '{"offers": 1}'
    assert record.turns[2] == last
    with pytest.raises(TypeError):
        record.guest["name"] = "Eve"  # type: ignore[index]
    assert store.call_record("CA_missing") is None


def test_calls_for_a_phone_most_recent_first(store: Store) -> None:
    for n in range(3):
        store.start_call(
            call_sid=f"CA{n}",
            property_id="seaside",
            caller="+15550001",
            dialed="+1",
            now=minutes(n),
        )
    store.start_call(
        call_sid="CAx", property_id="seaside", caller="+15550002", dialed="+1", now=NOW
    )
    store.add_turn("CA2", role="caller", text="Hi again", now=minutes(2))
    calls = store.calls_for_phone("+15550001")
    assert [call.call_sid for call in calls] == ["CA2", "CA1", "CA0"]
    assert calls[0].summary is None and calls[0].guest == {}
    assert [turn.text for turn in calls[0].turns] == ["Hi again"]
    assert len(store.calls_for_phone("+15550001", limit=2)) == 2


def test_a_calls_start_reads_its_callsid_and_the_callers_history_at_once(store: Store) -> None:
    for n in range(2):
        store.start_call(
            call_sid=f"CA{n}", property_id="seaside", caller="+15550001", dialed="+1",
            now=minutes(n),
        )  # fmt: skip
    store.add_turn("CA1", role="caller", text="Hi again", now=minutes(1))
    made = hold(store, "king", 2, 4)
    reservation = store.confirm_hold(made.id, now=NOW)

    history = store.call_start_reads("CA9", "+15550001")
    assert not history.call_exists
    assert history.reservations == store.reservations_for_phone("+15550001") == (reservation,)
    assert history.leads == store.leads_for_phone("+15550001")
    assert history.latest_call == store.calls_for_phone("+15550001", limit=1)[0]
    assert history.latest_call is not None and history.latest_call.call_sid == "CA1"
    # A known CallSid is refused before anything else is read; no phone, no history.
    assert store.call_start_reads("CA0", "+15550001") == CallerHistory(True, (), (), None)
    assert store.call_start_reads("CA9", None) == CallerHistory(False, (), (), None)
    assert store.call_start_reads("CA9", "+15559999") == CallerHistory(False, (), (), None)


def test_turns_need_a_started_call_and_a_known_role(store: Store) -> None:
    with pytest.raises(NotFoundError, match="unknown call 'CA9'"):
        store.add_turn("CA9", role="caller", text="hello", now=NOW)
    with pytest.raises(NotFoundError):
        store.finish_call("CA9", summary="", end_reason=None, guest={}, now=NOW)
    store.start_call(call_sid="CA9", property_id="seaside", caller="+1", dialed="+1", now=NOW)
    with pytest.raises(ValueError, match="role"):
        store.add_turn("CA9", role="system", text="hello", now=NOW)


def test_a_batch_of_record_writes_keeps_what_it_can(store: Store) -> None:
    store.start_call(call_sid="CAold", property_id="seaside", caller="+1", dialed="+1", now=NOW)
    refused = store.write_call_records(
        [
            CallStarted("CA1", "seaside", "+15550001", "+15551000", NOW),
            TurnAdded("CA1", "caller", "Hello?", minutes(1)),
            CallStarted("CAold", "seaside", "+1999", "+1999", NOW),  # a reused CallSid
            TurnAdded("CAold", "caller", "Not my call", minutes(1)),
            TurnAdded("CA1", "robot", "beep", minutes(1)),
            TurnAdded("CA1", "assistant", "Hi!", minutes(2)),
            CallFinished("CA1", "A short call.", "caller hung up", {"name": "Ada"}, minutes(3)),
        ]
    )
    assert [(type(write).__name__, write.call_sid) for write, _ in refused] == [
        ("CallStarted", "CAold"),
        ("TurnAdded", "CAold"),
        ("TurnAdded", "CA1"),
    ]
    assert "already has a record" in refused[0][1]
    assert "role" in refused[2][1]
    record = store.call_record("CA1")
    assert record is not None
    assert [(turn.seq, turn.text) for turn in record.turns] == [(1, "Hello?"), (2, "Hi!")]
    assert (record.ended_at, record.end_reason, dict(record.guest)) == (
        minutes(3),
        "caller hung up",
        {"name": "Ada"},
    )
    old = store.call_record("CAold")
    assert old is not None and old.turns == () and old.caller == "+1"


def test_calls_left_open_are_closed_as_interrupted(store: Store) -> None:
    for sid in ("CA1", "CA2", "CA3"):
        store.start_call(call_sid=sid, property_id="seaside", caller="+1", dialed="+1", now=NOW)
    store.finish_call("CA2", summary="done", end_reason="goodbye", guest={}, now=minutes(1))
    closed = store.close_interrupted_calls(reason="interrupted by restart", now=minutes(5))
    assert closed == ("CA1", "CA3")
    assert [(c.call_sid, c.end_reason, c.ended_at) for c in store.calls_for_phone("+1")] == [
        ("CA1", "interrupted by restart", minutes(5)),
        ("CA2", "goodbye", minutes(1)),
        ("CA3", "interrupted by restart", minutes(5)),
    ]
    assert store.close_interrupted_calls(reason="again", now=minutes(6)) == ()


def test_a_locked_database_refuses_writes_within_the_wait_and_still_reads(
    store: Store, db_path: Path
) -> None:
    store.start_call(call_sid="CA1", property_id="seaside", caller="+1", dialed="+1", now=NOW)
    with raw(db_path) as other:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with waiting_at_most(0.05), pytest.raises(StoreBusyError):
            store.add_turn("CA1", role="caller", text="lost?", now=NOW)
        # WAL: readers are not blocked by a writer.
        with waiting_at_most(0.05):
            assert store.call_exists("CA1")
            assert store.availability("seaside", day(1), day(2), 2, now=NOW).offers
        other.execute("ROLLBACK")
    record = store.call_record("CA1")
    assert record is not None and record.turns == ()
    store.add_turn("CA1", role="caller", text="kept", now=NOW)
    assert [turn.text for turn in store.calls_for_phone("+1")[0].turns] == ["kept"]


async def test_an_async_write_gives_up_at_its_callers_deadline(db_path: Path) -> None:
    async with await AsyncStore.open(db_path) as store:
        await store.seed_property(PROP, START)
        with raw(db_path) as other:
            other.execute("BEGIN IMMEDIATE")
            # A bound of 20 times the deadline: the old store waited its full busy timeout.
            with trio.fail_after(5.0):
                with trio.move_on_after(0.25) as scope:
                    await store.hold_room(
                        "seaside", "king", day(1), day(2), 2, guest_name="Ada", phone=None, now=NOW
                    )
                assert scope.cancelled_caught
                # Reads are not held up by the writer stuck behind the lock.
                assert await store.call_exists("CA1") is False
            other.execute("ROLLBACK")
        with raw(db_path) as check:
            assert check.execute("SELECT count(*) FROM holds").fetchone() == (0,)
        made = await store.hold_room(
            "seaside", "king", day(1), day(2), 2, guest_name="Ada", phone=None, now=NOW
        )
        assert made.status == "held"


# --- the async face


class ThreadRecordingStore(Store):
    def __init__(self, connection: sqlite3.Connection) -> None:
        super().__init__(connection)
        self.threads: list[int] = []

    def leads(self, property_id: str) -> tuple[Lead, ...]:
        self.threads.append(threading.get_ident())
        return super().leads(property_id)


def test_async_store_covers_every_store_method() -> None:
    public = {
        name
        for name, member in inspect.getmembers(Store, inspect.isfunction)
        if not name.startswith("_") and name not in ("open", "close")
    }
    assert public <= set(vars(AsyncStore))


async def test_async_store_round_trip(db_path: Path) -> None:
    async with await AsyncStore.open(db_path) as store:
        await store.seed_property(PROP, START)
        result = await store.availability("seaside", day(1), day(3), 2, room_type="suite", now=NOW)
        assert result.offers[0].total_cents == 2 * 34900
        made = await store.hold_room(
            "seaside", "suite", day(1), day(3), 2, guest_name="Ada", phone="+15550001", now=NOW
        )
        with pytest.raises(SoldOutError):
            await store.hold_room(
                "seaside", "suite", day(1), day(3), 1, guest_name="Bo", phone=None, now=NOW
            )
        reservation = await store.confirm_hold(made.id, now=minutes(1))
        assert await store.reservations_for_phone("+15550001") == (reservation,)
        assert store.availability.__name__ == "availability"
    with pytest.raises(StoreError, match="closed"):
        store.sync.leads("seaside")


async def test_async_store_runs_off_the_event_loop(db_path: Path) -> None:
    store = AsyncStore(await trio.to_thread.run_sync(ThreadRecordingStore.open, db_path))
    try:
        await store.seed_property(PROP, START)
        assert await store.leads("seaside") == ()
        sync = store.sync
        assert isinstance(sync, ThreadRecordingStore)
        assert sync.threads and threading.get_ident() not in sync.threads
    finally:
        await store.aclose()


def _descriptors_on(path: Path) -> list[str]:
    """The names of the files under ``path``'s folder this process holds open (Linux)."""
    names = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = Path(fd.readlink())
            if target.parent == path.parent:
                names.append(target.name)
    return sorted(names)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_store_opens_every_file_it_will_hold_when_it_opens(store: Store, db_path: Path) -> None:
    # A resource check (bench/soak.py) compares descriptors after warm-up with those after the
    # run: a file first opened by a later read would read as a leak.
    opened = _descriptors_on(db_path)
    store.reservations_for_phone("+15550001111")
    store.availability(PROP.id, day(1), day(3), 2, now=NOW)
    assert _descriptors_on(db_path) == opened
