"""Names as callers say them, or spell them; never guessed from a list."""

from __future__ import annotations

import pytest

from hotelvoice.language.names import find_name, merge_name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is Tom Baker", "Tom Baker"),
        ("My name is Tom Baker and I need a room.", "Tom Baker"),
        ("it's Peter Novak", "Peter Novak"),
        ("This is Amara Okafor.", "Amara Okafor"),
        ("Novak, N O V A K", "Novak"),
        ("Peter Novak, N O V A K.", "Peter Novak"),
        ("The name is Alvarez, A-L-V-A-R-E-Z.", "Alvarez"),
        ("my name is mary jones", "Mary Jones"),
        ("Put it under Jonathan Whitaker.", "Jonathan Whitaker"),
        ("My name is June Carter.", "June Carter"),  # a month, written as a name
        ("Hi, this is Dr. Smith calling.", "Smith"),
        ("my name is o'brien", "O'Brien"),
        # A name no list holds comes out as said.
        ("my name is Zbigniew Brzezinski", "Zbigniew Brzezinski"),
    ],
)
def test_names(text: str, name: str) -> None:
    assert find_name(text) == name


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Peter Novak", "Peter Novak"),
        ("peter novak", "Peter Novak"),
        ("it's peter novak", "Peter Novak"),
        ("N-O-V-A-K", "Novak"),
        ("Yes, it's Nowak, N O V A K.", "Novak"),  # the spelling wins over what was heard
    ],
)
def test_names_when_just_asked(text: str, name: str) -> None:
    assert find_name(text, expecting=True) == name


@pytest.mark.parametrize(
    "text",
    [
        "this is great",
        "This is the Sunset Inn?",
        "I'm looking for a room",
        "I'm in room 22 and the lamp is broken.",
        "It's Friday.",
        "It's May 5th.",
        "peter novak",  # lower case and nobody asked: not a name
        "Sing me a song.",
        "two adults",
    ],
)
def test_not_names(text: str) -> None:
    assert find_name(text) is None


@pytest.mark.parametrize("text", ["two adults", "I was wondering if", "what time is it"])
def test_not_names_even_when_asked(text: str) -> None:
    assert find_name(text, expecting=True) is None


def test_a_one_word_correction_replaces_the_word_it_corrects() -> None:
    assert merge_name("Peter Nowak", "Novak") == "Peter Novak"
    assert merge_name("Peter Nowak", "Paul") == "Paul Nowak"  # the first name corrected
    assert merge_name("Peter Nowak", "Anna") == "Anna"  # no word it corrects: the whole name
    assert merge_name("Peter Nowak", "Ann Lee") == "Ann Lee"
    assert merge_name(None, "Novak") == "Novak"
