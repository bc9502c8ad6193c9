"""When a caller needs the hotel's staff: who to, and why in a few words.

Pure. :func:`find_staff_need` reads a request to be put through ("can I speak to a person /
the manager / reception"), an emergency, a complaint, something broken in a room ("the AC
in 212 is broken": maintenance), a noisy room (the front desk) or a housekeeping request
("could we have more pillows"). The rules:

* **Order** when several apply: an emergency, a department named explicitly, a complaint, a
  reservation to change or cancel (the front desk's), maintenance, noise, housekeeping, and
  the front desk for a plain "a person".
* **A fault needs a thing of the hotel's**: "broken", "not working", "leaking" count only
  with a fixture (the AC, the shower, the TV, the lights, the door...), the room, its water
  or power: "the game is broken on my son's tablet" is nobody's job here. Keys and the
  wifi are the front desk's; the rest is maintenance's.
* **Temperature and noise only as statements**: "is it too cold to swim" and "is the room
  noisy" are questions, not problems. A noise that a fixture makes ("the AC is making a
  horrible noise") is maintenance's.
* **Housekeeping items need a request word** ("please", "need", "could use", "more",
  "extra", "ran out of"): "is there daily housekeeping" is a question.
* **Negated needs are none**: "no I don't need to talk to anyone", "nothing is broken".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from hotelvoice.language.text import has, is_number_word, padded, phrase_at
from hotelvoice.properties.model import DEPARTMENTS

NeedKind = Literal["urgent", "asked", "complaint", "reservation", "fault", "noise", "housekeeping"]


@attrs.frozen
class TransferIntent:
    """The caller wants (or needs) staff: which department, and why in a few words.

    ``kind`` says how we know (asked for, or a problem reported); ``issue`` names what is
    wrong or wanted in the hotel's words ("air conditioning", "towels", "noise")."""

    department: str = attrs.field(validator=attrs.validators.in_(DEPARTMENTS))
    reason: str
    kind: NeedKind = "asked"
    issue: str | None = None

    @property
    def asked(self) -> bool:
        """The caller asked for a person or a department in so many words."""
        return self.kind == "asked"


_NEGATORS = frozenset({"not", "never", "nobody", "nothing", "without", "neither", "nor"})
_CLAUSE_BREAKS = frozenset({"but", "however", "actually", "though", "although", "so"})
_CONNECT_VERBS = (
    "speak to", "speak with", "talk to", "talk with", "connect me", "connect", "transfer me",
    "transfer", "put me through", "put me in touch", "get me", "give me", "need", "want",
    "would like", "can i get", "could i get", "can i have", "could i have", "may i have",
    "get ahold of", "get a hold of", "reach", "is there", "looking for", "ask for", "bring",
    "send",
)  # fmt: skip
_SELF_CONNECT = ("transfer me", "connect me", "put me through", "put me in touch")
# Words allowed between a connecting verb and its target ("speak to the front desk").
_TARGET_FILLERS = frozenset({"a", "an", "the", "that", "to", "with", "your", "some", "real", "live",
                             "actual", "me", "us", "through", "in", "touch", "one", "of",
                             "someone", "somebody", "from", "please", "speak", "talk",
                             "directly", "now"})  # fmt: skip
# target -> department; generic targets go to the front desk.
_TARGETS = {
    "real person": "", "live person": "", "actual person": "", "human being": "",
    "person": "", "human": "", "someone": "", "somebody": "", "anyone": "", "anybody": "",
    "representative": "", "rep": "", "agent": "", "operator": "", "staff": "",
    "employee": "", "member of staff": "",
    "receptionist": "front_desk", "reception": "front_desk", "front desk": "front_desk",
    "the desk": "front_desk", "concierge": "front_desk",
    "manager": "management", "general manager": "management", "supervisor": "management",
    "management": "management", "someone in charge": "management",
    "housekeeping": "housekeeping", "house keeping": "housekeeping",
    "maintenance": "maintenance", "engineering": "maintenance", "engineer": "maintenance",
}  # fmt: skip
# Short utterances that are themselves a request ("representative", "front desk please").
_BARE_TARGETS = ("representative", "operator", "agent", "human", "person", "real person",
                 "live person", "reception", "receptionist", "front desk", "manager",
                 "supervisor", "housekeeping", "maintenance")  # fmt: skip
