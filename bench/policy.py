"""The offline concierge's understanding on text: intents, slots, and side effects on noise.

Reads the line sets of ``bench/_lines.py`` (the first written before the free-text policy
was tuned; ``--fresh``: a second one, written after the first had been run once) and prints:

* for the caller lines: how many get the right intent, the right slots, and both, from
  :func:`hotelvoice.language.intents.understand` on the line alone; and how many lead a
  fresh concierge to the expected tool (called at once, or read back waiting for a yes);
* for the distractor lines (chit-chat, out-of-domain questions, noise, half sentences): how
  many are understood as nothing (or "hold on"), and how many side effects the policy takes
  (a lead, a hold, a text, a callback, a transfer) when each is said in every state a call
  can be in (fresh, after each question the concierge asks, with each kind of read-back
  waiting) and when all are said in one conversation. The goal is 0.

A benchmark, not a test: it prints figures and asserts nothing.

    .venv/bin/python -m bench.policy [--misses] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._lines import (
    BENCH_HOTEL,
    CALLER_LINES,
    CALLER_NUMBER,
    DISTRACTOR_LINES,
    FRESH_CALLER_LINES,
    FRESH_DISTRACTOR_LINES,
    NOW,
    SIDE_EFFECT_TOOLS,
    TODAY,
    CallerLine,
)
from hotelvoice.engine.policy import ALL_TOOLS, Action, CallTool, ConciergePolicy
from hotelvoice.language.intents import Intent, understand

OFFER = json.dumps(
    {
        "available": True,
        "offers": [
            {"room_type": "king", "name": "King Room", "nightly_rate": "$219.00",
             "total": "$438.00"},
        ],
    }
)  # fmt: skip
RESULTS = {
    "check_availability": OFFER,
    "create_lead": '{"saved": true, "lead_id": "lead_1"}',
    "generate_payment_link": '{"hold_id": "h", "amount": "$438.00", "link_sent": true}',
    "send_sms": '{"status": "queued"}',
    "schedule_callback": '{"callback_id": "cb_1", "when": "tomorrow at 3 PM"}',
    "transfer_to_human": json.dumps(
        {
            "error": "No one can take a transfer at the moment. Offer a callback with "
            "schedule_callback or to pass on a message."
        }
    ),
    "get_hotel_info": '{"hotel": "Sunset Inn", "answer": "Free parking"}',
}
# How to bring a call into each state a distractor may meet: the lines that lead there.
STATES: dict[str, Sequence[str]] = {
    "fresh": (),
    "asked for dates": ("I'd like to book a room.",),
    "asked for the party": ("I'd like a room for next Friday.",),
    "offer made": ("A room for 2 adults next Friday.",),
    "asked for the name": ("A room for 2 adults next Friday.", "Yes."),
    "lead read back": ("A room for 2 adults next Friday.", "Yes.", "My name is Ana Lima."),
    "payment read back": (
        "A room for 2 adults next Friday.",
        "Yes.",
        "My name is Ana Lima.",
        "Yes.",
    ),
    "asked for the room": ("The shower is leaking.",),
    "transfer read back": ("The shower in room 12 is leaking.",),
    "asked person read back": ("Can I talk to the front desk?",),
    "refused transfer": ("Can I talk to the front desk?", "Yes."),
    "asked for a callback time": ("Can someone call me back?",),
    "callback read back": ("Please call me back tomorrow at 3 pm.",),
    "text read back": ("Can you text me the address?",),
    "asked for the message": ("Can I talk to the front desk?", "Yes.", "A message."),
    "anything else": ("What's your address?",),
}


def new_policy() -> ConciergePolicy:
    concierge = ConciergePolicy(BENCH_HOTEL, today=TODAY, tools=ALL_TOOLS, now=NOW)
    concierge.note(f"The caller's phone number is {CALLER_NUMBER}; confirm it before using it.")
    return concierge


def settle(concierge: ConciergePolicy, action: Action, effects: list[str]) -> None:
    """Answer tool calls with canned results until the concierge speaks."""
    while isinstance(action, CallTool):
        if action.name in SIDE_EFFECT_TOOLS:
            effects.append(action.name)
        action = concierge.on_tool_result(action.name, RESULTS[action.name])


def side_effects(lines_before: Sequence[str], lines: Sequence[str]) -> list[str]:
    """The side-effect tools called while ``lines`` are said after ``lines_before``."""
    concierge = new_policy()
    ignored: list[str] = []
    for line in lines_before:
        settle(concierge, concierge.on_caller(line), ignored)
    effects: list[str] = []
    for line in lines:
        settle(concierge, concierge.on_caller(line), effects)
    return effects


def leads_to(line: CallerLine) -> bool:
    """Whether a fresh concierge goes for the line's tool: called, or read back waiting."""
    if line.tool is None:
        return True
    concierge = new_policy()
    action = concierge.on_caller(line.text)
    if isinstance(action, CallTool):
        return action.name == line.tool
    pending = concierge.pending
    if pending is not None:
        return pending.call.name == line.tool
    # Tools that need more first: a stay needs dates and a party, a lead an offer.
    wants = {
        "check_availability": concierge.goal == "stay",
        "create_lead": concierge.slots.name is not None,
        "generate_payment_link": concierge.goal in ("payment", "stay"),
        "schedule_callback": concierge.goal == "callback",
        "send_sms": concierge.goal == "sms",
        "transfer_to_human": concierge.slots.need is not None,
    }
    return wants.get(line.tool, False)


