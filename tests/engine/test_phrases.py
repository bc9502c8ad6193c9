"""What the offline concierge says: written replies as spoken words, and the grammar of every
reply the softphone recognises the agent's side with."""

from __future__ import annotations

import json

import attrs
import pytest

from hotelvoice.engine.phrases import (
    agent_grammar,
    number_words,
    ordinal_words,
    spoken_clauses,
    spoken_words,
    year_words,
)
from hotelvoice.engine.policy import ConciergePolicy, Say
from hotelvoice.speech.stt import Recognizer, telephone_band
from hotelvoice.speech.tts import Speaker
from tests.engine.test_policy import HOTEL as POLICY_HOTEL
from tests.engine.test_policy import TODAY, TOOLS

# The policy tests' hotel, with a second department, amenities and a pet fee to talk about.
HOTEL = attrs.evolve(
    POLICY_HOTEL,
    departments={"front_desk": "+15550000000", "housekeeping": "+15550000001"},
    amenities=("Outdoor pool", "Free parking"),
    pets_allowed=True,
    pet_fee_cents=2500,
)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("$189.00 a night", "one hundred eighty nine dollars a night"),
        ("$1,250.50 in total", "one thousand two hundred fifty dollars and fifty cents in total"),
        ("$1.01", "one dollar and one cent"),
        ("Check-in is from 3 PM.", "Check in is from three p m."),
        ("until 11:05 AM", "until eleven oh five a m"),
        ("Friday, December 24th, 2027", "Friday, December twenty fourth, twenty twenty seven"),
        ("from the 1st to the 3rd, 2 nights", "from the first to the third, two nights"),
        ("12 Ocean Drive", "twelve Ocean Drive"),
        ("Bed & Breakfast", "Bed  and  Breakfast"),
    ],
)
def test_replies_are_given_to_the_voice_as_words(written: str, said: str) -> None:
    assert spoken_words(written) == said


def test_number_words() -> None:
    assert [number_words(n) for n in (0, 7, 40, 100, 219, 1000, 2305, 999_999)] == [
        "zero",
        "seven",
        "forty",
        "one hundred",
        "two hundred nineteen",
        "one thousand",
        "two thousand three hundred five",
        "nine hundred ninety nine thousand nine hundred ninety nine",
    ]
    assert [ordinal_words(n) for n in (1, 12, 20, 22, 30, 31)] == [
        "first",
        "twelfth",
        "twentieth",
        "twenty second",
        "thirtieth",
        "thirty first",
    ]
    assert [year_words(y) for y in (2000, 2005, 2026)] == [
        "two thousand",
        "twenty oh five",
        "twenty twenty six",
    ]
    with pytest.raises(ValueError, match="0–999,999"):
        number_words(1_000_000)


def test_clauses_split_where_the_voice_pauses() -> None:
    assert spoken_clauses("Thank you, Mary Jones. I've passed it on!") == [
        "thank you",
        "mary jones",
        "i've passed it on",
    ]


def _conversations() -> list[str]:
    """Every reply of a set of scripted calls, as the policy writes them."""
    offer = {
        "available": True,
        "offers": [
            {"room_type": "king", "name": "King Room", "nightly_rate": "$189.00",
             "total": "$378.00"},
        ],
    }  # fmt: skip
    scripts: list[list[str | tuple[str, object]]] = [
        [
            "hi i'd like to book a room",
            "next weekend",
            "me and my wife",
            ("check_availability", offer),
            "yes please",
            "my name is mary jones",
            ("create_lead", {"lead_id": 1}),
            "the air conditioning is not working",
            "no thanks",
            "my room is too noisy",
            "can i get some extra towels",
            "can i speak to housekeeping",
            ("transfer_to_human", {"transferring_to": "housekeeping"}),
        ],
        [
            "a room for five adults december fourth to sixth",
            ("check_availability", {"available": False, "offers": []}),
            "two adults",
            ("check_availability", {"available": False, "offers": []}),
            "what time is check in",
            "what time is check out",
            "can i bring my dog",
            "do you have a pool",
            "is there a gym",
            "where are you located",
            "how much is a room",
            "can you call me back",
            "no thanks",
            "hello",
            "mumble",
            "mumble",
            "mumble",
            "goodbye",
        ],
    ]
    replies = []
    for script in scripts:
        policy = ConciergePolicy(HOTEL, today=TODAY, tools=TOOLS)
        replies.append(policy.greeting().text)
        replies.append(policy.reprompt().text)
        for step in script:
            if isinstance(step, tuple):
                action = policy.on_tool_result(step[0], json.dumps(step[1]))
            else:
                action = policy.on_caller(step)
            if isinstance(action, Say):
                replies.append(action.text)
    return replies


@pytest.fixture(scope="module")
def agent_recognizer() -> Recognizer:
    return Recognizer(agent_grammar(HOTEL, TODAY))


def test_every_reply_of_the_policy_is_in_the_agents_grammar(
    agent_recognizer: Recognizer,
) -> None:
    replies = _conversations()
    assert len(replies) >= 25
    missing = [r for r in replies if not agent_recognizer.in_grammar(" ".join(spoken_clauses(r)))]
    assert missing == []
    # Replies back to back, as one agent turn can hold them.
    assert agent_recognizer.in_grammar(" ".join(spoken_clauses(" ".join(replies[:3]))))
    assert not agent_recognizer.in_grammar("i would like to book a room")


def test_the_agents_replies_are_recognised_from_telephone_audio(
    agent_recognizer: Recognizer,
) -> None:
    voice = Speaker("en-us+f2", 165)  # the engine's voice
    replies = [
        "Thank you for calling Sunset Inn. How can I help you today?",
        "Certainly. For which dates would you like to stay?",
        "May I have your name, please?",
        "Thank you, Mary Jones. I've passed your request to our reservations team, who will "
        "confirm by phone or text. Is there anything else I can help you with?",
        "Of course. I'm connecting you to housekeeping now. Goodbye!",
        "I'm sorry, our rooms sleep at most 4 guests. How many guests will there be?",
    ]
    exact = 0
    for reply in replies:
        audio = telephone_band(voice.synthesize_at(spoken_words(reply), 16000))
        heard = agent_recognizer.recognize(audio).text
        exact += heard == " ".join(spoken_clauses(reply))
    assert exact >= 5  # measured: 6 of 6