# What may surround a bare target ("hi, the manager please, thanks").
_BARE_FILLERS = frozenset({"hi", "hello", "hey", "the", "a", "an", "your", "please", "thanks",
                           "thank", "you", "ok", "um", "uh", "so", "just", "yes", "yeah",
                           "now", "oh", "quick", "to"})  # fmt: skip
_QUESTION_STARTS = frozenset({"are", "is", "am", "what", "when", "where", "who", "how", "do",
                              "does", "was", "were"})  # fmt: skip
_COMPLAINTS = ("complaint", "complaints", "complain", "complaining")
# An existing booking to change: the front desk's (the concierge only takes new requests).
_RESERVATION_CHANGES = (
    "cancel my reservation", "cancel my booking", "cancel our reservation",
    "cancel our booking", "cancel the reservation", "cancel the booking",
    "change my reservation", "change my booking", "change our reservation",
    "modify my reservation", "modify my booking", "my existing reservation",
    "my existing booking",
)  # fmt: skip
_PROBLEMS = (
    "not working", "does not work", "do not work", "will not work", "stopped working",
    "quit working", "is not working properly", "can not turn on", "will not turn on",
    "will not turn off", "can not turn off", "does not turn on", "not turning on",
    "will not open", "will not close", "will not lock", "will not flush", "will not stop",
    "keeps running", "keep running", "is running nonstop", "out of order", "broken",
    "broke", "broke down", "busted", "stuck", "jammed", "leak", "leaks", "leaking", "leaky",
    "dripping", "clogged", "blocked", "overflowing", "flooded", "flooding", "flickering",
    "not cooling", "not heating", "blowing hot air", "making a noise", "making noise",
    "making a loud noise", "making a horrible noise", "making a weird noise",
    "making a strange noise", "making a funny noise", "rattling", "buzzing", "beeping",
    "no hot water", "no water", "no power", "no electricity", "no heat", "no heating",
    "power is out", "power went out", "power outage",
)  # fmt: skip
# Safety first: these go straight to the front desk, whatever else is said.
_URGENT = (
    "emergency", "ambulance", "injured", "bleeding", "on fire", "there is a fire",
    "call the police", "call security", "i am hurt", "is hurt", "got hurt", "are hurt",
    "smell gas", "smell smoke", "heart attack", "can not breathe", "having a stroke",
    "unconscious",
)  # fmt: skip
# "the emergency exit" is a thing, not an emergency.
_NOT_URGENT_AFTER = frozenset({"exit", "exits", "number", "numbers", "contact", "plan"})
# Things of the hotel's that can break, as said -> as the hotel names them.
_FIXTURES = {
    "air conditioning": "air conditioning", "air conditioner": "air conditioning",
    "ac": "air conditioning", "aircon": "air conditioning", "air con": "air conditioning",
    "cooling": "air conditioning", "heater": "heating", "heating": "heating",
    "radiator": "heating", "heat": "heating", "thermostat": "thermostat",
    "hot water": "hot water", "toilet": "toilet", "shower": "shower", "sink": "sink",
    "bathtub": "bathtub", "tub": "bathtub", "faucet": "faucet", "tap": "faucet",
    "drain": "drain", "tv": "tv", "television": "tv", "remote": "tv remote",
    "lights": "lights", "light": "lights", "lamp": "lights", "fridge": "fridge",
    "refrigerator": "fridge", "minibar": "minibar", "microwave": "microwave",
    "coffee maker": "coffee maker", "kettle": "kettle", "door": "door", "window": "window",
    "lock": "lock", "safe": "safe", "elevator": "elevator", "lift": "elevator", "fan": "fan",
    "outlet": "power outlet", "socket": "power outlet", "ice machine": "ice machine",
    "smoke alarm": "smoke alarm", "smoke detector": "smoke alarm", "blinds": "blinds",
    "curtains": "curtains", "hair dryer": "hair dryer", "iron": "iron",
    "keycard": "key card", "room key": "key card", "key": "key card", "keys": "key card",
    "wifi": "wifi", "internet": "wifi", "water": "water", "power": "power",
    "electricity": "power", "room": "room",
}  # fmt: skip
# Keys and the network are the front desk's job, not maintenance's.
_FRONT_DESK_ISSUES = frozenset({"key card", "wifi"})
# A room at the wrong temperature needs its heating or cooling seen to (maintenance); a noisy
# one needs the front desk (neighbours, a room move).
_TEMPERATURE = (
    "too cold", "too hot", "too warm", "too stuffy", "freezing", "boiling", "very cold",
    "very hot", "really cold", "really hot", "so cold", "so hot",
)  # fmt: skip
_NOISE = ("too noisy", "too loud", "noisy", "loud", "noise")
_FIX_VERBS = ("fix", "repair", "fixed", "repaired", "fixing", "look at")
_HOUSEKEEPING_ITEMS = {
    "towel": "towels", "towels": "towels", "sheets": "sheets", "linens": "sheets",
    "bedding": "sheets", "pillow": "pillows", "pillows": "pillows", "blanket": "blankets",
    "blankets": "blankets", "toiletries": "toiletries", "shampoo": "toiletries",
    "conditioner": "toiletries", "soap": "soap", "toilet paper": "toilet paper",
    "tissues": "tissues", "hangers": "hangers", "trash": "trash", "garbage": "trash",
    "turndown": "turndown", "crib": "crib", "cot": "crib", "rollaway": "rollaway bed",
    "housekeeping": "housekeeping", "house keeping": "housekeeping", "maid": "housekeeping",
}  # fmt: skip
# Asking for an item is a request only with one of these ("is there daily housekeeping" is not).
_HOUSEKEEPING_CUES = (
    "please", "need", "needs", "can i get", "could i get", "can we get", "could we get",
    "can i have", "could i have", "can we have", "could we have", "can someone",
    "could someone", "can somebody", "send", "bring", "more", "extra", "fresh", "another",
    "ran out", "out of", "no", "not been", "was not", "were not", "has not", "have not",
    "never", "change", "replace", "want", "would like", "new", "dirty", "could use",
)  # fmt: skip
_HOUSEKEEPING_ACTIONS = (
    "clean my room", "clean our room", "clean the room", "room cleaned", "make up the room",
    "make up my room", "make up our room", "come clean", "to clean", "room is dirty",
    "room was dirty", "dirty room", "room serviced", "service the room", "service my room",
    "need cleaning", "needs cleaning", "cleaning please",
)  # fmt: skip
_DEPARTMENT_LABELS = {"front_desk": "the front desk", "management": "a manager"}


