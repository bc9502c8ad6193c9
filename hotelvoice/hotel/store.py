"""The hotel's store: inventory, holds, reservations, leads, payment links, SMS, calls, on SQLite.

:class:`Store` is synchronous and owns one connection (WAL, foreign keys on, every write in a
``BEGIN IMMEDIATE`` transaction) behind a lock, so worker threads may share it.
:class:`AsyncStore` offers the same methods as coroutines that run them in a worker thread: no
SQLite on the event loop. Nothing here reads a clock; every method that needs "now" takes it,
timezone-aware. Dates are stored as ISO text, instants as ISO UTC text (fixed width, so text
order is time order), money as integer cents. Everything returned is an immutable value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import sqlite3
import threading
import time
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload
from zoneinfo import ZoneInfo

import attrs
import trio

from hotelvoice.ids import new_id
from hotelvoice.properties.model import Property, RoomType

_T = TypeVar("_T")
_Record = TypeVar("_Record", bound=attrs.AttrsInstance)
_P = ParamSpec("_P")
_R = TypeVar("_R")

BUSY_TIMEOUT_MS = 5000
TURN_ROLES = ("caller", "assistant", "tool")
PAYMENT_PROVIDERS = ("local", "stripe")
# Reservations in these states take a room; "cancelled" ones do not.
BOOKED_STATUSES = ("confirmed", "pending")

# Applied in order; the database's ``PRAGMA user_version`` is how many have been applied.
# Append new scripts, never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE properties (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        timezone TEXT NOT NULL,
        currency TEXT NOT NULL,
        pets_allowed INTEGER NOT NULL,
        pet_fee_cents INTEGER NOT NULL,
        max_stay_nights INTEGER NOT NULL,
        booking_horizon_days INTEGER NOT NULL,
        hold_minutes INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE room_types (
        property_id TEXT NOT NULL REFERENCES properties(id),
        code TEXT NOT NULL,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        count INTEGER NOT NULL CHECK (count >= 0),
        max_guests INTEGER NOT NULL,
        max_adults INTEGER,
        nightly_rate_cents INTEGER NOT NULL,
        weekend_rate_cents INTEGER,
        pets_allowed INTEGER NOT NULL,
        description TEXT NOT NULL,
        active INTEGER NOT NULL,
        PRIMARY KEY (property_id, code)
    ) STRICT;

    CREATE TABLE nightly_rates (
        property_id TEXT NOT NULL,
        room_type TEXT NOT NULL,
        night TEXT NOT NULL,
        rate_cents INTEGER NOT NULL,
        PRIMARY KEY (property_id, room_type, night),
        FOREIGN KEY (property_id, room_type) REFERENCES room_types(property_id, code)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE holds (
        id TEXT PRIMARY KEY,
        property_id TEXT NOT NULL,
        room_type TEXT NOT NULL,
        check_in TEXT NOT NULL,
        check_out TEXT NOT NULL,
        adults INTEGER NOT NULL,
        children INTEGER NOT NULL,
        pets INTEGER NOT NULL,
        guest_name TEXT NOT NULL,
        phone TEXT,
        nightly_rates TEXT NOT NULL,
        total_cents INTEGER NOT NULL,
        pet_fee_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('held', 'released', 'confirmed')),
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        FOREIGN KEY (property_id, room_type) REFERENCES room_types(property_id, code)
    ) STRICT;
    CREATE INDEX holds_by_room ON holds(property_id, room_type, check_in);

    CREATE TABLE reservations (
        id TEXT PRIMARY KEY,
        property_id TEXT NOT NULL,
        room_type TEXT NOT NULL,
        hold_id TEXT UNIQUE REFERENCES holds(id),
        check_in TEXT NOT NULL,
        check_out TEXT NOT NULL,
        adults INTEGER NOT NULL,
        children INTEGER NOT NULL,
        pets INTEGER NOT NULL,
        guest_name TEXT NOT NULL,
        phone TEXT,
        nightly_rates TEXT NOT NULL,
        total_cents INTEGER NOT NULL,
        pet_fee_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
        created_at TEXT NOT NULL,
        FOREIGN KEY (property_id, room_type) REFERENCES room_types(property_id, code)
    ) STRICT;
    CREATE INDEX reservations_by_room ON reservations(property_id, room_type, check_in);
    CREATE INDEX reservations_by_phone ON reservations(phone);

    CREATE TABLE leads (
        id TEXT PRIMARY KEY,
        property_id TEXT NOT NULL REFERENCES properties(id),
        call_sid TEXT,
        name TEXT NOT NULL,
        phone TEXT,
        email TEXT,
        check_in TEXT,
        check_out TEXT,
        adults INTEGER,
        children INTEGER,
        room_type TEXT,
        notes TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX leads_by_property ON leads(property_id, created_at);
    CREATE INDEX leads_by_phone ON leads(phone);

    CREATE TABLE payment_links (
        token TEXT PRIMARY KEY,
        property_id TEXT NOT NULL REFERENCES properties(id),
        hold_id TEXT REFERENCES holds(id),
        amount_cents INTEGER NOT NULL,
        currency TEXT NOT NULL,
        description TEXT NOT NULL,
        url TEXT NOT NULL,
        provider TEXT NOT NULL,
        provider_id TEXT,
        status TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE sms_outbox (
        id TEXT PRIMARY KEY,
        property_id TEXT NOT NULL REFERENCES properties(id),
        call_sid TEXT,
        recipient TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL,
        provider_id TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX sms_by_property ON sms_outbox(property_id, created_at);

    CREATE TABLE callbacks (
        id TEXT PRIMARY KEY,
        property_id TEXT NOT NULL REFERENCES properties(id),
        call_sid TEXT,
        phone TEXT NOT NULL,
        due_at TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX callbacks_by_property ON callbacks(property_id, due_at);

    CREATE TABLE calls (
        call_sid TEXT PRIMARY KEY,
        property_id TEXT NOT NULL REFERENCES properties(id),
        caller TEXT NOT NULL,
        dialed TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        summary TEXT,
        end_reason TEXT,
        guest TEXT
    ) STRICT;
    CREATE INDEX calls_by_caller ON calls(caller, started_at);

    CREATE TABLE call_turns (
        call_sid TEXT NOT NULL REFERENCES calls(call_sid),
        seq INTEGER NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('caller', 'assistant', 'tool')),
        text TEXT NOT NULL,
        tool_name TEXT,
        tool_arguments TEXT,
        tool_result TEXT,
        at TEXT NOT NULL,
        PRIMARY KEY (call_sid, seq)
    ) STRICT;
    """,
)


class StoreError(Exception):
    """Something the store refuses: a newer schema, a closed store, an unusable hold."""


class StoreBusyError(StoreError):
    """The database stayed locked (another writer) for as long as the caller could wait;
    nothing was written."""


class DuplicateCallError(StoreError):
    """A call record already exists under that call_sid (a reused or replayed CallSid)."""


class NotFoundError(StoreError, LookupError):
    """No row with that id (hold, reservation, payment link, SMS, call or property)."""


class HoldError(StoreError):
    """A hold cannot be confirmed or released (expired, released, confirmed); relayable."""


