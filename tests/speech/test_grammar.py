"""The grammars: they load, they only use words the decoder knows, and the language package
understands every sentence they can produce."""

from __future__ import annotations

import random

import attrs
import pytest

from hotelvoice.engine.grammar import hotel_grammar
from hotelvoice.language.intents import Intent, classify_intent
from hotelvoice.properties.model import Property, RoomType
from hotelvoice.speech import SpeechError
from hotelvoice.speech.grammar import (
    closed_set_grammar,
    dictionary_subset,
    grammar_words,
    in_dictionary,
    spoken_number,
    words_of,
)
from hotelvoice.speech.stt import Recognizer
from tests.speech import jsgf
from tests.speech.conftest import example_properties

# What classify_intent must make of any sentence of each rule of the hotel grammar.
RULE_INTENTS = {
    "booking": {Intent.BOOK},
    "price": {Intent.PRICE, Intent.BOOK},  # with a stay said, the store answers the price
    "stay": {Intent.BOOK},
    "alone": {Intent.BOOK},
    "amenity": {Intent.INFO},
    "pets": {Intent.INFO},
    "times": {Intent.INFO},
    "location": {Intent.INFO},
    "transfer": {Intent.TRANSFER},
    "problem": {Intent.REPORT},
    "housekeeping": {Intent.REPORT},
    "callback": {Intent.CALLBACK},
    "text_me": {Intent.SMS},
    "payment": {Intent.PAYMENT},
    "answer": {Intent.YES, Intent.NO},
    "closing": {Intent.GOODBYE, Intent.THANKS},
    "hello": {Intent.GREETING},
    "reached": {Intent.GREETING},
}


@pytest.mark.parametrize("prop", example_properties(), ids=lambda p: p.id)
def test_the_hotel_grammar_loads_for_each_example_property(prop: Property) -> None:
    grammar = hotel_grammar(prop)
    Recognizer(grammar)  # raises SpeechError if pocketsphinx refuses it
    words = jsgf.vocabulary(grammar)
    assert all(in_dictionary(word) for word in words)
    for room in prop.room_types:
        assert room.name.lower() in grammar
    assert " ".join(words_of(prop.name)) in grammar


@pytest.mark.parametrize("prop", example_properties(), ids=lambda p: p.id)
@pytest.mark.parametrize("rule", RULE_INTENTS)
def test_extraction_understands_every_sentence_of_the_grammar(prop: Property, rule: str) -> None:
    rules = jsgf.rules(hotel_grammar(prop))
    rng = random.Random(f"{prop.id}/{rule}")
    for _ in range(200):
        sentence = jsgf.sentence(rules, rule, rng)
        if rule in ("booking", "price") and rng.random() < 0.5:
            sentence += " " + jsgf.sentence(rules, "stay", rng)
        assert classify_intent(sentence) in RULE_INTENTS[rule], sentence


def test_whole_utterances_have_an_intent_unless_they_are_a_name(sunset_inn: Property) -> None:
    rules = jsgf.rules(hotel_grammar(sunset_inn))
    rng = random.Random(5)
    for _ in range(500):
        sentence = jsgf.sentence(rules, "utterance", rng)
        if not sentence.startswith("my name is"):
            assert classify_intent(sentence) is not Intent.NONE, sentence


# What callers obviously say, by category: each must be a sentence of the grammar (or the
# recogniser forces it onto one that is, often of another intent) and mean its intent.
CALLERS_SAY = [
    ("the heating isn't working", Intent.REPORT),
    ("my tv doesn't work", Intent.REPORT),
    ("the lights aren't working", Intent.REPORT),
    ("our room is too noisy", Intent.REPORT),
    ("it's really cold in my room", Intent.REPORT),
    ("can we get a few more pillows", Intent.REPORT),
    ("i need fresh towels", Intent.REPORT),
    ("can someone clean our room", Intent.REPORT),
    ("housekeeping please", Intent.TRANSFER),
    ("front desk please", Intent.TRANSFER),
    ("can you text me the link", Intent.SMS),
    ("send me the details by text", Intent.SMS),
    ("hi is this the sunset inn", Intent.GREETING),
    ("is this the sunset inn", Intent.GREETING),
    ("good evening", Intent.GREETING),
    ("we'd like to make a booking", Intent.BOOK),
    ("i need to make a reservation", Intent.BOOK),
    ("only myself", Intent.BOOK),
    ("one person", Intent.BOOK),
    ("that sounds great", Intent.YES),
    ("perfect", Intent.YES),
]


