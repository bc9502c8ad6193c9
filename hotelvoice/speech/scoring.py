"""How close a transcript is to what was said, word by word, for tests and benchmarks.

Whisper writes numbers as digits ("3 p.m.", "room 212", "555-123-4567", "the 15th") and
punctuates; a script says "three pm" or "555 123 4567". :func:`spoken_words` puts both into
one form (lower case, no punctuation, numbers under twenty and ordinals as digits, a phone
number's digit groups as one word) so that :func:`word_errors` counts only real differences:
substitutions, insertions and deletions (Levenshtein distance over words). Pure; no I/O.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["spoken_words", "word_accuracy", "word_errors"]

_NUMBER_WORDS: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
)  # fmt: skip
_NUMBERS: Final = {word: str(value) for value, word in enumerate(_NUMBER_WORDS)}
_ORDINAL: Final = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_THOUSANDS: Final = re.compile(r"(\d),(\d{3})\b")
_TIME_OF_DAY: Final = re.compile(r"\b(\d+)\s*([ap])\.?\s*m\b\.?")
_WORD: Final = re.compile(r"[a-z0-9']+")


def spoken_words(text: str) -> list[str]:
    """The words of ``text`` in the one form both sides are compared in."""
    text = text.lower().replace("-", " ")
    text = _TIME_OF_DAY.sub(r"\1 \2m", text)
    text = _ORDINAL.sub(r"\1", _THOUSANDS.sub(r"\1\2", text))
    words: list[str] = []
    for word in _WORD.findall(text):
        word = _NUMBERS.get(word.strip("'"), word.strip("'"))
        if not word:
            continue
        # Digit groups of a phone number ("555 123 4567", "555-1234567") as one word.
        previous = words[-1] if words else ""
        if word.isdigit() and len(word) >= 3 and previous.isdigit() and len(previous) >= 3:
            words[-1] += word
            continue
        words.append(word)
    return words


def word_errors(reference: str, hypothesis: str) -> int:
    """Words substituted, inserted or deleted to turn ``reference`` into ``hypothesis``."""
    said, heard = spoken_words(reference), spoken_words(hypothesis)
    distances = list(range(len(heard) + 1))
    for i, word in enumerate(said, 1):
        diagonal, distances[0] = distances[0], i
        for j, other in enumerate(heard, 1):
            diagonal, distances[j] = (
                distances[j],
                min(distances[j] + 1, distances[j - 1] + 1, diagonal + (word != other)),
            )
    return distances[-1]


def word_accuracy(pairs: list[tuple[str, str]]) -> float:
    """1 - word error rate over ``(reference, hypothesis)`` pairs: 1.0 when every word is
    right; below 0 when the hypotheses add more words than the references have."""
    total = sum(len(spoken_words(reference)) for reference, _ in pairs)
    errors = sum(word_errors(reference, hypothesis) for reference, hypothesis in pairs)
    return 1 - errors / total if total else 1.0
