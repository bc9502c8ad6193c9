"""A second held set of caller lines for ``bench/engine.py --fresh``.

Written after the grammar's categories were widened (room problems, housekeeping, texts,
"is this the ...", reservations, a party of one, "sounds good", departments) and never used to
tune it: its wording differs from both benchmarks' sets and from the grammar's own phrases, so
many lines are outside the grammar and test how recognition carries to what callers say
rather than to what it was written for. Every intent but UNKNOWN appears; the label of a line
is what :func:`hotelvoice.language.intents.classify_intent` makes of the written line.
"""

from __future__ import annotations

FRESH_LINES = (
    # greeting
    "Hey there, am I calling the Sunset Inn?",
    "Good evening to you.",
    # availability
    "Are there any vacancies on Thursday?",
    "I'm hoping to book two nights in December.",
    "I'd like to set up a reservation for three guests.",
    "It's only me this time.",
    # price
    "What would two nights cost me?",
    "How expensive is the ocean suite?",
    # amenities
    "Do you offer breakfast?",
    "Is the wifi free?",
    "Have you got a fitness room?",
    # check-in and check-out times
    "How early can we arrive to check in?",
    "What's the latest I can check out?",
    # pets
    "Are cats welcome at the hotel?",
    # location
    "Could you give me directions from the airport?",
    "Which part of town are you located in?",
    # transfers: maintenance, noise, housekeeping, departments
    "The heater in my room stopped working.",
    "The shower has no hot water.",
    "It's freezing in our room.",
    "The guests next door are really loud.",
    "Could somebody bring us fresh sheets?",
    "We're out of toilet paper.",
    "Please connect me with the front desk.",
    "Get me the manager, please.",
    # callback
    "Can you ring me back in an hour?",
    "Please give me a call this evening.",
    # sms
    "Can you send the confirmation to my cell?",
    "Could you message me the details?",
    # payment
    "Do you accept Visa?",
    "Is a deposit required?",
    # confirm, deny, goodbye
    "Yep, that works for me.",
    "Sounds perfect.",
    "Nah, I don't think so.",
    "No, not right now.",
    "Thanks so much, have a good one.",
    "Okay, bye now.",
)