@pytest.mark.parametrize(("sentence", "intent"), CALLERS_SAY)
def test_the_grammar_has_what_callers_obviously_say(
    hotel_recognizer: Recognizer, sentence: str, intent: Intent
) -> None:
    assert hotel_recognizer.in_grammar(sentence)
    assert classify_intent(sentence) is intent


def test_the_grammar_does_not_report_things_that_work(hotel_recognizer: Recognizer) -> None:
    assert not hotel_recognizer.in_grammar("the tv is working")
    assert not hotel_recognizer.in_grammar("is this sunset inn")  # "is this the ..." only


def test_property_phrases_the_decoder_cannot_say_are_left_out(sunset_inn: Property) -> None:
    odd = attrs.evolve(
        sunset_inn,
        name="Qwzx Lodge",
        room_types=(*sunset_inn.room_types, RoomType("x", "Zzyzx Deluxe", 1, 2, 10000)),
        amenities=("Qwzx spa", "24-hour gym", "breakfast 7–10 am", "beach towels"),
    )
    grammar = hotel_grammar(odd)
    Recognizer(grammar)
    assert "zzyzx" not in grammar
    assert "qwzx" not in grammar
    assert "twenty four hour gym" in grammar  # a leading number is spoken
    assert "beach towels" not in grammar  # not an amenity to the language package
    assert "| breakfast |" in grammar


def test_the_dictionary() -> None:
    assert in_dictionary("hello")
    assert in_dictionary("i'd")
    assert in_dictionary("housekeeping")
    assert not in_dictionary("qwzx")
    assert not in_dictionary("Hello")  # the grammar is lower case


def test_the_words_of_a_grammar_and_their_dictionary_lines(sunset_inn: Property) -> None:
    grammar = hotel_grammar(sunset_inn)
    assert grammar_words(grammar) == jsgf.vocabulary(grammar)
    weighted = "#JSGF V1.0;\ngrammar g;\npublic <s> = /2/ yes {tag} | <t> no+;\n<t> = [oh];\n"
    assert grammar_words(weighted) == {"yes", "no", "oh"}
    lines = dictionary_subset(["the", "qwzx", "hello"]).splitlines()
    assert [line.split()[0] for line in lines] == ["hello", "hello(2)", "the", "the(2)"]


def test_words_and_numbers_as_the_recogniser_says_them() -> None:
    assert words_of("I'd like the Double-Queen, please!") == [
        "i'd", "like", "the", "double", "queen", "please",
    ]  # fmt: skip
    assert words_of("Check-in is from 3 PM") == ["check", "in", "is", "from", "three", "pm"]
    assert words_of("it\u2019s 24/7") == ["it's", "twenty", "four", "seven"]
    assert [spoken_number(n) for n in (0, 7, 19, 20, 24, 99)] == [
        "zero", "seven", "nineteen", "twenty", "twenty four", "ninety nine",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="0–99"):
        spoken_number(100)


def test_a_closed_set_grammar_has_exactly_its_sentences() -> None:
    grammar = closed_set_grammar(["Yes, please.", "No thanks!", "yes please", "Check-in is at 3."])
    assert jsgf.rules(grammar) == {
        "sentence": "yes please | no thanks | check in is at three",
    }
    Recognizer(grammar)


def test_a_closed_set_grammar_refuses_unknown_words_and_no_words() -> None:
    with pytest.raises(SpeechError, match="qwzx"):
        closed_set_grammar(["hello qwzx"])
    with pytest.raises(ValueError, match="at least one"):
        closed_set_grammar(["...", ""])