def percent(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "0/0"


def caller_figures(lines: Sequence[CallerLine], label: str, show_misses: bool) -> None:
    intent_right = slots_right = both_right = tool_right = 0
    misses: list[str] = []
    by_intent: Counter[str] = Counter()
    by_intent_right: Counter[str] = Counter()
    for line in lines:
        reading = understand(line.text, today=TODAY, prop=BENCH_HOTEL)
        slots = reading.slots(NOW)
        intent_ok = reading.intent.value == line.intent
        slots_ok = slots == dict(line.slots)
        intent_right += intent_ok
        slots_right += slots_ok
        both_right += intent_ok and slots_ok
        tool_right += leads_to(line)
        by_intent[line.intent] += 1
        by_intent_right[line.intent] += intent_ok and slots_ok
        if not (intent_ok and slots_ok):
            misses.append(
                f"  {line.text!r}\n    expected {line.intent} {dict(line.slots)}\n"
                f"    read     {reading.intent.value} {slots}"
            )
    total = len(lines)
    print(f"caller lines: {total} ({label})")
    print(f"  intent right:          {percent(intent_right, total)}")
    print(f"  slots right:           {percent(slots_right, total)}")
    print(f"  intent and slots right: {percent(both_right, total)}")
    print(f"  leads to its tool:     {percent(tool_right, total)}")
    print("  by intent (intent and slots right):")
    for intent in sorted(by_intent):
        print(f"    {intent:11} {percent(by_intent_right[intent], by_intent[intent])}")
    if show_misses and misses:
        print("  misses:")
        print("\n".join(misses))


def distractor_figures(distractors: Sequence[str], show_misses: bool) -> None:
    nothing = Counter[str]()
    for text in distractors:
        intent = understand(text, today=TODAY, prop=BENCH_HOTEL).intent
        nothing[intent.value] += 1
        if show_misses and intent not in (Intent.NONE, Intent.HOLD):
            print(f"  distractor {text!r} read as {intent.value}")
    total = len(distractors)
    placed = nothing[Intent.NONE.value] + nothing[Intent.HOLD.value]
    print(f"distractor lines: {total}")
    print(f"  understood as nothing or 'hold on': {percent(placed, total)} {dict(nothing)}")
    effects: Counter[str] = Counter()
    tried = 0
    for state, before in STATES.items():
        for text in distractors:
            found = side_effects(before, [text])
            tried += 1
            effects.update(found)
            if show_misses and found:
                print(f"  side effect {found} from {text!r} in state {state!r}")
    print(
        f"  side effects, each line alone in each of {len(STATES)} states ({tried} turns): "
        f"{sum(effects.values())} {dict(effects) or ''}"
    )
    whole: Counter[str] = Counter()
    for before in STATES.values():
        whole.update(side_effects(before, [*distractors, *reversed(distractors)]))
    print(
        f"  side effects, all lines in one conversation from each state: "
        f"{sum(whole.values())} {dict(whole) or ''}"
    )


def timed(label: str, run: Callable[[], object]) -> None:
    started = time.perf_counter()
    run()
    print(f"  ({label}: {time.perf_counter() - started:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="print every line read wrong")
    parser.add_argument(
        "--fresh", action="store_true", help="the second held set (FRESH_* in bench/_lines.py)"
    )
    args = parser.parse_args()
    if args.fresh:
        lines, distractors = FRESH_CALLER_LINES, FRESH_DISTRACTOR_LINES
        label = "bench/_lines.py FRESH_CALLER_LINES, the second held set"
    else:
        lines, distractors = CALLER_LINES, DISTRACTOR_LINES
        label = "bench/_lines.py CALLER_LINES, written before tuning"
    timed("caller lines", lambda: caller_figures(lines, label, args.misses))
    timed("distractors", lambda: distractor_figures(distractors, args.misses))


if __name__ == "__main__":
    main()
