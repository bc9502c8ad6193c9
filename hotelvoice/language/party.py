"""Who is coming, from what callers say: "2 adults and 2 kids", "me and my wife", "just me".

Pure. The rules (each also where it is implemented): the caller counts as an adult alongside
any companion they name ("my wife" is 2 adults); "family of N" is 2 adults and N - 2
children; a total said with a number of children ("four people, two of them kids") is split;
children alone come with one adult, or two when the caller says "we"/"our"/"us"/"family";
children mentioned without a number are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from hotelvoice.language.dates import NOT_A_DAY_AFTER, RANGE_WORDS, STAY_UNITS, quantity
from hotelvoice.language.text import Token, has, number_at, padded, tokens, word_at
from hotelvoice.language.words import MONTH_NUMBERS


@attrs.frozen
class GuestCount:
    """Who is staying: at least one adult, and any children."""

    adults: int = attrs.field(validator=attrs.validators.ge(1))
    children: int = attrs.field(default=0, validator=attrs.validators.ge(0))


_ADULT_NOUNS = frozenset({"adult", "adults", "grownup", "grownups", "grown"})
_CHILD_NOUNS = frozenset(
    {
        "child", "children", "kid", "kids", "son", "sons", "daughter", "daughters", "baby",
        "babies", "infant", "infants", "toddler", "toddlers", "teenager", "teenagers", "teen",
        "teens", "boy", "boys", "girl", "girls", "grandchild", "grandchildren", "grandkid",
        "grandkids", "grandson", "grandsons", "granddaughter", "granddaughters", "newborn",
        "kiddos", "kiddo", "minor", "minors",
    }
)  # fmt: skip
_PEOPLE_NOUNS = frozenset({"people", "persons", "person", "guests", "guest", "pax",
                           "travelers", "travellers"})  # fmt: skip
# Someone who comes along with the caller; "friend" and "mom" count, "boss" does not (callers
# often book for a boss without travelling).
_COMPANIONS = frozenset(
    {
        "wife", "husband", "partner", "spouse", "girlfriend", "boyfriend", "fiance", "fiancee",
        "friend", "friends", "mom", "mum", "mother", "dad", "father", "brother", "brothers",
        "sister", "sisters", "colleague", "colleagues", "coworker", "coworkers", "grandma",
        "grandmother", "grandpa", "grandfather", "aunt", "aunts", "uncle", "uncles", "roommate",
        "buddy", "buddies", "cousin", "cousins",
    }
)  # fmt: skip
_PAIRS = frozenset({"parents", "grandparents", "inlaws"})
_PLURAL_ONLY = frozenset(
    w for w in _COMPANIONS | _CHILD_NOUNS if w.endswith("s") or w == "children"
)
_ADJECTIVES = frozenset({"little", "young", "small", "more", "other", "grown", "teenage",
                         "older", "younger", "extra", "additional", "total"})  # fmt: skip
_COUPLE_LEAD = frozenset({"a", "the", "young", "married", "older", "retired"})
_POSSESSIVES = frozenset({"my", "our", "the", "his", "her", "with"})
_ALONE = ("just me", "only me", "just myself", "only myself", "by myself", "on my own",
          "alone", "solo", "just for me", "only for me", "just one person")  # fmt: skip
_WE = frozenset({"we", "our", "us", "family"})
_MAX_PARTY = 99  # larger numbers are room numbers, years or prices


def find_party(toks: Sequence[Token]) -> GuestCount | None:
    """Who is coming, or None when ``text`` says nothing about it.

    "2 adults and 1 child", "two adults one kid", "me and my wife" (2), "my wife and our two
    kids" (2 + 2), "four people"/"party of 4"/"for 3 guests" (all adults), "a couple" (2),
    "just me" (1). Rules: the caller counts as an adult alongside any companion they name
    ("my wife" = 2 adults); "family of N" is 2 adults and N - 2 children; a total that comes
    with a number of children ("four people, two of them kids") is split; children alone
    come with one adult, or two when the caller says "we"/"our"/"us"/"family". Children
    mentioned without a number ("my wife and the kids") are not counted.
    """
    words = [t.w for t in toks]
    joined = padded(words)
    adults = children = companions = 0
    said_adults = said_children = couple = False
    total: int | None = None
    family: int | None = None
    us: int | None = None
    i = 0
    while i < len(toks):
        w = words[i]
        if w in ("family", "party", "group") and word_at(toks, i + 1) == "of":
            tok = number_at(toks, i + 2)
            if tok is not None and tok.num is not None and not tok.ordinal:
                if 1 <= tok.num <= _MAX_PARTY:
                    if w == "family":
                        family = tok.num
                    else:
                        total = tok.num
                i += 3
                continue
        if w == "couple" and word_at(toks, i - 1) in _COUPLE_LEAD:
            nxt = word_at(toks, i + 1)
            if (
                nxt != "of"
                and nxt not in STAY_UNITS
                and number_at(toks, i + 1) is None
                and nxt not in _ADULT_NOUNS | _CHILD_NOUNS | _PEOPLE_NOUNS
            ):
                couple = True
                i += 1
                continue
        if w == "both" and (word_at(toks, i + 1), word_at(toks, i + 2)) == ("of", "us"):
            us = 2
            i += 3
            continue
        if w in _PAIRS or (w, word_at(toks, i + 1)) == ("in", "laws"):
            companions += 2
            i += 1 if w in _PAIRS else 2
            continue
        q = quantity(toks, i)
        is_number = number_at(toks, i) is not None
        if q is not None and 1 <= q[0] <= _MAX_PARTY:
            value, j = q
            while word_at(toks, j) in _ADJECTIVES:
                j += 1
            noun = word_at(toks, j)
            if noun == "ones" and word_at(toks, j - 1) == "little":
                noun = "kids"
            if noun in _ADULT_NOUNS:
                adults += value
                said_adults = True
            elif noun in _CHILD_NOUNS:
                children += value
                said_children = True
            elif noun in _COMPANIONS:
                companions += value
            elif noun == "of" and word_at(toks, j + 1) == "us" and is_number:
                us = value
                j += 1
            elif noun in _PEOPLE_NOUNS and is_number:
                total = value
            elif is_number and _counts_party(toks, i):
                total = value
                j = i
            else:
                i += 1
                continue
            i = j + 1
            continue
        if w in _COMPANIONS and w not in _PLURAL_ONLY and word_at(toks, i - 1) in _POSSESSIVES:
            companions += 1
        elif w in _CHILD_NOUNS and w not in _PLURAL_ONLY and word_at(toks, i - 1) in _POSSESSIVES:
            children += 1
            said_children = True
        i += 1
    return _party(
        adults if said_adults else None,
        children if said_children else None,
        total=total,
        family=family,
        us=us,
        companions=companions,
        couple=couple,
        alone=any(has(joined, phrase) for phrase in _ALONE),
        we=any(w in _WE for w in words),
    )


def _counts_party(toks: Sequence[Token], i: int) -> bool:
    """ "a room for two", "we are three", "us two": a bare number that counts people."""
    before = (word_at(toks, i - 2), word_at(toks, i - 1))
    nxt = word_at(toks, i + 1)
    if nxt in NOT_A_DAY_AFTER or nxt in MONTH_NUMBERS or nxt in RANGE_WORDS or nxt in STAY_UNITS:
        return False
    if number_at(toks, i + 1) is not None or (number_at(toks, i) or Token("")).ordinal:
        return False
    if before[1] == "for" and before[0] in ("room", "reservation", "booking", "table", "something"):
        return True
    return before in (("we", "are"), ("there", "are")) or before[1] == "us"


def _party(
    adults: int | None,
    children: int | None,
    *,
    total: int | None,
    family: int | None,
    us: int | None,
    companions: int,
    couple: bool,
    alone: bool,
    we: bool,
) -> GuestCount | None:
    """Combine what was said, most explicit first (see :func:`extract_guests`)."""
    if family is not None:
        if adults is not None:
            return GuestCount(adults, children if children is not None else max(family - adults, 0))
        if children is not None:
            return GuestCount(max(family - children, 1), children)
        return GuestCount(2 if family >= 2 else 1, max(family - 2, 0))
    kids = children or 0
    if adults is not None:
        everyone = total if total is not None else us
        if children is None and everyone is not None and everyone > adults:
            kids = everyone - adults
        return GuestCount(adults, kids)
    if couple or companions:
        # The caller comes too: "me and my wife" and "my wife" are both two adults.
        return GuestCount((2 if couple else 1) + companions, kids)
    if us is not None:
        # "the two of us and our baby": "us" are the grown-ups.
        return GuestCount(us, kids)
    if total is not None:
        # "four people, two of them kids": the total includes the children.
        return GuestCount(max(total - kids, 1), kids)
    if kids:
        return GuestCount(2 if we else 1, kids)
    if alone:
        return GuestCount(1)
    return None


def extract_guests(text: str) -> GuestCount | None:
    """Who is coming according to ``text`` (see :func:`find_party`), or None."""
    return find_party(tokens(text))
