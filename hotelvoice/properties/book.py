"""Load the hotels the concierge answers for, from a TOML file or the ``HOTEL_*`` environment.

With ``HOTELVOICE_PROPERTIES`` set, :func:`load_property_book` reads that file; otherwise the
single property comes from the ``HOTEL_*`` and ``*_PHONE`` variables. Either way the result is
a :class:`PropertyBook`, which picks the property by the number the caller dialed.

The file holds one ``[[property]]`` table per hotel (see ``docs/properties.example.toml``)::

    [[property]]
    id = "sunset-inn"                 # required; lowercase letters, digits, "-" and "_"
    name = "Sunset Inn"               # required
    phone_numbers = ["+15551230001"]  # E.164 numbers whose calls it answers (default: none)
    location = "12 Ocean Drive, Santa Monica, California"
    timezone = "America/Los_Angeles"  # IANA name (default "UTC")
    checkin = "15:00"                 # "15:00", "3:00 PM", "3 pm", "noon" or 15:00:00
    checkout = "11:00"
    pets_allowed = true               # default false
    pet_fee = 25.00                   # per night; at most 2 decimals (default 0)
    pet_policy = "Dogs under 40 lb welcome in ground-floor rooms."
    currency = "USD"                  # ISO 4217 code (default "USD")
    voice = "marin"                   # model voice (default: the service's)
    language = "en"                   # BCP 47 tag (default "en")
    max_stay_nights = 30              # positive integers, defaults as shown
    booking_horizon_days = 365
    callback_hours = ["09:00", "18:00"]   # start and end, end after start
    hold_minutes = 30
    amenities = ["outdoor pool", "free parking"]
    policies = ["No smoking anywhere on the property."]

    [property.departments]            # front_desk, housekeeping, management, maintenance
    front_desk = "+15551230000"

    [[property.room_type]]            # at least one per property
    code = "king"                     # required; unique per property
    name = "King Room"                # required; unique per property
    count = 10                        # required: rooms of this type
    max_guests = 2                    # required: adults + children
    rate = 189.00                     # required: nightly rate, more than 0
    weekend_rate = 219.00             # Friday and Saturday nights (default: rate)
    max_adults = 2                    # default: any split of max_guests
    description = "One king bed, ocean view."
    pets_allowed = true               # default true; only matters if the property allows pets

Money is read exactly (``219.99`` is 21999 cents, never 21998). Any mistake - bad TOML, a
missing or unknown field, a wrong type, a number claimed twice - raises
:class:`~hotelvoice.config.ConfigError` naming the file and the field, e.g.
``properties.toml: property[1] (sunset-inn).room_type[0].max_guests must be a positive
integer, not 0``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import TypeVar

import attrs

from hotelvoice.config import ConfigError, Settings
from hotelvoice.properties.model import DEPARTMENTS, Property, RoomType

log = logging.getLogger(__name__)

T = TypeVar("T")
D = TypeVar("D")

_E164 = re.compile(r"\+[1-9]\d{7,14}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")
_CLOCK_24 = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_CLOCK_12 = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?")
_MONEY_TEXT = re.compile(r"-?\d+(?:\.\d+)?")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_CURRENCY = re.compile(r"[A-Z]{3}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")

_PROPERTY_FIELDS = (
    "id",
    "name",
    "phone_numbers",
    "location",
    "timezone",
    "checkin",
    "checkout",
    "pets_allowed",
    "pet_fee",
    "pet_policy",
    "currency",
    "voice",
    "language",
    "max_stay_nights",
    "booking_horizon_days",
    "callback_hours",
    "hold_minutes",
    "amenities",
    "policies",
    "departments",
    "room_type",
)
_ROOM_FIELDS = (
    "code",
    "name",
    "count",
    "max_guests",
    "rate",
    "weekend_rate",
    "max_adults",
    "description",
    "pets_allowed",
)

# The rooms a single-property deployment offers: the environment has no way to describe them.
DEFAULT_ROOM_TYPES = (
    RoomType(
        code="king",
        name="King Room",
        count=10,
        max_guests=2,
        nightly_rate_cents=18900,
        weekend_rate_cents=21900,
        description="One king bed.",
    ),
    RoomType(
        code="double_queen",
        name="Double Queen",
        count=8,
        max_guests=4,
        nightly_rate_cents=22900,
        weekend_rate_cents=25900,
        description="Two queen beds.",
    ),
    RoomType(
        code="suite",
        name="Suite",
        count=3,
        max_guests=4,
        nightly_rate_cents=34900,
        weekend_rate_cents=39900,
        description="A bedroom with a king bed and a separate living room with a sofa bed.",
    ),
)


# --- Shared parsers -------------------------------------------------------------------------


def parse_clock_time(text: str) -> dt.time:
    """``"15:00"``, ``"3:00 PM"``, ``"3 pm"``, ``"3:00 p.m."``, ``"noon"`` or ``"midnight"``.

    Raises:
        ValueError: anything else, including out-of-range hours and minutes.
    """
    cleaned = text.strip().lower()
    if cleaned == "noon":
        return dt.time(12, 0)
    if cleaned == "midnight":
        return dt.time(0, 0)
    if match := _CLOCK_24.fullmatch(cleaned):
        hour, minute, second = (int(part or 0) for part in match.groups())
        if hour <= 23 and minute <= 59 and second <= 59:
            return dt.time(hour, minute, second)
    elif match := _CLOCK_12.fullmatch(cleaned):
        hour, minute = int(match[1]), int(match[2] or 0)
        if 1 <= hour <= 12 and minute <= 59:
            # 12 AM is midnight and 12 PM is noon.
            return dt.time(hour % 12 + (12 if match[3] == "p" else 0), minute)
    raise ValueError(f"not a clock time like 15:00, 3:00 PM, 3 pm or noon: {text!r}")


def parse_money(value: object) -> int:
    """An amount in major units (``189``, ``219.99``, ``"25.50"``) as integer cents, exactly.

    Floats go through their shortest decimal form, so the TOML value ``219.99`` is 21999 cents.

    Raises:
        ValueError: not a number, not finite, negative, or more than two decimal places; the
            message says which.
    """
    amount: Decimal
    if isinstance(value, bool):  # bool is an int, but ``rate = true`` is a mistake
        raise ValueError(f"must be a number like 189.00, not {value!r}")
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"must be a finite number, not {value!r}")
        amount = Decimal(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"must be a finite number, not {value}")
        amount = value
    elif isinstance(value, str) and _MONEY_TEXT.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    else:
        raise ValueError(f"must be a number like 189.00, not {_show(value)}")
    if amount < 0:
        raise ValueError(f"must not be negative, not {_show(value)}")
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"must have at most 2 decimal places, not {_show(value)}")
    return int(cents)


def normalise_e164(text: str) -> str | None:
    """``text`` as a compact E.164 number (``"+1 (555) 123-0001"`` → ``"+15551230001"``).

    Spaces, dashes, dots and parentheses are dropped; None if what is left is not E.164.
    """
    compact = _PHONE_PUNCTUATION.sub("", text)
    return compact if _E164.fullmatch(compact) else None


def pets_allowed_by_policy(policy: str | None) -> bool:
    """Whether a free-text pet policy lets pets in: present and not a "no pets" policy."""
    if not policy or not policy.strip():
        return False
    text = policy.strip().lower()
    if re.match(r"(?:no|none|not)\b(?!\s+more\s+than)", text):
        return False
    refusals = r"\b(?:not (?:allowed|permitted|accepted|welcome)|prohibited|forbidden|no pets)\b"
    return re.search(refusals, text) is None


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows.

    Raises:
        ValueError: unknown zone (with a suggestion when one is close).
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, zoneinfo.available_timezones(), n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise ValueError(
            f"must be an IANA time zone like America/New_York, not {name!r}{hint}"
        ) from None
    return name


# --- The book --------------------------------------------------------------------------------


def _first(book: PropertyBook) -> Property:
    if not book.properties:  # attrs fills defaults before it runs validators
        raise ValueError("a PropertyBook needs at least one property")
    return book.properties[0]


def _index_numbers(book: PropertyBook) -> Mapping[str, Property]:
    return {number: prop for prop in book.properties for number in prop.phone_numbers}


def _check_properties(_book: object, _attribute: object, properties: tuple[Property, ...]) -> None:
    # The loader reports these with file and field; this guards books built in code.
    if not properties:
        raise ValueError("a PropertyBook needs at least one property")
    ids = [prop.id for prop in properties]
    if len(set(ids)) != len(ids):
        raise ValueError(f"property ids must be unique: {ids}")
    numbers = [number for prop in properties for number in prop.phone_numbers]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"a phone number belongs to two properties: {numbers}")


@attrs.frozen
class PropertyBook:
    """The properties this deployment answers for; the first is the default."""

    properties: tuple[Property, ...] = attrs.field(validator=_check_properties)
    default: Property = attrs.field(
        init=False, default=attrs.Factory(_first, takes_self=True), repr=False
    )
    _by_number: Mapping[str, Property] = attrs.field(
        init=False, default=attrs.Factory(_index_numbers, takes_self=True), repr=False, eq=False
    )

    def for_number(self, dialed: str | None) -> Property:
        """The property whose phone number was dialed; the default for unknown or no number.

        A single-hotel deployment lists no numbers at all, so every call lands on it.
        """
        number = normalise_e164(dialed) if dialed else None
        if number is None:
            return self.default
        return self._by_number.get(number, self.default)

    def by_id(self, id: str) -> Property:
        """The property with this ``id``.

        Raises:
            KeyError: no such property (the message lists the known ids).
        """
        for prop in self.properties:
            if prop.id == id:
                return prop
        known = ", ".join(prop.id for prop in self.properties)
        raise KeyError(f"no property with id {id!r}; known ids: {known}")


def load_property_book(settings: Settings) -> PropertyBook:
    """The file named by ``HOTELVOICE_PROPERTIES`` if set, else the ``HOTEL_*`` property.

    Raises:
        ConfigError: the file is missing or wrong, or a ``HOTEL_*`` variable is malformed.
    """
    if settings.properties_file:
        if not os.path.isfile(settings.properties_file):
            raise ConfigError(
                f"HOTELVOICE_PROPERTIES names {settings.properties_file!r}, which is not a file"
            )
        return load_properties(settings.properties_file)
    return PropertyBook((property_from_settings(settings),))


# --- From the environment --------------------------------------------------------------------


def property_from_settings(settings: Settings) -> Property:
    """The single property described by the ``HOTEL_*`` and ``*_PHONE`` variables.

    It has no phone numbers of its own (it answers whatever number was dialed) and the
    :data:`DEFAULT_ROOM_TYPES`, since the environment cannot describe rooms.

    Raises:
        ConfigError: a time, time zone or phone number is malformed; the message names it.
    """
    times: dict[str, dt.time] = {}
    for variable, raw in (
        ("HOTEL_CHECKIN_TIME", settings.hotel_checkin_time),
        ("HOTEL_CHECKOUT_TIME", settings.hotel_checkout_time),
    ):
        try:
            times[variable] = parse_clock_time(raw)
        except ValueError:
            raise ConfigError(
                f"{variable} must be a time like 3:00 PM or 15:00, not {raw!r}"
            ) from None
    try:
        timezone = check_timezone(settings.hotel_timezone)
    except ValueError as exc:
        raise ConfigError(f"HOTEL_TIMEZONE {exc}") from None
    departments: dict[str, str] = {}
    for variable, department, raw_number in (
        ("FRONT_DESK_PHONE", "front_desk", settings.front_desk_phone),
        ("HOUSEKEEPING_PHONE", "housekeeping", settings.housekeeping_phone),
        ("MANAGEMENT_PHONE", "management", settings.management_phone),
        ("MAINTENANCE_PHONE", "maintenance", settings.maintenance_phone),
    ):
        if not raw_number:
            continue
        number = normalise_e164(raw_number)
        if number is None:
            raise ConfigError(
                f"{variable} must be an E.164 phone number like +15551230000, not {raw_number!r}"
            )
        departments[department] = number
    return Property(
        id="default",
        name=settings.hotel_name,
        timezone=timezone,
        location=settings.hotel_location,
        checkin_time=times["HOTEL_CHECKIN_TIME"],
        checkout_time=times["HOTEL_CHECKOUT_TIME"],
        pets_allowed=pets_allowed_by_policy(settings.hotel_pet_policy),
        pet_policy=settings.hotel_pet_policy,
        room_types=DEFAULT_ROOM_TYPES,
        departments=departments,
    )


# --- From a file -----------------------------------------------------------------------------


def load_properties(path: str | os.PathLike[str]) -> PropertyBook:
    """Read and check a properties TOML file (layout in the module docstring).

    Raises:
        ConfigError: the file is unreadable or any field is wrong; the message names the file
            and the field path.
    """
    source = os.fspath(path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: not valid TOML: the file is not UTF-8 text") from None

    top = _Table(source, "", data, ("property",))
    top.reject_unknown()
    tables = top.get("property", _array_of_tables, [])
    if not tables:
        raise ConfigError(f"{source}: has no [[property]] tables")

    properties: list[Property] = []
    owners: dict[str, str] = {}  # phone number -> the property that answers it
    ids: dict[str, str] = {}
    for index, raw in enumerate(tables):
        prop, where = _read_property(source, f"property[{index}]", raw)
        if prop.id in ids:
            raise ConfigError(f"{source}: {where}.id {prop.id!r} is already used by {ids[prop.id]}")
        ids[prop.id] = where
        for position, number in enumerate(prop.phone_numbers):
            if number in owners:
                raise ConfigError(
                    f"{source}: {where}.phone_numbers[{position}] {number} is already a "
                    f"number of {owners[number]}"
                )
            owners[number] = where
        properties.append(prop)

    # A department number that is also a concierge number would transfer the caller back to
    # the concierge: check once every property's numbers are known.
    for index, prop in enumerate(properties):
        for department, number in prop.departments.items():
            if number in owners:
                where = _label(f"property[{index}]", prop.id)
                raise ConfigError(
                    f"{source}: {where}.departments.{department} {number} is a concierge "
                    f"number of {owners[number]}; a transfer there would loop back"
                )
    for prop in properties[1:]:
        if not prop.phone_numbers:
            log.warning(
                "%s: property %r has no phone_numbers, so no call can reach it", source, prop.id
            )
    return PropertyBook(tuple(properties))


def _label(where: str, id: str) -> str:
    return f"{where} ({id})"


def _read_property(source: str, where: str, raw: object) -> tuple[Property, str]:
    fields = _Table(source, where, _as_table(source, where, raw), _PROPERTY_FIELDS)
    prop_id = fields.require("id", _slug)
    where = fields.where = _label(where, prop_id)
    fields.reject_unknown()

    name = fields.require("name", _text)
    phone_numbers = fields.get("phone_numbers", _list_of(_e164), ())
    duplicates = {n for n in phone_numbers if phone_numbers.count(n) > 1}
    if duplicates:
        raise fields.error("phone_numbers", f"lists {min(duplicates)} twice")
    pets_allowed = fields.get("pets_allowed", _bool, False)
    pet_fee = fields.get("pet_fee", parse_money, 0)
    if pet_fee and not pets_allowed:
        # Most likely a forgotten ``pets_allowed = true``: the concierge would turn pets away.
        raise fields.error("pet_fee", "is set but pets_allowed is not true")
    callback_hours = fields.get("callback_hours", _hours, (dt.time(9, 0), dt.time(18, 0)))

    departments: dict[str, str] = {}
    raw_departments = fields.get("departments", _any_table, None)
    if raw_departments is not None:
        desks = _Table(source, f"{where}.departments", raw_departments, DEPARTMENTS)
        desks.reject_unknown(kind="department")
        for department in raw_departments:
            departments[department] = desks.require(department, _e164)

    room_tables = fields.get("room_type", _array_of_tables, [])
    if not room_tables:
        raise fields.error("room_type", "needs at least one [[property.room_type]] table")
    rooms = tuple(
        _read_room(source, f"{where}.room_type[{j}]", raw_room)
        for j, raw_room in enumerate(room_tables)
    )
    seen: dict[str, int] = {}
    for j, room in enumerate(rooms):
        # Property.room_type matches on code or name, case-insensitively: both must be unique.
        for key, value in (("code", room.code), ("name", room.name)):
            wanted = value.lower()
            if wanted in seen and seen[wanted] != j:
                raise ConfigError(
                    f"{source}: {where}.room_type[{j}].{key} {value!r} is already used by "
                    f"room_type[{seen[wanted]}]"
                )
            seen[wanted] = j

    prop = Property(
        id=prop_id,
        name=name,
        timezone=fields.get("timezone", _timezone, "UTC"),
        phone_numbers=phone_numbers,
        location=fields.get("location", _text, None),
        checkin_time=fields.get("checkin", _clock, dt.time(15, 0)),
        checkout_time=fields.get("checkout", _clock, dt.time(11, 0)),
        pets_allowed=pets_allowed,
        pet_fee_cents=pet_fee,
        pet_policy=fields.get("pet_policy", _text, None),
        amenities=fields.get("amenities", _list_of(_text), ()),
        policies=fields.get("policies", _list_of(_text), ()),
        room_types=rooms,
        departments=departments,
        currency=fields.get("currency", _currency, "USD"),
        voice=fields.get("voice", _text, None),
        language=fields.get("language", _language, "en"),
        max_stay_nights=fields.get("max_stay_nights", _positive_int, 30),
        booking_horizon_days=fields.get("booking_horizon_days", _positive_int, 365),
        callback_hours=callback_hours,
        hold_minutes=fields.get("hold_minutes", _positive_int, 30),
    )
    return prop, where


def _read_room(source: str, where: str, raw: object) -> RoomType:
    fields = _Table(source, where, _as_table(source, where, raw), _ROOM_FIELDS)
    fields.reject_unknown()
    max_guests = fields.require("max_guests", _positive_int)
    max_adults = fields.get("max_adults", _positive_int, None)
    if max_adults is not None and max_adults > max_guests:
        raise fields.error("max_adults", f"must not exceed max_guests ({max_guests})")
    return RoomType(
        code=fields.require("code", _slug),
        name=fields.require("name", _text),
        count=fields.require("count", _positive_int),
        max_guests=max_guests,
        nightly_rate_cents=fields.require("rate", _rate),
        weekend_rate_cents=fields.get("weekend_rate", _rate, None),
        max_adults=max_adults,
        description=fields.get("description", _text, ""),
        pets_allowed=fields.get("pets_allowed", _bool, True),
    )


class _Invalid(ValueError):
    """A value is wrong; ``subpath`` locates it inside the field (``"[2]"`` in a list)."""

    def __init__(self, reason: str, subpath: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.subpath = subpath


class _Table:
    """One TOML table being read, so every error names the file and the field."""

    def __init__(
        self, source: str, where: str, table: Mapping[str, object], known: Collection[str]
    ) -> None:
        self.source = source
        self.where = where
        self.table = table
        self.known = known

    def error(self, key: str, reason: str, subpath: str = "") -> ConfigError:
        path = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.source}: {path}{subpath} {reason}")

    def reject_unknown(self, kind: str = "field") -> None:
        """Typos must not pass silently: a misspelt key would quietly fall back to a default."""
        for key in self.table:
            if key not in self.known:
                close = difflib.get_close_matches(key, self.known, n=1)
                hint = f'; did you mean "{close[0]}"?' if close else ""
                if kind != "field":
                    hint += f" ({kind}s are {', '.join(self.known)})"
                prefix = f"{self.where}: " if self.where else ""
                raise ConfigError(f'{self.source}: {prefix}unknown {kind} "{key}"{hint}')

    def require(self, key: str, convert: Callable[[object], T]) -> T:
        if key not in self.table:
            raise self.error(key, "is required")
        return self._convert(key, convert)

    def get(self, key: str, convert: Callable[[object], T], default: D) -> T | D:
        return self._convert(key, convert) if key in self.table else default

    def _convert(self, key: str, convert: Callable[[object], T]) -> T:
        try:
            return convert(self.table[key])
        except _Invalid as exc:
            raise self.error(key, exc.reason, exc.subpath) from None
        except ValueError as exc:
            raise self.error(key, str(exc)) from None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_table(source: str, where: str, raw: object) -> Mapping[str, object]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: {where} must be a table, not {_show(raw)}")
    return raw


def _any_table(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise _Invalid(f"must be a table, not {_show(value)}")
    return value


def _array_of_tables(value: object) -> list[object]:
    if not isinstance(value, list):
        raise _Invalid(f"must be an array of tables ([[...]]), not {_show(value)}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"must be a non-empty string, not {_show(value)}")
    return value.strip()


def _slug(value: object) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise _Invalid(
            f"must be lowercase letters, digits, '-' and '_' (like \"sunset-inn\"), "
            f"not {_show(value)}"
        )
    return value


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"must be true or false, not {_show(value)}")
    return value


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _Invalid(f"must be a positive integer, not {_show(value)}")
    return value


def _rate(value: object) -> int:
    cents = parse_money(value)
    if cents == 0:
        raise _Invalid("must be more than 0")
    return cents


def _clock(value: object) -> dt.time:
    if isinstance(value, dt.time):  # a TOML local time, e.g. ``checkin = 15:00:00``
        return value
    if not isinstance(value, str):
        raise _Invalid(f'must be a time like "15:00" or "3:00 PM", not {_show(value)}')
    try:
        return parse_clock_time(value)
    except ValueError:
        raise _Invalid(f'must be a time like "15:00" or "3:00 PM", not {_show(value)}') from None


def _hours(value: object) -> tuple[dt.time, dt.time]:
    if not isinstance(value, list) or len(value) != 2:
        raise _Invalid(f'must be [start, end], like ["09:00", "18:00"], not {_show(value)}')
    start, end = _list_of(_clock)(value)
    if end <= start:
        raise _Invalid(f"must end after it starts, not {_show(value)}")
    return start, end


def _timezone(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be an IANA time zone like America/New_York, not {_show(value)}")
    return check_timezone(value)


def _e164(value: object) -> str:
    number = normalise_e164(value) if isinstance(value, str) else None
    if number is None:
        raise _Invalid(f"must be an E.164 phone number like +15551230000, not {_show(value)}")
    return number


def _currency(value: object) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise _Invalid(f'must be a three-letter currency code like "USD", not {_show(value)}')
    return value


def _language(value: object) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise _Invalid(f'must be a language tag like "en" or "en-US", not {_show(value)}')
    return value


def _list_of(convert: Callable[[object], T]) -> Callable[[object], tuple[T, ...]]:
    def convert_all(value: object) -> tuple[T, ...]:
        if not isinstance(value, list):
            raise _Invalid(f"must be an array, not {_show(value)}")
        items: list[T] = []
        for index, item in enumerate(value):
            try:
                items.append(convert(item))
            except _Invalid as exc:
                raise _Invalid(exc.reason, f"[{index}]{exc.subpath}") from None
            except ValueError as exc:
                raise _Invalid(str(exc), f"[{index}]") from None
        return tuple(items)

    return convert_all