def _negated(words: Sequence[str], at: int, bare_no: bool = False) -> bool:
    """Whether a negation governs the words starting at ``at``: "i do not need towels", "no
    need to transfer me", "no one". ``bare_no``: a plain "no" right before counts too ("no
    complaints"); it does not for items, where "no towels" is the problem."""
    if bare_no and at > 0 and words[at - 1] == "no":
        return True
    for k in range(at - 1, max(-1, at - 6), -1):
        w = words[k]
        if w in _CLAUSE_BREAKS:
            return False
        if w in _NEGATORS:
            return True
        if w == "no" and k + 1 < len(words) and words[k + 1] in ("need", "one"):
            return True
    return False


def _first(
    words: Sequence[str], phrases: Sequence[str], bare_no: bool = False
) -> tuple[int, str] | None:
    """The earliest non-negated occurrence of any of ``phrases``: ``(position, phrase)``."""
    best: tuple[int, str] | None = None
    for phrase in phrases:
        for at in phrase_at(words, phrase):
            if not _negated(words, at, bare_no) and (best is None or at < best[0]):
                best = (at, phrase)
    return best


def _asked_for(words: Sequence[str]) -> str | None:
    """The department ("" for anyone) when the caller asks to be put through to someone:
    a connecting verb right before a staff target ("speak to the manager", "i need someone
    from housekeeping"), "is the manager available", "transfer me", or a short utterance
    that is only a target ("representative", "front desk please")."""
    verb_ends = [
        at + len(verb.split())
        for verb in _CONNECT_VERBS
        for at in phrase_at(words, verb)
        if not _negated(words, at)
    ]
    found: list[tuple[int, str]] = []
    for target, department in _TARGETS.items():
        for at in phrase_at(words, target):
            # "one person", "two people": a party size, not someone to talk to.
            if _negated(words, at, bare_no=True) or (at > 0 and is_number_word(words[at - 1])):
                continue
            after_at = at + len(target.split())
            after = words[after_at] if after_at < len(words) else ""
            near_verb = any(
                end <= at and all(w in _TARGET_FILLERS for w in words[end:at]) for end in verb_ends
            )
            available = department == "management" and after in ("available", "around", "there")
            rest = [*words[:at], *words[after_at:]]
            bare = (
                target in _BARE_TARGETS
                and words[0] not in _QUESTION_STARTS
                and all(w in _BARE_FILLERS for w in rest)
            )
            if near_verb or available or bare:
                found.append((at, department))
    if found:
        # A named department beats a plain "someone": "someone from housekeeping".
        return min(found, key=lambda f: (not f[1], f[0]))[1]
    for phrase in _SELF_CONNECT:
        if any(not _negated(words, at) for at in phrase_at(words, phrase)):
            return ""
    return None