class AvailabilityError(StoreError, ValueError):
    """A stay request that cannot be answered as asked; the message is safe to tell a caller."""


class SoldOutError(AvailabilityError):
    """No room of the requested type is free on some night of the stay."""


Night = tuple[dt.date, int]  # (the night starting on this date, its rate in cents)


@attrs.frozen
class RoomOffer:
    """One room type that is free for every night of a stay, priced."""

    room_type: str  # the room type's code
    name: str
    free_rooms: int  # the fewest free rooms on any night of the stay
    nightly_rates: tuple[Night, ...]
    total_cents: int  # the nights' rates summed
    pet_fee_cents: int  # the property's per-night pet fee × nights, 0 without pets
    grand_total_cents: int  # total_cents + pet_fee_cents
    currency: str


@attrs.frozen
class Availability:
    """What can be booked for a stay, and why the rest cannot (one sentence each)."""

    offers: tuple[RoomOffer, ...]
    reasons: tuple[str, ...]


@attrs.frozen
class Hold:
    """A room set aside until ``expires_at`` while the guest pays."""

    id: str
    property_id: str
    room_type: str
    check_in: dt.date
    check_out: dt.date
    adults: int
    children: int
    pets: bool
    guest_name: str
    phone: str | None
    nightly_rates: tuple[Night, ...]
    total_cents: int
    pet_fee_cents: int
    grand_total_cents: int
    currency: str
    status: str  # "held", "released" or "confirmed"; a "held" one may have expired
    created_at: dt.datetime
    expires_at: dt.datetime

    def is_active(self, now: dt.datetime) -> bool:
        """True while the hold takes a room: held and not yet expired at ``now``."""
        return self.status == "held" and now < self.expires_at


@attrs.frozen
class Reservation:
    id: str
    property_id: str
    room_type: str
    hold_id: str | None
    check_in: dt.date
    check_out: dt.date
    adults: int
    children: int
    pets: bool
    guest_name: str
    phone: str | None
    nightly_rates: tuple[Night, ...]
    total_cents: int
    pet_fee_cents: int
    grand_total_cents: int
    currency: str
    status: str  # "confirmed", "pending" or "cancelled"
    created_at: dt.datetime


@attrs.frozen
class Lead:
    """A caller's interest, kept for the sales team to follow up."""

    id: str
    property_id: str
    call_sid: str | None
    name: str
    phone: str | None
    email: str | None
    check_in: dt.date | None
    check_out: dt.date | None
    adults: int | None
    children: int | None
    room_type: str | None
    notes: str
    created_at: dt.datetime


@attrs.frozen
class PaymentLink:
    token: str
    property_id: str
    hold_id: str | None
    amount_cents: int
    currency: str
    description: str
    url: str
    provider: str  # "local" or "stripe"
    provider_id: str | None
    status: str  # "pending" when recorded; then whatever mark_payment_link set, e.g. "paid"
    expires_at: dt.datetime
    created_at: dt.datetime


@attrs.frozen
class SmsMessage:
    id: str
    property_id: str
    call_sid: str | None
    to: str
    body: str
    status: str  # "queued" when enqueued; then whatever update_sms set
    provider_id: str | None
    error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen
class Callback:
    id: str
    property_id: str
    call_sid: str | None
    phone: str
    when: dt.datetime
    reason: str
    status: str  # "pending"
    created_at: dt.datetime


@attrs.frozen
class CallTurn:
    seq: int  # 1, 2, … in the order the turns were added
    role: str  # "caller", "assistant" or "tool"
    text: str
    tool_name: str | None
    tool_arguments: str | None
    tool_result: str | None
    at: dt.datetime


@attrs.frozen
class CallRecord:
    call_sid: str
    property_id: str
    caller: str
    dialed: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    summary: str | None
    end_reason: str | None
    guest: Mapping[str, Any]  # a read-only view of the JSON object finish_call stored
    turns: tuple[CallTurn, ...]


@attrs.frozen
class CallerHistory:
    """What a call's start reads (:meth:`Store.call_start_reads`), from one snapshot."""

    call_exists: bool  # the CallSid already has a record
    reservations: tuple[Reservation, ...]
    leads: tuple[Lead, ...]
    latest_call: CallRecord | None


# What the call-record writer batches into :meth:`Store.write_call_records`.


@attrs.frozen
class CallStarted:
    call_sid: str
    property_id: str
    caller: str
    dialed: str
    at: dt.datetime


@attrs.frozen
class TurnAdded:
    call_sid: str
    role: str
    text: str
    at: dt.datetime
    tool_name: str | None = None
    tool_arguments: str | None = None
    tool_result: str | None = None


@attrs.frozen
class CallFinished:
    call_sid: str
    summary: str
    end_reason: str | None
    guest: Mapping[str, Any]
    at: dt.datetime


RecordWrite = CallStarted | TurnAdded | CallFinished


@attrs.frozen
class _Inventory:
    """The stored facts about a property that availability needs."""

    id: str
    name: str
    timezone: str
    currency: str
    pets_allowed: bool
    pet_fee_cents: int
    max_stay_nights: int
    booking_horizon_days: int
    hold_minutes: int
    room_types: tuple[RoomType, ...]

    def room_type(self, wanted: str) -> RoomType | None:
        key = wanted.strip().lower()
        for room in self.room_types:
            if key in (room.code.lower(), room.name.lower()):
                return room
        return None


@attrs.frozen
class _Refusal:
    """Why a room type cannot be had for a stay, in one sentence a caller may hear."""

    reason: str
    sold_out: bool = False


@attrs.frozen
class _Request:
    check_in: dt.date
    check_out: dt.date
    adults: int
    children: int
    pets: bool


