"""Properties from TOML and from the environment: values, routing, errors naming the field."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotelvoice.config import ConfigError, Settings
from hotelvoice.properties.book import (
    DEFAULT_ROOM_TYPES,
    PropertyBook,
    load_properties,
    load_property_book,
    normalise_e164,
    parse_clock_time,
    parse_money,
    pets_allowed_by_policy,
    property_from_settings,
)
from hotelvoice.properties.model import Property, RoomType

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "properties.example.toml"

ROOM = 'code = "king"\nname = "King Room"\ncount = 1\nmax_guests = 2\nrate = 100\n'


def _property(extra: str = "", room: str = "", *, pid: str = "inn", rooms: bool = True) -> str:
    """A valid one-property document with ``extra`` property lines and ``room`` room lines."""
    text = f'[[property]]\nid = "{pid}"\nname = "Inn"\n{extra}\n'
    if rooms:
        text += f"[[property.room_type]]\n{ROOM}{room}\n"
    return text


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "properties.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- The example file ------------------------------------------------------------------------


def test_example_file_loads_with_exact_values() -> None:
    book = load_properties(EXAMPLE)
    assert [p.id for p in book.properties] == ["sunset-inn", "harbour-house"]
    inn = book.by_id("sunset-inn")
    assert book.default is inn
    assert inn.phone_numbers == ("+15551230001", "+15551230009")  # normalised
    assert inn.timezone == "America/Los_Angeles"
    assert (inn.checkin_time, inn.checkout_time) == (dt.time(15, 0), dt.time(11, 0))
    assert inn.pets_allowed is True and inn.pet_fee_cents == 2500
    assert inn.departments == {
        "front_desk": "+15551230000",
        "housekeeping": "+15551230002",
        "management": "+15551230003",
    }
    assert inn.voice == "marin" and inn.hold_minutes == 30
    assert inn.callback_hours == (dt.time(9, 0), dt.time(18, 0))
    assert "breakfast 7–10 am" in inn.amenities
    king = inn.room_type("king")
    assert king == RoomType(
        code="king",
        name="King Room",
        count=10,
        max_guests=2,
        nightly_rate_cents=18900,
        weekend_rate_cents=21999,  # 219.99 as a float must not become 21998
        max_adults=2,
        description="One king bed, ocean-view balcony.",
        pets_allowed=True,
    )
    suite = inn.room_type("Ocean Suite")
    assert suite is not None and suite.pets_allowed is False


def test_example_second_property_uses_its_own_defaults_and_formats() -> None:
    harbour = load_properties(EXAMPLE).by_id("harbour-house")
    assert harbour.checkin_time == dt.time(14, 0)  # a TOML local time
    assert harbour.checkout_time == dt.time(12, 0)  # "noon"
    assert harbour.currency == "GBP" and harbour.money(14500) == "£145.00"
    assert harbour.pets_allowed is False and harbour.pet_fee_cents == 0
    assert harbour.voice is None and harbour.language == "en-GB"
    assert [(r.code, r.nightly_rate_cents, r.weekend_rate_cents) for r in harbour.room_types] == [
        ("double", 14500, None),
        ("family", 21050, 23550),
    ]
    assert harbour.department_number("housekeeping") == ("front_desk", "+442079460000")


def test_minimal_property_takes_the_documented_defaults(tmp_path: Path) -> None:
    prop = load_properties(_write(tmp_path, _property())).default
    assert prop == Property(
        id="inn",
        name="Inn",
        room_types=(
            RoomType(
                code="king", name="King Room", count=1, max_guests=2, nightly_rate_cents=10000
            ),
        ),
    )


# --- Errors ----------------------------------------------------------------------------------

ERRORS = [
    pytest.param(
        _property(room="count = 0").replace("count = 1\n", ""),
        "property[0] (inn).room_type[0].count must be a positive integer, not 0",
        id="count-zero",
    ),
    pytest.param('[[property]]\nid = "inn"\nname = = "Inn"\n', "(at line 3", id="toml-syntax"),
    pytest.param("", "has no [[property]] tables", id="no-properties"),
    pytest.param('property = "inn"', "property must be an array of tables", id="property-table"),
    pytest.param(
        '[[propery]]\nid = "x"\n',
        'unknown field "propery"; did you mean "property"?',
        id="unknown-top-level",
    ),
    pytest.param('[[property]]\nname = "Inn"\n', "property[0].id is required", id="missing-id"),
    pytest.param(
        '[[property]]\nid = "inn"\n', "property[0] (inn).name is required", id="missing-name"
    ),
    pytest.param(
        _property(rooms=False), "property[0] (inn).room_type needs at least one", id="no-room-types"
    ),
    pytest.param(
        _property(pid="Sunset Inn"), "property[0].id must be lowercase letters", id="id-not-a-slug"
    ),
    pytest.param(
        _property().replace('name = "Inn"', "name = 5"),
        "property[0] (inn).name must be a non-empty string, not 5",
        id="name-type",
    ),
    pytest.param(
        _property('pets_allowed = "yes"'),
        "property[0] (inn).pets_allowed must be true or false, not 'yes'",
        id="bool-type",
    ),
    pytest.param(
        _property('amenities = ["pool", 3]'),
        "property[0] (inn).amenities[1] must be a non-empty string, not 3",
        id="list-item-type",
    ),
    pytest.param(
        _property('checkin_tme = "15:00"'),
        'property[0] (inn): unknown field "checkin_tme"; did you mean "checkin"?',
        id="unknown-field",
    ),
    pytest.param(
        _property(room="rat = 5"),
        'property[0] (inn).room_type[0]: unknown field "rat"; did you mean "rate"?',
        id="unknown-room-field",
    ),
    pytest.param(
        _property('timezone = "America/Los_Angles"'),
        "property[0] (inn).timezone must be an IANA time zone like America/New_York, "
        "not 'America/Los_Angles' (did you mean \"America/Los_Angeles\"?)",
        id="unknown-timezone",
    ),
    pytest.param(
        _property('checkin = "25:00"'),
        'property[0] (inn).checkin must be a time like "15:00" or "3:00 PM", not \'25:00\'',
        id="bad-time",
    ),
    pytest.param(
        _property("checkout = 11"), "property[0] (inn).checkout must be a time like", id="time-type"
    ),
    pytest.param(
        _property().replace("rate = 100", "rate = -5"),
        "property[0] (inn).room_type[0].rate must not be negative, not -5",
        id="negative-money",
    ),
    pytest.param(
        _property("pets_allowed = true\npet_fee = 25.005"),
        "property[0] (inn).pet_fee must have at most 2 decimal places, not 25.005",
        id="three-decimals",
    ),
    pytest.param(
        _property().replace("rate = 100", 'rate = "cheap"'),
        "property[0] (inn).room_type[0].rate must be a number like 189.00, not 'cheap'",
        id="money-not-a-number",
    ),
    pytest.param(
        _property().replace("rate = 100", "rate = 0"),
        "property[0] (inn).room_type[0].rate must be more than 0",
        id="free-room",
    ),
    pytest.param(
        _property("pet_fee = 10"),
        "property[0] (inn).pet_fee is set but pets_allowed is not true",
        id="pet-fee-without-pets",
    ),
    pytest.param(
        _property('phone_numbers = ["555-1234"]'),
        "property[0] (inn).phone_numbers[0] must be an E.164 phone number like "
        "+15551230000, not '555-1234'",
        id="phone-not-e164",
    ),
    pytest.param(
        _property('phone_numbers = ["+15551230001", "+1 555 123 0001"]'),
        "property[0] (inn).phone_numbers lists +15551230001 twice",
        id="phone-listed-twice",
    ),
    pytest.param(
        _property('[property.departments]\nfront_desk = "0800 123"'),
        "property[0] (inn).departments.front_desk must be an E.164 phone number",
        id="department-not-e164",
    ),
    pytest.param(
        _property('[property.departments]\nreception = "+15551230000"'),
        'property[0] (inn).departments: unknown department "reception" '
        "(departments are front_desk, housekeeping, management, maintenance)",
        id="unknown-department",
    ),
    pytest.param(
        _property() + _property(),
        "property[1] (inn).id 'inn' is already used by property[0] (inn)",
        id="duplicate-id",
    ),
    pytest.param(
        _property('phone_numbers = ["+15551230001"]')
        + _property('phone_numbers = ["+1-555-123-0001"]', pid="annex"),
        "property[1] (annex).phone_numbers[0] +15551230001 is already a number of "
        "property[0] (inn)",
        id="number-claimed-twice",
    ),
    pytest.param(
        _property('[property.departments]\nfront_desk = "+15551230001"')
        + _property('phone_numbers = ["+15551230001"]', pid="annex"),
        "property[0] (inn).departments.front_desk +15551230001 is a concierge number "
        "of property[1] (annex); a transfer there would loop back",
        id="department-loops-to-concierge",
    ),
    pytest.param(
        _property(room=f"[[property.room_type]]\n{ROOM}".replace("King Room", "Big")),
        "property[0] (inn).room_type[1].code 'king' is already used by room_type[0]",
        id="duplicate-room-code",
    ),
    pytest.param(
        _property(room=f"[[property.room_type]]\n{ROOM}".replace('"king"', '"k2"')),
        "property[0] (inn).room_type[1].name 'King Room' is already used by room_type[0]",
        id="duplicate-room-name",
    ),
    pytest.param(
        _property('[property.room_type]\ncode = "king"', rooms=False),
        "property[0] (inn).room_type must be an array of tables",
        id="room-type-not-array",
    ),
    pytest.param(
        _property('callback_hours = ["18:00", "09:00"]'),
        "property[0] (inn).callback_hours must end after it starts",
        id="callback-hours-backwards",
    ),
    pytest.param(
        _property('callback_hours = ["09:00"]'),
        "property[0] (inn).callback_hours must be [start, end]",
        id="callback-hours-one",
    ),
    pytest.param(
        _property('callback_hours = ["09:00", "6 pmm"]'),
        "property[0] (inn).callback_hours[1] must be a time like",
        id="callback-hours-bad-time",
    ),
    pytest.param(
        _property("max_stay_nights = -1"),
        "property[0] (inn).max_stay_nights must be a positive integer, not -1",
        id="negative-limit",
    ),
    pytest.param(
        _property("hold_minutes = 1.5"),
        "property[0] (inn).hold_minutes must be a positive integer, not 1.5",
        id="float-limit",
    ),
    pytest.param(
        _property().replace("max_guests = 2", "max_guests = true"),
        "property[0] (inn).room_type[0].max_guests must be a positive integer, not True",
        id="bool-limit",
    ),
    pytest.param(
        _property(room="max_adults = 3"),
        "property[0] (inn).room_type[0].max_adults must not exceed max_guests (2)",
        id="adults-over-guests",
    ),
    pytest.param(
        _property('currency = "usd"'),
        "property[0] (inn).currency must be a three-letter currency code",
        id="currency",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_mistakes_fail_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        load_properties(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_unreadable_files_fail_with_the_file_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=re.escape(f"{missing}: cannot read")):
        load_properties(missing)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(_property().replace("Inn", "Hôtel").encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_properties(latin1)


def test_unreachable_second_property_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, _property() + _property(pid="annex"))
    with caplog.at_level(logging.WARNING, logger="hotelvoice.properties.book"):
        book = load_properties(path)
    assert book.default.id == "inn"
    assert "'annex' has no phone_numbers" in caplog.text


# --- The book --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialed", "expected"),
    [
        ("+15551230001", "sunset-inn"),
        ("+1 (555) 123-0001", "sunset-inn"),
        ("+1.555.123.0009", "sunset-inn"),
        ("+44 20 7946 0100", "harbour-house"),
        ("+442079460100", "harbour-house"),
        ("+15559999999", "sunset-inn"),  # unknown: the default
        ("client:front-desk", "sunset-inn"),
        ("", "sunset-inn"),
        (None, "sunset-inn"),
    ],
)
def test_for_number_routes_by_dialed_number(dialed: str | None, expected: str) -> None:
    assert load_properties(EXAMPLE).for_number(dialed).id == expected


def test_by_id_and_its_error() -> None:
    book = load_properties(EXAMPLE)
    assert book.by_id("harbour-house").name == "Harbour House"
    with pytest.raises(KeyError, match="no property with id 'nope'; known ids: sunset-inn, harb"):
        book.by_id("nope")


def test_book_built_in_code_is_checked() -> None:
    with pytest.raises(ValueError, match="at least one property"):
        PropertyBook(())
    with pytest.raises(ValueError, match="unique"):
        PropertyBook((Property(id="a", name="A"), Property(id="a", name="B")))
    only = Property(id="a", name="A")
    book = PropertyBook((only,))
    assert book.default is only and book.for_number("+15551230001") is only


def test_load_property_book_reads_the_named_file() -> None:
    book = load_property_book(Settings(properties_file=str(EXAMPLE)))
    assert [p.id for p in book.properties] == ["sunset-inn", "harbour-house"]


def test_load_property_book_missing_file_names_the_variable(tmp_path: Path) -> None:
    missing = str(tmp_path / "gone.toml")
    with pytest.raises(ConfigError, match=r"^HOTELVOICE_PROPERTIES names .*gone\.toml"):
        load_property_book(Settings(properties_file=missing))


def test_load_property_book_without_file_is_the_single_environment_property() -> None:
    book = load_property_book(Settings(hotel_name="Hotel Env"))
    assert len(book.properties) == 1
    assert book.default.name == "Hotel Env"
    assert book.for_number("+15551230001") is book.default


# --- From the environment --------------------------------------------------------------------


def test_property_from_default_settings() -> None:
    prop = property_from_settings(Settings())
    assert (prop.id, prop.name, prop.timezone) == ("default", "our hotel", "UTC")
    assert (prop.checkin_time, prop.checkout_time) == (dt.time(15, 0), dt.time(11, 0))
    assert prop.phone_numbers == () and prop.departments == {}
    assert prop.pets_allowed is False and prop.pet_policy is None
    assert prop.room_types == DEFAULT_ROOM_TYPES
    assert [
        (r.code, r.count, r.max_guests, r.nightly_rate_cents, r.weekend_rate_cents)
        for r in prop.room_types
    ] == [
        ("king", 10, 2, 18900, 21900),
        ("double_queen", 8, 4, 22900, 25900),
        ("suite", 3, 4, 34900, 39900),
    ]


def test_property_from_every_setting() -> None:
    settings = Settings(
        hotel_name="Sunset Inn",
        hotel_location="Santa Monica",
        hotel_checkin_time="2 pm",
        hotel_checkout_time="noon",
        hotel_pet_policy="Dogs welcome for $25 a night.",
        hotel_timezone="America/Los_Angeles",
        front_desk_phone="+1 (555) 123-0000",
        housekeeping_phone="+15551230002",
        management_phone="+1-555-123-0003",
        maintenance_phone="+1.555.123.0004",
    )
    prop = property_from_settings(settings)
    assert prop.name == "Sunset Inn" and prop.location == "Santa Monica"
    assert (prop.checkin_time, prop.checkout_time) == (dt.time(14, 0), dt.time(12, 0))
    assert prop.timezone == "America/Los_Angeles"
    assert prop.pets_allowed is True and prop.pet_policy == "Dogs welcome for $25 a night."
    assert prop.departments == {
        "front_desk": "+15551230000",
        "housekeeping": "+15551230002",
        "management": "+15551230003",
        "maintenance": "+15551230004",
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hotel_checkin_time", "after lunch", "HOTEL_CHECKIN_TIME must be a time like"),
        ("hotel_checkout_time", "13 pm", "HOTEL_CHECKOUT_TIME must be a time like"),
        ("hotel_timezone", "Mars/Olympus", "HOTEL_TIMEZONE must be an IANA time zone"),
        ("front_desk_phone", "555-1234", "FRONT_DESK_PHONE must be an E.164 phone number"),
        ("housekeeping_phone", "ext 12", "HOUSEKEEPING_PHONE must be an E.164"),
        ("management_phone", "15551230003", "MANAGEMENT_PHONE must be an E.164"),
        ("maintenance_phone", "+0123456789", "MAINTENANCE_PHONE must be an E.164"),
    ],
)
def test_property_from_settings_errors_name_the_variable(
    field: str, value: str, message: str
) -> None:
    settings = Settings(**{field: value})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        property_from_settings(settings)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("policy", "allowed"),
    [
        (None, False),
        ("", False),
        ("No pets.", False),
        ("None allowed", False),
        ("Not permitted, sorry", False),
        ("Pets are not allowed.", False),
        ("Animals are prohibited.", False),
        ("Dogs welcome for $25 a night.", True),
        ("No more than two pets per room.", True),
        ("Cats and dogs under 40 lb.", True),
    ],
)
def test_pets_allowed_by_policy(policy: str | None, allowed: bool) -> None:
    assert pets_allowed_by_policy(policy) is allowed


# --- Shared parsers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15:00", dt.time(15, 0)),
        ("9:05", dt.time(9, 5)),
        ("00:00", dt.time(0, 0)),
        ("23:59:30", dt.time(23, 59, 30)),
        ("3:00 PM", dt.time(15, 0)),
        ("3 pm", dt.time(15, 0)),
        ("3pm", dt.time(15, 0)),
        ("11:30 a.m.", dt.time(11, 30)),
        ("12 AM", dt.time(0, 0)),
        ("12:15 PM", dt.time(12, 15)),
        ("3:00\u202fPM", dt.time(15, 0)),  # the narrow space some locales format with
        (" Noon ", dt.time(12, 0)),
        ("midnight", dt.time(0, 0)),
    ],
)
def test_parse_clock_time_accepts(text: str, expected: dt.time) -> None:
    assert parse_clock_time(text) == expected


@pytest.mark.parametrize(
    "text", ["", "3", "24:00", "12:60", "13 pm", "0 am", "15:00 pm", "3:0 pm", "quarter past"]
)
def test_parse_clock_time_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a clock time"):
        parse_clock_time(text)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (189, 18900),
        (189.0, 18900),
        (219.99, 21999),
        (0.29, 29),  # 0.29 * 100 == 28.999999999999996 in binary floating point
        (0.1 + 0.2, None),  # 0.30000000000000004: not a two-place amount at all
        ("25.50", 2550),
        (" 7 ", 700),
        (Decimal("1.10"), 110),
        (Decimal("5.000"), 500),  # trailing zeros are not extra precision
        (0, 0),
        (-0.0, 0),
    ],
)
def test_parse_money_is_exact(value: object, cents: int | None) -> None:
    if cents is None:
        with pytest.raises(ValueError, match="at most 2 decimal places"):
            parse_money(value)
    else:
        assert parse_money(value) == cents


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "must be a number like 189.00, not True"),
        ("cheap", "must be a number like 189.00, not 'cheap'"),
        ("$25", "must be a number like 189.00"),
        (None, "must be a number like 189.00, not None"),
        (-1, "must not be negative, not -1"),
        ("-0.50", "must not be negative"),
        (1.234, "must have at most 2 decimal places, not 1.234"),
        (float("inf"), "must be a finite number"),
        (float("nan"), "must be a finite number"),
        (Decimal("NaN"), "must be a finite number"),
    ],
)
def test_parse_money_rejects_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_money(value)


@given(st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2))
def test_parse_money_round_trips_two_place_amounts(amount: Decimal) -> None:
    cents = int(amount * 100)
    # As a Decimal, as the float TOML would produce, and as text.
    assert parse_money(amount) == cents
    assert parse_money(float(amount)) == cents
    assert parse_money(str(amount)) == cents


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+15551230001", "+15551230001"),
        ("+1 (555) 123-0001", "+15551230001"),
        ("+44 20.7946.0100", "+442079460100"),
        (" +15551230001\t", "+15551230001"),
        ("+1234567", None),  # too short
        ("+1234567890123456", None),  # too long
        ("+05551230001", None),  # no country code starts with 0
        ("15551230001", None),  # no plus
        ("+1555123000x", None),
        ("client:alice", None),
        ("", None),
    ],
)
def test_normalise_e164(text: str, expected: str | None) -> None:
    assert normalise_e164(text) == expected
