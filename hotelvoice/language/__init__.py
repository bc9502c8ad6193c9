"""Understanding what callers say, as text: no audio, no I/O, no clocks.

One module per concept, each with its rules in its docstring:

* ``words``: the shared tables (weekdays, months, number words, ordinals);
* ``text``: one token shape for recognised, spelled-out and typed text ("3 p.m." is "3 pm");
* ``dates``: stays ("January 15th to the 18th", "next Friday for 2 nights"), and the one
  weekday rule: "Friday" is the coming one (today counts), "next Friday" the Friday of next
  calendar week;
* ``when``: callback moments ("tomorrow at 3 pm") in the hotel's zone;
* ``party``: who is coming ("2 adults and 2 kids", "me and my wife");
* ``numbers``: phone numbers ("555-123-4567") and room numbers ("room four twelve");
* ``names``: callers' names as said or spelled ("Novak, N O V A K"), never from a list;
* ``staff``: who should take over (a person asked for, a fault in a room, housekeeping);
* ``intents``: :func:`~hotelvoice.language.intents.understand`, an utterance's intent and
  slots, or nothing when unsure;
* ``answers``: short answers from a hotel's facts;
* ``spoken``: how the concierge says dates, times and money.
"""

from __future__ import annotations
