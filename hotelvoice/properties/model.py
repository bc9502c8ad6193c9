"""What the concierge knows about a hotel: its rooms, rates, policies, departments and clock.

Immutable values. Loading them from a TOML file of properties or from the single-property
``HOTEL_*`` environment lives in :mod:`hotelvoice.properties.book`; the store seeds its
inventory from :attr:`Property.room_types`, and the dialed Twilio number picks the property.
Money is in integer minor units (cents) so sums are exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

import attrs

DEPARTMENTS = ("front_desk", "housekeeping", "management", "maintenance")


@attrs.frozen
class RoomType:
    """A kind of room: how many the hotel has, who fits, and what a night costs."""

    code: str  # short identifier used by tools and the store, e.g. "king"
    name: str  # what the concierge says, e.g. "King Room"
    count: int  # rooms of this type in the inventory
    max_guests: int  # adults + children
    nightly_rate_cents: int
    weekend_rate_cents: int | None = None  # Friday and Saturday nights, if different
    max_adults: int | None = None  # None: any split of max_guests
    description: str = ""
    pets_allowed: bool = True  # only matters where the property allows pets at all

    def rate_for(self, night: dt.date) -> int:
        """The rate for the night starting on ``night`` (weekend rate on Fri and Sat)."""
        if self.weekend_rate_cents is not None and night.weekday() in (4, 5):
            return self.weekend_rate_cents
        return self.nightly_rate_cents

    def fits(self, adults: int, children: int) -> bool:
        if adults + children > self.max_guests:
            return False
        return self.max_adults is None or adults <= self.max_adults


@attrs.frozen
class Property:
    """One hotel. ``phone_numbers`` are the Twilio numbers (E.164) whose calls it answers."""

    id: str
    name: str
    timezone: str = "UTC"
    phone_numbers: tuple[str, ...] = ()
    location: str | None = None
    checkin_time: dt.time = dt.time(15, 0)
    checkout_time: dt.time = dt.time(11, 0)
    pets_allowed: bool = False
    pet_fee_cents: int = 0  # per night, per stay with pets
    pet_policy: str | None = None
    amenities: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    room_types: tuple[RoomType, ...] = ()
    departments: Mapping[str, str] = attrs.field(factory=dict)  # department -> E.164 number
    currency: str = "USD"
    voice: str | None = None  # the model voice for this property; None: the service default
    language: str = "en"
    max_stay_nights: int = 30
    booking_horizon_days: int = 365  # how far ahead rooms can be booked (and are seeded)
    callback_hours: tuple[dt.time, dt.time] = (dt.time(9, 0), dt.time(18, 0))
    hold_minutes: int = 30  # how long a payment link holds a room

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def now(self, utc_now: dt.datetime) -> dt.datetime:
        """``utc_now`` (timezone-aware) as the property's local time."""
        return utc_now.astimezone(self.zone)

    def today(self, utc_now: dt.datetime) -> dt.date:
        return self.now(utc_now).date()

    def room_type(self, code: str) -> RoomType | None:
        """The room type whose code or name matches ``code`` (case-insensitive)."""
        wanted = code.strip().lower()
        for room in self.room_types:
            if wanted in (room.code.lower(), room.name.lower()):
                return room
        return None

    def department_number(self, department: str) -> tuple[str, str | None]:
        """``(department, number)``: unknown or unstaffed departments go to the front desk."""
        key = department.strip().lower().replace(" ", "_").replace("-", "_")
        number = self.departments.get(key)
        if number:
            return key, number
        return "front_desk", self.departments.get("front_desk")

    def money(self, cents: int) -> str:
        """``cents`` as the caller should hear it, e.g. ``"$189.00"``."""
        symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(self.currency)
        amount = f"{cents / 100:,.2f}"
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"
