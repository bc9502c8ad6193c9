"""Short spoken answers from a hotel's facts: check-in time, pets, amenities, location, prices.

Pure. The concierge prefers the hotel's own answer (its ``get_hotel_info`` tool); these say
the same facts when that tool is not offered, and pick out of the hotel's amenity list the one
a caller asked about ("Is breakfast included?" -> "Yes, we have breakfast 7–10 AM.").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from hotelvoice.language.intents import InfoTopic, Intent, understand
from hotelvoice.language.spoken import listing, spoken_time
from hotelvoice.properties.model import Property

# amenity asked about -> (words that find it in the hotel's list, how to name it when missing)
AMENITY_FINDERS: dict[str, tuple[tuple[str, ...], str]] = {
    "pool": (("pool", "swimming"), "a pool"),
    "parking": (("parking", "garage", "valet"), "parking"),
    "breakfast": (("breakfast",), "breakfast"),
    "wifi": (("wifi", "wi-fi", "wi fi", "internet"), "wifi"),
    "gym": (("gym", "fitness"), "a gym"),
    "spa": (("spa",), "a spa"),
    "restaurant": (("restaurant", "dining"), "a restaurant"),
    "bar": (("bar", "lounge"), "a bar"),
    "shuttle": (("shuttle",), "a shuttle"),
    "laundry": (("laundry",), "laundry"),
    "hot tub": (("hot tub", "jacuzzi", "whirlpool"), "a hot tub"),
    "sauna": (("sauna",), "a sauna"),
    "room service": (("room service",), "room service"),
    "ev charging": (("ev charg", "charging", "charger"), "EV charging"),
}
_ANY_DAY = date(2001, 1, 1)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _lower_first(text: str) -> str:
    """ "Outdoor pool" -> "outdoor pool" mid-sentence, but "EV charging" and "Wi-Fi" stay."""
    first = text.split(" ", 1)[0]
    if any(c.isupper() for c in first[1:]):
        return text
    return text[:1].lower() + text[1:]


def amenities_answer(amenity: str | None, listed: Sequence[str]) -> str | None:
    """The answer to a question about ``amenity`` (None: amenities in general) from the
    hotel's list ``listed``; None when the list is empty."""
    offered = [_lower_first(a.strip()) for a in listed if a.strip()]
    if not offered:
        return None
    finder = AMENITY_FINDERS.get(amenity or "")
    if finder is None:
        return f"Our amenities include {listing(offered[:4])}."
    finds, name = finder
    have = [a for a in offered if any(f in a.lower() for f in finds)]
    # "Yes, we have: free parking" reads well whether or not the listing has an article.
    if have:
        return f"Yes, we have {listing(have)}."
    return f"I don't see {name} listed; our amenities include {listing(offered[:3])}."


def pets_answer(prop: Property) -> str:
    """Whether pets may come, the fee and the hotel's pet policy."""
    policy = f" {_sentence(prop.pet_policy)}" if prop.pet_policy and prop.pet_policy.strip() else ""
    if not prop.pets_allowed:
        return f"I'm sorry, pets aren't allowed.{policy}"
    fee = f" for a fee of {prop.money(prop.pet_fee_cents)} a night" if prop.pet_fee_cents else ""
    return f"Yes, pets are welcome{fee}.{policy}"


def location_answer(prop: Property) -> str | None:
    if not prop.location or not prop.location.strip():
        return None
    # A street address has a number in it; a bare city does not ("is in Lisbon").
    where = "at" if any(c.isdigit() for c in prop.location) else "in"
    return f"{prop.name} is {where} {prop.location.strip()}."


def price_answer(prop: Property, room_type: str | None = None) -> str | None:
    """What a night costs: the room type asked about, or the cheapest; None without rooms."""
    rooms = [r for r in prop.room_types if room_type in (None, r.code)] or list(prop.room_types)
    if not rooms:
        return None
    room = min(rooms, key=lambda r: r.nightly_rate_cents)
    rate = prop.money(room.nightly_rate_cents)
    if room_type is not None:
        return f"The {room.name} is from {rate} a night."
    article = "an" if room.name[:1].lower() in "aeiou" else "a"
    return f"Rooms start at {rate} a night for {article} {room.name}."


def fact_answer(topic: InfoTopic, prop: Property, amenity: str | None = None) -> str | None:
    """The answer to a question on ``topic`` from ``prop``'s facts; None when it lacks them."""
    if topic == "check_in":
        return f"Check-in is from {spoken_time(prop.checkin_time)}."
    if topic == "check_out":
        return f"Check-out is by {spoken_time(prop.checkout_time)}."
    if topic == "pets":
        return pets_answer(prop)
    if topic == "amenities":
        return amenities_answer(amenity, prop.amenities)
    if topic == "location":
        return location_answer(prop)
    if topic == "policies":
        return " ".join(_sentence(p) for p in prop.policies) or None
    return None


def fallback_answer(text: str, prop: Property) -> str | None:
    """A short spoken answer from ``prop``'s facts when ``text`` asks about check-in or
    check-out time, pets, amenities, location, policies or price; None for anything else (or
    when the property lacks the fact). Price is the cheapest room type's nightly rate."""
    reading = understand(text, today=_ANY_DAY, prop=prop)
    if reading.intent is Intent.INFO and reading.topic is not None:
        return fact_answer(reading.topic, prop, reading.amenity)
    if reading.intent is Intent.PRICE:
        return price_answer(prop, reading.room_type)
    return None