class Store:
    """The hotel's SQLite store; every method may be called from any thread.

    Make one with :meth:`open`. Each method holds the store's lock for one short transaction,
    so callers on the event loop should go through :class:`AsyncStore` instead.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        """Wraps an already configured and migrated connection; use :meth:`open`."""
        self._conn: sqlite3.Connection | None = connection
        self._lock = threading.Lock()
        # Reads go through a second connection when there is one (a file database, in WAL
        # mode): a write waiting for another process's lock then holds up no read.
        self._reader: sqlite3.Connection | None = None
        self._read_lock = self._lock

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Opens (creating it and its directory if needed) and migrates the database at ``path``.

        Waits up to the busy timeout for another writer. Raises StoreError if the database was
        written by a newer hotelvoice (a schema version this code does not know).
        """
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL keeps committed transactions durable across a crash of this process at NORMAL.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn)
            reader = None if str(path) in ("", ":memory:") else _reader(path)
        except BaseException:
            conn.close()
            raise
        store = cls(conn)
        if reader is not None:
            store._reader, store._read_lock = reader, threading.Lock()
        return store

    def close(self) -> None:
        """Closes the connection; waits for a method running in another thread. Idempotent."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """How many migrations the database has had (its ``PRAGMA user_version``)."""
        with self._lock:
            return int(self._connection().execute("PRAGMA user_version").fetchone()[0])

    # --- properties and inventory

    def seed_property(self, prop: Property, start: dt.date) -> None:
        """Upserts ``prop``, its room types, and nightly rates for its horizon from ``start``.

        Idempotent: nights already present keep their rates (so published prices never change
        under a guest), missing nights are added; room type counts, occupancy and rate defaults
        follow ``prop``. Room types no longer in ``prop`` stop being offered but keep their
        bookings. Raises ValueError for a room type with a negative count.
        """
        for room in prop.room_types:
            if room.count < 0:
                raise ValueError(f"room type {room.code!r} has a negative count")
        nights = [start + dt.timedelta(days=i) for i in range(prop.booking_horizon_days)]
        with self._write() as conn:
            conn.execute(
                """
                INSERT INTO properties (id, name, timezone, currency, pets_allowed, pet_fee_cents,
                    max_stay_nights, booking_horizon_days, hold_minutes)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET name = excluded.name,
                    timezone = excluded.timezone, currency = excluded.currency,
                    pets_allowed = excluded.pets_allowed, pet_fee_cents = excluded.pet_fee_cents,
                    max_stay_nights = excluded.max_stay_nights,
                    booking_horizon_days = excluded.booking_horizon_days,
                    hold_minutes = excluded.hold_minutes
                """,
                (
                    prop.id,
                    prop.name,
                    prop.timezone,
                    prop.currency,
                    int(prop.pets_allowed),
                    prop.pet_fee_cents,
                    prop.max_stay_nights,
                    prop.booking_horizon_days,
                    prop.hold_minutes,
                ),
            )
            conn.execute("UPDATE room_types SET active = 0 WHERE property_id = ?", (prop.id,))
            for position, room in enumerate(prop.room_types):
                conn.execute(
                    """
                    INSERT INTO room_types (property_id, code, name, position, count, max_guests,
                        max_adults, nightly_rate_cents, weekend_rate_cents, pets_allowed,
                        description, active)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
                    ON CONFLICT (property_id, code) DO UPDATE SET name = excluded.name,
                        position = excluded.position, count = excluded.count,
                        max_guests = excluded.max_guests, max_adults = excluded.max_adults,
                        nightly_rate_cents = excluded.nightly_rate_cents,
                        weekend_rate_cents = excluded.weekend_rate_cents,
                        pets_allowed = excluded.pets_allowed,
                        description = excluded.description, active = 1
                    """,
                    (
                        prop.id,
                        room.code,
                        room.name,
                        position,
                        room.count,
                        room.max_guests,
                        room.max_adults,
                        room.nightly_rate_cents,
                        room.weekend_rate_cents,
                        int(room.pets_allowed),
                        room.description,
                    ),
                )
                conn.executemany(
                    """
                    INSERT OR IGNORE INTO nightly_rates (property_id, room_type, night, rate_cents)
                    VALUES (?, ?, ?, ?)
                    """,
                    [
                        (prop.id, room.code, night.isoformat(), room.rate_for(night))
                        for night in nights
                    ],
                )

    # --- availability, holds and reservations

    def availability(
        self,
        property_id: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int = 0,
        pets: bool = False,
        room_type: str | None = None,
        *,
        now: dt.datetime,
        today: dt.date | None = None,
    ) -> Availability:
        """The room types free for every night of the stay, with prices; reasons for the rest.

        ``room_type`` (a code or name, any case) narrows the answer to one type. ``today`` is
        the property's local date (default: ``now`` in the property's time zone); ``now``
        decides which holds have expired. Raises AvailabilityError for an invalid request.
        """
        request = _Request(check_in, check_out, adults, children, pets)
        with self._read() as conn:
            inventory = _inventory(conn, property_id)
            rooms = _validate(inventory, request, room_type, now, today)
            offers: list[RoomOffer] = []
            reasons: list[str] = []
            for room in rooms:
                offer = _quote(conn, inventory, room, request, now)
                if isinstance(offer, RoomOffer):
                    offers.append(offer)
                elif offer.reason not in reasons:
                    reasons.append(offer.reason)
        return Availability(tuple(offers), tuple(reasons))

    def hold_room(
        self,
        property_id: str,
        room_type: str,
        check_in: dt.date,
        check_out: dt.date,
        adults: int,
        children: int = 0,
        pets: bool = False,
        *,
        guest_name: str,
        phone: str | None,
        now: dt.datetime,
        minutes: int | None = None,
        today: dt.date | None = None,
    ) -> Hold:
        """Sets a room aside for ``minutes`` (default: the property's hold_minutes) at its price.

        Availability is checked again inside the write transaction, so holds and reservations
        never outnumber the rooms on any night, whichever threads or processes race. Raises
        SoldOutError if a night has no free room, AvailabilityError for any other reason the
        room cannot be had (the message says why).
        """
        if minutes is not None and minutes <= 0:
            raise ValueError("a hold must last at least a minute")
        request = _Request(check_in, check_out, adults, children, pets)
        with self._write() as conn:
            inventory = _inventory(conn, property_id)
            (room,) = _validate(inventory, request, room_type, now, today)
            offer = _quote(conn, inventory, room, request, now)
            if isinstance(offer, _Refusal):
                raise (SoldOutError if offer.sold_out else AvailabilityError)(offer.reason)
            hold_id = new_id("hold")
            expires_at = now + dt.timedelta(
                minutes=inventory.hold_minutes if minutes is None else minutes
            )
            conn.execute(
                """
                INSERT INTO holds (id, property_id, room_type, check_in, check_out, adults,
                    children, pets, guest_name, phone, nightly_rates, total_cents, pet_fee_cents,
                    currency, status, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'held', ?, ?)
                """,
                (
                    hold_id,
                    property_id,
                    room.code,
                    check_in.isoformat(),
                    check_out.isoformat(),
                    adults,
                    children,
                    int(pets),
                    guest_name,
                    phone,
                    _nights_json(offer.nightly_rates),
                    offer.total_cents,
                    offer.pet_fee_cents,
                    offer.currency,
                    _ts(now),
                    _ts(expires_at),
                ),
            )
            return _hold(_one(conn, "hold", "SELECT * FROM holds WHERE id = ?", hold_id))

    def get_hold(self, hold_id: str) -> Hold | None:
        """The hold with this id, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM holds WHERE id = ?", (hold_id,)).fetchone()
        return None if row is None else _hold(row)

    def release_hold(self, hold_id: str) -> Hold:
        """Gives a held room back. Idempotent for a released hold; releasing an expired hold
        just records it. Raises NotFoundError for an unknown id, HoldError if it was confirmed.
        """
        with self._write() as conn:
            hold = _hold(_one(conn, "hold", "SELECT * FROM holds WHERE id = ?", hold_id))
            if hold.status == "confirmed":
                raise HoldError("That hold has already been turned into a reservation.")
            conn.execute("UPDATE holds SET status = 'released' WHERE id = ?", (hold_id,))
            return attrs.evolve(hold, status="released")

    def confirm_hold(self, hold_id: str, *, now: dt.datetime) -> Reservation:
        """Turns a hold still active at ``now`` into a confirmed reservation at the held price.

        Idempotent: confirming a confirmed hold again (a repeated payment webhook) returns the
        same reservation. Raises NotFoundError for an unknown id and HoldError if the hold was
        released or expired (its room may have gone to someone else).
        """
        with self._write() as conn:
            hold = _hold(_one(conn, "hold", "SELECT * FROM holds WHERE id = ?", hold_id))
            if hold.status == "confirmed":
                return _reservation(
                    _one(
                        conn, "reservation", "SELECT * FROM reservations WHERE hold_id = ?", hold_id
                    )
                )
            if hold.status == "released":
                raise HoldError("That hold was released, so the room is no longer set aside.")
            if not hold.is_active(now):
                raise HoldError(
                    f"That hold expired at {_ts(hold.expires_at)}, so the room is no longer "
                    "set aside."
                )
            reservation_id = new_id("res")
            conn.execute(
                """
                INSERT INTO reservations (id, property_id, room_type, hold_id, check_in,
                    check_out, adults, children, pets, guest_name, phone, nightly_rates,
                    total_cents, pet_fee_cents, currency, status, created_at)
                SELECT ?, property_id, room_type, id, check_in, check_out, adults, children,
                    pets, guest_name, phone, nightly_rates, total_cents, pet_fee_cents, currency,
                    'confirmed', ?
                FROM holds WHERE id = ?
                """,
                (reservation_id, _ts(now), hold_id),
            )
            conn.execute("UPDATE holds SET status = 'confirmed' WHERE id = ?", (hold_id,))
            return _reservation(
                _one(conn, "reservation", "SELECT * FROM reservations WHERE id = ?", reservation_id)
            )

    def cancel_reservation(self, reservation_id: str) -> Reservation:
        """Frees a reservation's room. Idempotent. Raises NotFoundError for an unknown id."""
        with self._write() as conn:
            row = _one(
                conn, "reservation", "SELECT * FROM reservations WHERE id = ?", reservation_id
            )
            conn.execute(
                "UPDATE reservations SET status = 'cancelled' WHERE id = ?", (reservation_id,)
            )
            return attrs.evolve(_reservation(row), status="cancelled")

    def get_reservation(self, reservation_id: str) -> Reservation | None:
        """The reservation with this id, or None."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT * FROM reservations WHERE id = ?", (reservation_id,)
            ).fetchone()
        return None if row is None else _reservation(row)

    def reservations_for_phone(self, phone: str) -> tuple[Reservation, ...]:
        """Every reservation (any property, any status) made for ``phone``, by check-in date."""
        with self._read() as conn:
            return _reservations_for_phone(conn, phone)

    # --- leads

    def create_lead(
        self,
        property_id: str,
        *,
        call_sid: str | None,
        name: str,
        phone: str | None,
        email: str | None,
        check_in: dt.date | None,
        check_out: dt.date | None,
        adults: int | None,
        children: int | None,
        room_type: str | None,
        notes: str,
        now: dt.datetime,
    ) -> Lead:
        """Records a lead. Raises NotFoundError for an unknown property."""
        lead_id = new_id("lead")
        with self._write() as conn:
            _require_property(conn, property_id)
            conn.execute(
                """
                INSERT INTO leads (id, property_id, call_sid, name, phone, email, check_in,
                    check_out, adults, children, room_type, notes, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                (
                    lead_id,
                    property_id,
                    call_sid,
                    name,
                    phone,
                    email,
                    _opt_date(check_in),
                    _opt_date(check_out),
                    adults,
                    children,
                    room_type,
                    notes,
                    _ts(now),
                ),
            )
            return _lead(_one(conn, "lead", "SELECT * FROM leads WHERE id = ?", lead_id))

    def leads(self, property_id: str) -> tuple[Lead, ...]:
        """The property's leads, oldest first."""
        return self._select(
            _lead, "SELECT * FROM leads WHERE property_id = ? ORDER BY created_at, id", property_id
        )

    def leads_for_phone(self, phone: str) -> tuple[Lead, ...]:
        """Leads (any property) left with ``phone``, oldest first."""
        with self._read() as conn:
            return _leads_for_phone(conn, phone)

    # --- payment links

    def record_payment_link(
        self,
        *,
        token: str,
        property_id: str,
        hold_id: str | None,
        amount_cents: int,
        currency: str,
        description: str,
        url: str,
        provider: str,
        provider_id: str | None,
        expires_at: dt.datetime,
        now: dt.datetime,
    ) -> PaymentLink:
        """Records a link made by a payment provider, status "pending".

        Raises ValueError for an unknown provider or a non-positive amount, NotFoundError for
        an unknown property or hold, StoreError if the token is already recorded.
        """
        if provider not in PAYMENT_PROVIDERS:
            raise ValueError(f"unknown payment provider {provider!r}")
        if amount_cents <= 0:
            raise ValueError("a payment link's amount must be positive")
        with self._write() as conn:
            _require_property(conn, property_id)
            if hold_id is not None:
                _one(conn, "hold", "SELECT id FROM holds WHERE id = ?", hold_id)
            try:
                conn.execute(
                    """
                    INSERT INTO payment_links (token, property_id, hold_id, amount_cents,
                        currency, description, url, provider, provider_id, status, expires_at,
                        created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)
                    """,
                    (
                        token,
                        property_id,
                        hold_id,
                        amount_cents,
                        currency,
                        description,
                        url,
                        provider,
                        provider_id,
                        _ts(expires_at),
                        _ts(now),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError("that payment link token is already recorded") from exc
            return _from_row(
                PaymentLink,
                _one(conn, "payment link", "SELECT * FROM payment_links WHERE token = ?", token),
            )

    def payment_link(self, token: str) -> PaymentLink | None:
        """The link recorded under ``token``, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM payment_links WHERE token = ?", (token,)).fetchone()
        return None if row is None else _from_row(PaymentLink, row)

    def mark_payment_link(self, token: str, status: str) -> PaymentLink:
        """Sets a link's status (e.g. "paid", "expired"). Raises NotFoundError, ValueError."""
        if not status:
            raise ValueError("a payment link status must not be empty")
        with self._write() as conn:
            row = _one(conn, "payment link", "SELECT * FROM payment_links WHERE token = ?", token)
            conn.execute("UPDATE payment_links SET status = ? WHERE token = ?", (status, token))
            return attrs.evolve(_from_row(PaymentLink, row), status=status)

    # --- SMS outbox

    def enqueue_sms(
        self,
        *,
        property_id: str,
        call_sid: str | None,
        to: str,
        body: str,
        now: dt.datetime,
    ) -> SmsMessage:
        """Queues a text for the sender, status "queued". Raises NotFoundError for the property."""
        sms_id = new_id("sms")
        with self._write() as conn:
            _require_property(conn, property_id)
            conn.execute(
                """
                INSERT INTO sms_outbox (id, property_id, call_sid, recipient, body, status,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
                """,
                (sms_id, property_id, call_sid, to, body, _ts(now), _ts(now)),
            )
            return _sms(_one(conn, "SMS", "SELECT * FROM sms_outbox WHERE id = ?", sms_id))

    def update_sms(
        self,
        sms_id: str,
        *,
        status: str,
        provider_id: str | None = None,
        error: str | None = None,
        now: dt.datetime,
    ) -> SmsMessage:
        """Records a delivery step; a None ``provider_id`` or ``error`` keeps the stored one.

        Raises NotFoundError for an unknown id, ValueError for an empty status.
        """
        if not status:
            raise ValueError("an SMS status must not be empty")
        with self._write() as conn:
            _one(conn, "SMS", "SELECT id FROM sms_outbox WHERE id = ?", sms_id)
            conn.execute(
                """
                UPDATE sms_outbox SET status = ?, provider_id = coalesce(?, provider_id),
                    error = coalesce(?, error), updated_at = ?
                WHERE id = ?
                """,
                (status, provider_id, error, _ts(now), sms_id),
            )
            return _sms(_one(conn, "SMS", "SELECT * FROM sms_outbox WHERE id = ?", sms_id))

    def sms_outbox(self, property_id: str, *, status: str | None = None) -> tuple[SmsMessage, ...]:
        """The property's texts (only those with ``status``, if given), oldest first."""
        if status is None:
            return self._select(
                _sms,
                "SELECT * FROM sms_outbox WHERE property_id = ? ORDER BY created_at, id",
                property_id,
            )
        return self._select(
            _sms,
            "SELECT * FROM sms_outbox WHERE property_id = ? AND status = ? ORDER BY created_at, id",
            property_id,
            status,
        )

    # --- callbacks

    def create_callback(
        self,
        *,
        property_id: str,
        call_sid: str | None,
        phone: str,
        when: dt.datetime,
        reason: str,
        now: dt.datetime,
    ) -> Callback:
        """Schedules a call back to ``phone`` at ``when`` (aware).

        Raises NotFoundError for an unknown property, ValueError for a naive ``when``.
        """
        callback_id = new_id("cb")
        with self._write() as conn:
            _require_property(conn, property_id)
            conn.execute(
                """
                INSERT INTO callbacks (id, property_id, call_sid, phone, due_at, reason, status,
                    created_at)
                VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)
                """,
                (callback_id, property_id, call_sid, phone, _ts(when), reason, _ts(now)),
            )
            return _callback(
                _one(conn, "callback", "SELECT * FROM callbacks WHERE id = ?", callback_id)
            )

    def callbacks(self, property_id: str) -> tuple[Callback, ...]:
        """The property's callbacks, soonest first."""
        return self._select(
            _callback,
            "SELECT * FROM callbacks WHERE property_id = ? ORDER BY due_at, created_at, id",
            property_id,
        )

    # --- calls

    def start_call(
        self, *, call_sid: str, property_id: str, caller: str, dialed: str, now: dt.datetime
    ) -> None:
        """Records a call's start.

        Raises DuplicateCallError if ``call_sid`` already has a record (a reused CallSid must
        not add to another call's record), NotFoundError for an unknown property.
        """
        with self._write() as conn:
            _start_call(conn, CallStarted(call_sid, property_id, caller, dialed, now))

    def call_exists(self, call_sid: str) -> bool:
        """Whether ``call_sid`` has a call record (a read: not blocked by another writer)."""
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM calls WHERE call_sid = ?", (call_sid,)).fetchone()
        return row is not None

    def add_turn(
        self,
        call_sid: str,
        *,
        role: str,
        text: str,
        tool_name: str | None = None,
        tool_arguments: str | None = None,
        tool_result: str | None = None,
        now: dt.datetime,
    ) -> CallTurn:
        """Appends a turn to a started call. Raises NotFoundError, ValueError for the role."""
        with self._write() as conn:
            turn = TurnAdded(call_sid, role, text, now, tool_name, tool_arguments, tool_result)
            return _add_turn(conn, turn)

    def finish_call(
        self,
        call_sid: str,
        *,
        summary: str,
        end_reason: str | None,
        guest: Mapping[str, Any],
        now: dt.datetime,
    ) -> None:
        """Records how a started call ended and what was learnt about the guest (as JSON).

        Values JSON cannot hold are stored as their ``str()``. Calling it again overwrites.
        Raises NotFoundError for an unknown call.
        """
        with self._write() as conn:
            _finish_call(conn, CallFinished(call_sid, summary, end_reason, guest, now))

    def write_call_records(
        self, writes: Sequence[RecordWrite]
    ) -> tuple[tuple[RecordWrite, str], ...]:
        """Writes a batch of call-record changes in order, in one transaction.

        Each change has its own savepoint: one that cannot be written (a duplicate call, an
        unknown call or property, a bad role) is left out and returned with its reason, and so
        is every later change to a call whose start was refused. Raises StoreBusyError (nothing
        written) when the database stayed locked for the whole wait.
        """
        refused: list[tuple[RecordWrite, str]] = []
        refused_calls: set[str] = set()
        with self._write() as conn:
            for write in writes:
                if write.call_sid in refused_calls:
                    refused.append((write, "the call's record was refused"))
                    continue
                conn.execute("SAVEPOINT record_write")
                try:
                    if isinstance(write, CallStarted):
                        _start_call(conn, write)
                    elif isinstance(write, TurnAdded):
                        _add_turn(conn, write)
                    else:
                        _finish_call(conn, write)
                except (StoreError, ValueError, sqlite3.IntegrityError) as exc:
                    if isinstance(exc, StoreBusyError):
                        raise
                    conn.execute("ROLLBACK TO record_write")
                    refused.append((write, str(exc)))
                    if isinstance(write, CallStarted):
                        refused_calls.add(write.call_sid)
                finally:
                    conn.execute("RELEASE record_write")
        return tuple(refused)

    def close_interrupted_calls(self, *, reason: str, now: dt.datetime) -> tuple[str, ...]:
        """Ends every call still open (no ``ended_at``) with ``reason``; returns their sids.

        For start-up after a crash: it assumes one hotelvoice instance per database, since a
        live call of another instance would be closed too.
        """
        with self._write() as conn:
            rows = conn.execute(
                "SELECT call_sid FROM calls WHERE ended_at IS NULL ORDER BY started_at, call_sid"
            ).fetchall()
            conn.execute(
                "UPDATE calls SET ended_at = ?, end_reason = ? WHERE ended_at IS NULL",
                (_ts(now), reason),
            )
        return tuple(row["call_sid"] for row in rows)

    def call_record(self, call_sid: str) -> CallRecord | None:
        """The call with its turns in order, or None."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM calls WHERE call_sid = ?", (call_sid,)).fetchone()
            return None if row is None else _call_record(conn, row)

    def calls_for_phone(self, phone: str, *, limit: int = 10) -> tuple[CallRecord, ...]:
        """The latest ``limit`` calls from ``phone`` (any property), most recent first."""
        with self._read() as conn:
            return _calls_for_phone(conn, phone, limit)

    def call_start_reads(self, call_sid: str, phone: str | None) -> CallerHistory:
        """Whether ``call_sid`` has a record, and ``phone``'s reservations, leads and latest
        call (none without a phone): what starting a call reads, in one read transaction, so
        a call's start is one trip to the store's thread, not four (at a burst of calls the
        reads queue on one thread; see docs/architecture.md, Capacity)."""
        with self._read() as conn:
            exists = conn.execute("SELECT 1 FROM calls WHERE call_sid = ?", (call_sid,))
            call_exists = exists.fetchone() is not None
            if call_exists or not phone:
                return CallerHistory(call_exists, (), (), None)
            calls = _calls_for_phone(conn, phone, 1)
            return CallerHistory(
                call_exists,
                _reservations_for_phone(conn, phone),
                _leads_for_phone(conn, phone),
                calls[0] if calls else None,
            )

    # --- plumbing

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the store is closed")
        return self._conn

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes SQLite's write lock up front, so a read-check-write (a hold) cannot
        # interleave with another connection's; the thread lock does the same within this one.
        with _holding(self._lock):
            conn = self._connection()
            _begin(conn, "BEGIN IMMEDIATE")
            with _commit_or_rollback(conn):
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        # One read transaction, so a multi-query answer comes from a single snapshot.
        with _holding(self._read_lock):
            conn = self._reader if self._reader is not None else self._connection()
            _begin(conn, "BEGIN DEFERRED")
            with _commit_or_rollback(conn):
                yield conn

    def _select(
        self, convert: Callable[[sqlite3.Row], _T], sql: str, *params: object
    ) -> tuple[_T, ...]:
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return tuple(convert(row) for row in rows)


class _InThread(Generic[_P, _R]):
    """An AsyncStore method: the Store method of the same name, run in a worker thread.

    It waits for the database at most until the caller's deadline (the innermost cancel
    scope's): a write that could not start by then raises nothing to the caller but the
    deadline's own cancellation, and wrote nothing. A read (``reads=True``) is also abandoned
    to its thread when cancelled, since it changes nothing.
    """

    def __init__(
        self, method: Callable[Concatenate[Store, _P], _R], *, reads: bool = False
    ) -> None:
        self._method = method
        self._reads = reads
        self.__doc__ = method.__doc__

    def __set_name__(self, owner: type[Any], name: str) -> None:
        # The call dispatches by attribute name: catch `leads = _InThread(Store.callbacks)`.
        if name != self._method.__name__:
            raise TypeError(f"{owner.__name__}.{name} wraps Store.{self._method.__name__}")
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, instance: AsyncStore, owner: type[Any]) -> Callable[_P, Awaitable[_R]]: ...

    def __get__(
        self, instance: AsyncStore | None, owner: type[Any]
    ) -> Self | Callable[_P, Awaitable[_R]]:
        if instance is None:
            return self
        # Looked up by name on the instance, so a Store subclass's override is what runs;
        # self._method only carries the signature for type checkers.
        method: Callable[_P, _R] = getattr(instance.sync, self._name)
        reads = self._reads
        limiter = instance.read_limiter if reads else instance.limiter

        async def in_thread(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            deadline = trio.current_effective_deadline()
            wait = None if deadline == math.inf else max(deadline - trio.current_time(), 0.0)

            def run() -> _R:
                with waiting_at_most(wait):
                    return method(*args, **kwargs)

            try:
                # A write is not abandoned: once started it finishes, and what it did is
                # known. It cannot overrun the deadline by much, since its waits end there.
                return await trio.to_thread.run_sync(run, limiter=limiter, abandon_on_cancel=reads)
            except StoreBusyError:
                if wait is None:
                    raise
                # The wait ended with the caller's deadline: let that deadline say so.
                await trio.sleep_until(deadline)
                raise

        in_thread.__name__ = in_thread.__qualname__ = self._name
        in_thread.__doc__ = self.__doc__
        return in_thread


class AsyncStore:
    """:class:`Store`'s methods as coroutines, each run in a worker thread.

    Writes queue on one ``trio.CapacityLimiter`` (the store serialises them anyway), so a
    burst of calls occupies one worker thread and a cancelled caller that is still queued
    never touches the database; reads queue on another, so a write waiting for a locked
    database holds up no read. Every call waits for SQLite at most until its caller's deadline
    (see :class:`_InThread`). Make one with :meth:`open` or around a Store.
    """

    def __init__(self, store: Store) -> None:
        self.sync = store  # for startup code that is allowed to block, e.g. seeding
        self.limiter = trio.CapacityLimiter(1)
        self.read_limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> AsyncStore:
        """Waits for :meth:`Store.open` in a worker thread. Raises StoreError like it."""
        return cls(await trio.to_thread.run_sync(Store.open, path))

    async def aclose(self) -> None:
        """Waits for queued calls, then closes the store."""
        async with self.read_limiter:
            await trio.to_thread.run_sync(self.sync.close, limiter=self.limiter)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    seed_property = _InThread(Store.seed_property)
    availability = _InThread(Store.availability, reads=True)
    hold_room = _InThread(Store.hold_room)
    get_hold = _InThread(Store.get_hold, reads=True)
    release_hold = _InThread(Store.release_hold)
    confirm_hold = _InThread(Store.confirm_hold)
    cancel_reservation = _InThread(Store.cancel_reservation)
    get_reservation = _InThread(Store.get_reservation, reads=True)
    reservations_for_phone = _InThread(Store.reservations_for_phone, reads=True)
    create_lead = _InThread(Store.create_lead)
    leads = _InThread(Store.leads, reads=True)
    leads_for_phone = _InThread(Store.leads_for_phone, reads=True)
    record_payment_link = _InThread(Store.record_payment_link)
    payment_link = _InThread(Store.payment_link, reads=True)
    mark_payment_link = _InThread(Store.mark_payment_link)
    enqueue_sms = _InThread(Store.enqueue_sms)
    update_sms = _InThread(Store.update_sms)
    sms_outbox = _InThread(Store.sms_outbox, reads=True)
    create_callback = _InThread(Store.create_callback)
    callbacks = _InThread(Store.callbacks, reads=True)
    start_call = _InThread(Store.start_call)
    call_exists = _InThread(Store.call_exists, reads=True)
    add_turn = _InThread(Store.add_turn)
    finish_call = _InThread(Store.finish_call)
    write_call_records = _InThread(Store.write_call_records)
    close_interrupted_calls = _InThread(Store.close_interrupted_calls)
    call_record = _InThread(Store.call_record, reads=True)
    calls_for_phone = _InThread(Store.calls_for_phone, reads=True)
    call_start_reads = _InThread(Store.call_start_reads, reads=True)


# --- migrations


def _migrate(conn: sqlite3.Connection) -> None:
    # One IMMEDIATE transaction for the check and every step: two processes opening a new
    # file at once cannot both migrate it, and a failed step leaves the previous version.
    conn.execute("BEGIN IMMEDIATE")
    with _commit_or_rollback(conn):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StoreError(
                f"the database has schema version {version} but this hotelvoice knows only "
                f"up to {len(MIGRATIONS)}; upgrade hotelvoice or use another database file"
            )
        for number in range(version, len(MIGRATIONS)):
            for statement in _statements(MIGRATIONS[number]):
                conn.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer.
            conn.execute(f"PRAGMA user_version = {number + 1}")


def _statements(script: str) -> Iterator[str]:
    # executescript() would commit our open transaction first, so run statement by statement.
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n\t;"):
                yield pending.strip()
            pending = ""


@contextlib.contextmanager
def _commit_or_rollback(conn: sqlite3.Connection) -> Iterator[None]:
    try:
        yield
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if _is_busy(exc):
            raise StoreBusyError("the database is locked by another writer") from exc
        raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# --- waiting: how long a store method may wait for the store's lock and SQLite's

_waits = threading.local()


@contextlib.contextmanager
def waiting_at_most(seconds: float | None) -> Iterator[None]:
    """On this thread, store methods in the block wait at most ``seconds`` in all (for the
    store's lock, then SQLite's busy lock) before raising StoreBusyError; None: the default
    busy timeout for each."""
    previous = getattr(_waits, "until", None)
    _waits.until = None if seconds is None else time.monotonic() + max(seconds, 0.0)
    try:
        yield
    finally:
        _waits.until = previous


def _wait_left() -> float:
    until: float | None = getattr(_waits, "until", None)
    if until is None:
        return BUSY_TIMEOUT_MS / 1000
    return max(until - time.monotonic(), 0.0)


@contextlib.contextmanager
def _holding(lock: threading.Lock) -> Iterator[None]:
    if not lock.acquire(timeout=_wait_left()):
        raise StoreBusyError("the store is busy with another write")
    try:
        yield
    finally:
        lock.release()


def _begin(conn: sqlite3.Connection, statement: str) -> None:
    # The busy timeout is the connection's; each transaction sets what its caller has left.
    conn.execute(f"PRAGMA busy_timeout = {int(_wait_left() * 1000)}")
    try:
        conn.execute(statement)
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            raise StoreBusyError("the database is locked by another writer") from exc
        raise


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _reader(path: str | os.PathLike[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        # A first read opens the WAL now, not during the first call that reads: the process's
        # descriptors are then what they will stay (the soak checks they come back).
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


# --- availability


def _inventory(conn: sqlite3.Connection, property_id: str) -> _Inventory:
    row = conn.execute("SELECT * FROM properties WHERE id = ?", (property_id,)).fetchone()
    if row is None:
        raise AvailabilityError(f"There is no hotel {property_id!r} in the store.")
    rooms = conn.execute(
        "SELECT * FROM room_types WHERE property_id = ? AND active = 1 ORDER BY position",
        (property_id,),
    ).fetchall()
    return _Inventory(
        id=row["id"],
        name=row["name"],
        timezone=row["timezone"],
        currency=row["currency"],
        pets_allowed=bool(row["pets_allowed"]),
        pet_fee_cents=row["pet_fee_cents"],
        max_stay_nights=row["max_stay_nights"],
        booking_horizon_days=row["booking_horizon_days"],
        hold_minutes=row["hold_minutes"],
        room_types=tuple(
            RoomType(
                code=room["code"],
                name=room["name"],
                count=room["count"],
                max_guests=room["max_guests"],
                nightly_rate_cents=room["nightly_rate_cents"],
                weekend_rate_cents=room["weekend_rate_cents"],
                max_adults=room["max_adults"],
                description=room["description"],
                pets_allowed=bool(room["pets_allowed"]),
            )
            for room in rooms
        ),
    )


def _validate(
    inventory: _Inventory,
    request: _Request,
    room_type: str | None,
    now: dt.datetime,
    today: dt.date | None,
) -> tuple[RoomType, ...]:
    """The room types to consider. Raises AvailabilityError for an invalid request."""
    _ts(now)  # an aware instant, or ValueError
    if today is None:
        today = now.astimezone(ZoneInfo(inventory.timezone)).date()
    if room_type is None:
        rooms = inventory.room_types
    else:
        room = inventory.room_type(room_type)
        if room is None:
            known = ", ".join(f"{r.name} ({r.code})" for r in inventory.room_types)
            raise AvailabilityError(
                f"There is no room type {room_type!r}; the room types are: {known}."
            )
        rooms = (room,)
    if request.adults < 1:
        raise AvailabilityError("At least one adult must stay in the room.")
    if request.children < 0:
        raise AvailabilityError("The number of children cannot be negative.")
    if request.check_out <= request.check_in:
        raise AvailabilityError("Check-out must be at least one day after check-in.")
    if request.check_in < today:
        raise AvailabilityError(f"Check-in on {request.check_in} is in the past; today is {today}.")
    nights = (request.check_out - request.check_in).days
    if nights > inventory.max_stay_nights:
        raise AvailabilityError(
            f"Stays are limited to {inventory.max_stay_nights} nights; this one is {nights}."
        )
    last_check_out = today + dt.timedelta(days=inventory.booking_horizon_days)
    if request.check_out > last_check_out:
        raise AvailabilityError(
            f"Rooms can be booked up to {inventory.booking_horizon_days} days ahead, so "
            f"check-out must be on or before {last_check_out}."
        )
    return rooms


def _quote(
    conn: sqlite3.Connection,
    inventory: _Inventory,
    room: RoomType,
    request: _Request,
    now: dt.datetime,
) -> RoomOffer | _Refusal:
    """The offer for ``room``, or why there is none."""
    if not room.fits(request.adults, request.children):
        if request.adults + request.children > room.max_guests:
            return _Refusal(f"The {room.name} sleeps at most {room.max_guests} guests.")
        return _Refusal(f"The {room.name} takes at most {room.max_adults} adults.")
    if request.pets and not inventory.pets_allowed:
        return _Refusal(f"Pets are not allowed at {inventory.name}.")
    if request.pets and not room.pets_allowed:
        return _Refusal(f"Pets are not allowed in the {room.name}.")
    rows = conn.execute(
        """
        SELECT n.night, n.rate_cents,
            (SELECT count(*) FROM reservations r
                WHERE r.property_id = n.property_id AND r.room_type = n.room_type
                AND r.status IN (?, ?) AND r.check_in <= n.night AND r.check_out > n.night)
            + (SELECT count(*) FROM holds h
                WHERE h.property_id = n.property_id AND h.room_type = n.room_type
                AND h.status = 'held' AND h.expires_at > ?
                AND h.check_in <= n.night AND h.check_out > n.night) AS taken
        FROM nightly_rates n
        WHERE n.property_id = ? AND n.room_type = ? AND n.night >= ? AND n.night < ?
        ORDER BY n.night
        """,
        (
            *BOOKED_STATUSES,
            _ts(now),
            inventory.id,
            room.code,
            request.check_in.isoformat(),
            request.check_out.isoformat(),
        ),
    ).fetchall()
    priced = {dt.date.fromisoformat(row["night"]): row for row in rows}
    stay = [
        request.check_in + dt.timedelta(days=i)
        for i in range((request.check_out - request.check_in).days)
    ]
    unpriced = [night for night in stay if night not in priced]
    if unpriced:
        (last,) = conn.execute(
            "SELECT max(night) FROM nightly_rates WHERE property_id = ? AND room_type = ?",
            (inventory.id, room.code),
        ).fetchone()
        if last is not None and all(night.isoformat() > last for night in unpriced):
            return _Refusal(f"No rates are published for nights after {last}.")
        return _Refusal(f"No rates are published for {_nights_phrase(unpriced)}.")
    free = {night: room.count - int(priced[night]["taken"]) for night in stay}
    sold_out = [night for night in stay if free[night] <= 0]
    if sold_out:
        return _Refusal(
            f"The {room.name} is sold out on {_nights_phrase(sold_out)}.", sold_out=True
        )
    nightly = tuple((night, int(priced[night]["rate_cents"])) for night in stay)
    total = sum(rate for _, rate in nightly)
    pet_fee = inventory.pet_fee_cents * len(stay) if request.pets else 0
    return RoomOffer(
        room_type=room.code,
        name=room.name,
        free_rooms=min(free.values()),
        nightly_rates=nightly,
        total_cents=total,
        pet_fee_cents=pet_fee,
        grand_total_cents=total + pet_fee,
        currency=inventory.currency,
    )


def _nights_phrase(nights: Sequence[dt.date], shown: int = 3) -> str:
    """``2026-12-24``, ``2026-12-24 and 2026-12-25``, ``… and 4 other nights``."""
    names = [night.isoformat() for night in nights[:shown]]
    rest = len(nights) - len(names)
    if rest:
        return f"{', '.join(names)} and {rest} other night{'s' if rest > 1 else ''}"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


# --- rows to values


def _ts(moment: dt.datetime) -> str:
    """``moment`` as fixed-width ISO UTC text. Raises ValueError if it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _from_ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _opt_ts(text: str | None) -> dt.datetime | None:
    return None if text is None else _from_ts(text)


def _opt_date(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _from_opt_date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _nights_json(nights: Sequence[Night]) -> str:
    return json.dumps([[night.isoformat(), rate] for night, rate in nights])


def _nights_from_json(text: str) -> tuple[Night, ...]:
    return tuple((dt.date.fromisoformat(night), int(rate)) for night, rate in json.loads(text))


def _one(conn: sqlite3.Connection, what: str, sql: str, *params: object) -> sqlite3.Row:
    """The single row ``sql`` selects. Raises NotFoundError naming ``what`` if there is none."""
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    if row is None:
        raise NotFoundError(f"unknown {what} {params[0]!r}")
    return row


def _require_property(conn: sqlite3.Connection, property_id: str) -> None:
    if conn.execute("SELECT 1 FROM properties WHERE id = ?", (property_id,)).fetchone() is None:
        raise NotFoundError(f"unknown property {property_id!r}")


# How a column's text becomes a record field, by the field's type; other types pass through.
_FROM_SQL: dict[object, Callable[[Any], Any]] = {
    dt.date: dt.date.fromisoformat,
    dt.date | None: _from_opt_date,
    dt.datetime: _from_ts,
    dt.datetime | None: _opt_ts,
    bool: bool,
    tuple[Night, ...]: _nights_from_json,
}


def _from_row(cls: type[_Record], row: sqlite3.Row, **given: Any) -> _Record:
    """The record ``cls`` from its table ``row``: each field from the column of its name,
    decoded by its type; fields in ``given`` are not read from the row."""
    values = dict(given)
    for field in attrs.fields(attrs.resolve_types(cls)):  # resolved once per class
        if field.name not in values:
            decode = _FROM_SQL.get(field.type)
            values[field.name] = row[field.name] if decode is None else decode(row[field.name])
    return cls(**values)


def _hold(row: sqlite3.Row) -> Hold:
    return _from_row(Hold, row, grand_total_cents=row["total_cents"] + row["pet_fee_cents"])


def _reservations_for_phone(conn: sqlite3.Connection, phone: str) -> tuple[Reservation, ...]:
    rows = conn.execute(
        "SELECT * FROM reservations WHERE phone = ? ORDER BY check_in, created_at, id", (phone,)
    ).fetchall()
    return tuple(_reservation(row) for row in rows)


def _leads_for_phone(conn: sqlite3.Connection, phone: str) -> tuple[Lead, ...]:
    rows = conn.execute(
        "SELECT * FROM leads WHERE phone = ? ORDER BY created_at, id", (phone,)
    ).fetchall()
    return tuple(_lead(row) for row in rows)


def _calls_for_phone(conn: sqlite3.Connection, phone: str, limit: int) -> tuple[CallRecord, ...]:
    rows = conn.execute(
        "SELECT * FROM calls WHERE caller = ? ORDER BY started_at DESC, call_sid LIMIT ?",
        (phone, limit),
    ).fetchall()
    return tuple(_call_record(conn, row) for row in rows)


def _reservation(row: sqlite3.Row) -> Reservation:
    grand_total_cents = row["total_cents"] + row["pet_fee_cents"]
    return _from_row(Reservation, row, grand_total_cents=grand_total_cents)


def _lead(row: sqlite3.Row) -> Lead:
    return _from_row(Lead, row)


def _sms(row: sqlite3.Row) -> SmsMessage:
    return _from_row(SmsMessage, row, to=row["recipient"])


def _callback(row: sqlite3.Row) -> Callback:
    return _from_row(Callback, row, when=_from_ts(row["due_at"]))


def _call_record(conn: sqlite3.Connection, row: sqlite3.Row) -> CallRecord:
    turns = conn.execute(
        "SELECT * FROM call_turns WHERE call_sid = ? ORDER BY seq", (row["call_sid"],)
    ).fetchall()
    guest = json.loads(row["guest"]) if row["guest"] is not None else {}
    return _from_row(
        CallRecord,
        row,
        guest=types.MappingProxyType(guest),
        turns=tuple(_from_row(CallTurn, turn) for turn in turns),
    )


def _start_call(conn: sqlite3.Connection, start: CallStarted) -> None:
    _require_property(conn, start.property_id)
    if conn.execute("SELECT 1 FROM calls WHERE call_sid = ?", (start.call_sid,)).fetchone():
        raise DuplicateCallError(f"call {start.call_sid!r} already has a record")
    conn.execute(
        """
        INSERT INTO calls (call_sid, property_id, caller, dialed, started_at)
        VALUES (?, ?, ?, ?, ?)
        """,
        (start.call_sid, start.property_id, start.caller, start.dialed, _ts(start.at)),
    )


def _add_turn(conn: sqlite3.Connection, turn: TurnAdded) -> CallTurn:
    if turn.role not in TURN_ROLES:
        raise ValueError(f"a turn's role is one of {', '.join(TURN_ROLES)}, not {turn.role!r}")
    call_sid = turn.call_sid
    _one(conn, "call", "SELECT call_sid FROM calls WHERE call_sid = ?", call_sid)
    (seq,) = conn.execute(
        "SELECT coalesce(max(seq), 0) + 1 FROM call_turns WHERE call_sid = ?", (call_sid,)
    ).fetchone()
    conn.execute(
        """
        INSERT INTO call_turns (call_sid, seq, role, text, tool_name, tool_arguments,
            tool_result, at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            call_sid,
            seq,
            turn.role,
            turn.text,
            turn.tool_name,
            turn.tool_arguments,
            turn.tool_result,
            _ts(turn.at),
        ),
    )
    return _from_row(
        CallTurn,
        _one(
            conn,
            "call turn",
            "SELECT * FROM call_turns WHERE call_sid = ? AND seq = ?",
            call_sid,
            seq,
        ),
    )


def _finish_call(conn: sqlite3.Connection, finish: CallFinished) -> None:
    guest_json = json.dumps(dict(finish.guest), ensure_ascii=False, sort_keys=True, default=str)
    _one(conn, "call", "SELECT call_sid FROM calls WHERE call_sid = ?", finish.call_sid)
    conn.execute(
        """
        UPDATE calls SET ended_at = ?, summary = ?, end_reason = ?, guest = ?
        WHERE call_sid = ?
        """,
        (_ts(finish.at), finish.summary, finish.end_reason, guest_json, finish.call_sid),
    )