def _fixture(words: Sequence[str]) -> str | None:
    """The hotel's thing the caller talks about, as the hotel names it; the earliest said,
    and a longer name before a shorter one at the same place ("hot water" before "water")."""
    best: tuple[int, int, str] | None = None
    for said, named in _FIXTURES.items():
        for at in phrase_at(words, said):
            key = (at, -len(said.split()), named)
            if best is None or key < best:
                best = key
    if best is None:
        return None
    # The room itself only when nothing in it is named ("the room is too cold").
    if best[2] == "room":
        others = [
            named for said, named in _FIXTURES.items() if named != "room" and phrase_at(words, said)
        ]
        return others[0] if others else "room"
    return best[2]


def find_staff_need(words: Sequence[str]) -> TransferIntent | None:
    """Whether the caller needs staff, and which department, from normalised ``words``; None
    otherwise (see the module docstring for the rules)."""
    if not words:
        return None
    joined = padded(words)
    statement = words[0] not in _QUESTION_STARTS
    urgent = _first(words, _URGENT) if statement else None
    if urgent is not None:
        after = urgent[0] + len(urgent[1].split())
        if after >= len(words) or words[after] not in _NOT_URGENT_AFTER:
            return TransferIntent("front_desk", f"urgent: {urgent[1]}", "urgent", urgent[1])
    asked = _asked_for(words)
    if asked:
        label = _DEPARTMENT_LABELS.get(asked, asked)
        return TransferIntent(asked, f"asked for {label}", "asked")
    if _first(words, _COMPLAINTS, bare_no=True) is not None:
        return TransferIntent("management", "wants to make a complaint", "complaint", "complaint")
    if _first(words, _RESERVATION_CHANGES) is not None:
        return TransferIntent(
            "front_desk", "wants to change or cancel a reservation", "reservation", "reservation"
        )
    if _first(words, ("locked out",)) is not None:
        return TransferIntent("front_desk", "locked out of the room", "fault", "key card")
    fixture = _fixture(words)
    problem = _first(words, _PROBLEMS)
    if problem is None and fixture is not None and fixture != "room":
        fix = _first(words, _FIX_VERBS)
        problem = None if fix is None else (fix[0], "needs fixing")
    if problem is None and statement:
        problem = _first(words, _TEMPERATURE)
        if problem is not None and fixture in (None, "water", "power"):
            fixture = "room"
    if problem is not None and fixture is not None:
        what = problem[1] if fixture in problem[1] else f"{fixture} {problem[1]}"
        if fixture in _FRONT_DESK_ISSUES:
            return TransferIntent("front_desk", what, "fault", fixture)
        return TransferIntent("maintenance", f"maintenance issue: {what}", "fault", fixture)
    noise = _first(words, _NOISE) if statement else None
    if noise is not None:
        return TransferIntent("front_desk", f"noise complaint: {noise[1]}", "noise", "noise")
    if _first(words, _HOUSEKEEPING_ACTIONS) is not None:
        return TransferIntent(
            "housekeeping", "housekeeping request: room cleaning", "housekeeping", "room cleaning"
        )
    item = _first(words, tuple(_HOUSEKEEPING_ITEMS))
    if item is not None and any(has(joined, cue) for cue in _HOUSEKEEPING_CUES):
        named = _HOUSEKEEPING_ITEMS[item[1]]
        return TransferIntent(
            "housekeeping", f"housekeeping request: {named}", "housekeeping", named
        )
    if asked is not None:
        return TransferIntent("front_desk", "asked to speak to a person", "asked")
    return None
