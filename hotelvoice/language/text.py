"""One shape for every caller's text: lower-case word tokens, numbers as values.

Callers' words arrive three ways: from a free-form recogniser ("Room 212, the A/C is broken.",
"3 p.m.", "January 15th to the 18th"), with numbers in words ("two adults", "the
twenty fourth") and typed ("Jan 15-17, 2 adults"). :func:`tokens` reads all three the same:
contractions expanded ("isn't" and "isnt" are both "is not"), written dates and ranges
spelled as said ("15-17" is "15 to 17"), clock suffixes joined ("3 p.m." and "3pm" are
"3 pm"), punctuation dropped (except the slashes and colons inside numbers) and number words
combined ("twenty first" is one ordinal 21). Every reader in this package works on them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

from hotelvoice.language.words import ORDINALS, TENS, UNITS

# Recognisers write contractions without the apostrophe; both spellings end up as two words
# so that negations read the same ("dont" and "don't" are both "do not").
_SPOKEN_FORMS = {
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not",
    "cannot": "can not", "wont": "will not", "isnt": "is not", "arent": "are not",
    "wasnt": "was not", "werent": "were not", "havent": "have not", "hasnt": "has not",
    "hadnt": "had not", "couldnt": "could not", "wouldnt": "would not",
    "shouldnt": "should not", "aint": "is not", "im": "i am", "ive": "i have",
    "youre": "you are", "theyre": "they are", "wanna": "want to", "gonna": "going to",
    "gotta": "got to", "tmrw": "tomorrow", "tmr": "tomorrow", "tomorow": "tomorrow",
    "tonite": "tonight", "okay": "ok", "thx": "thanks", "thats": "that is",
    "whats": "what is", "wheres": "where is", "whens": "when is", "theres": "there is",
    "heres": "here is",
    "lets": "let us", "itll": "it will", "thatll": "that will", "youll": "you will",
}  # fmt: skip
# A 1-6 digit number, maybe an ordinal: longer runs are phone or card numbers, never counts.
_DIGITS = re.compile(r"(\d{1,6})(st|nd|rd|th)?")


@attrs.frozen
class Token:
    """One normalised word; ``num`` is set for numbers, written as digits or as words."""

    w: str
    num: int | None = None
    ordinal: bool = False
    digits: bool = False


def normalize(text: str) -> str:
    """Lower case, contractions expanded, written dates, ranges and clock times spelled as a
    recogniser would say them, and punctuation gone (except the slashes and colons inside
    numbers)."""
    s = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    s = re.sub(r"\bcan't\b", "can not", s)
    s = re.sub(r"\bwon't\b", "will not", s)
    s = re.sub(r"n't\b", " not", s)
    s = re.sub(r"'re\b", " are", s)
    s = re.sub(r"\bi'm\b", "i am", s)
    s = re.sub(r"\b(it|that|what|where|when|there|here|who|how|he|she)'s\b", r"\1 is", s)
    s = re.sub(r"\blet's\b", "let us", s)
    s = re.sub(r"'ll\b", " will", s)
    s = re.sub(r"'ve\b", " have", s)
    s = re.sub(r"'d\b", " would", s)
    s = s.replace("'", "")  # possessives: "new year's" -> "new years", as recognisers write
    # "Adults: 2" on a web form reads as "2 adults".
    s = re.sub(
        r"\b(adults?|children|child|kids?|guests?|people|persons)\s*[:=]\s*(\d+)", r"\2 \1", s
    )
    # Clock times: "3 p.m.", "3pm", "3 P.M", "10:30a.m." -> "3 pm".
    s = re.sub(r"(\d)\s*([ap])\.?\s?m\b\.?", r"\1 \2m", s)
    s = re.sub(r"\b([ap])\.\s?m\.", r"\1m", s)  # "three p.m."
    s = re.sub(r"\bo\s*clock\b", "oclock", s)
    # ISO dates become US month/day/year so that one token shape covers both.
    s = re.sub(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b", r"\2/\3/\1", s)
    s = re.sub(r"\bw/\s*", "with ", s)
    s = re.sub(r"\ba\s*/\s*c\b", "ac", s)  # "A/C"
    s = re.sub(r"(\d(?:st|nd|rd|th)?)\s*[-\u2013\u2014]+\s*(?=\d)", r"\1 to ", s)  # 15-17
    s = re.sub(r"\s[-\u2013\u2014]+\s", " to ", s)  # "friday - sunday"
    s = s.replace("&", " and ").replace("+", " and ")
    s = re.sub(r"(?<=\d)/(?=\d)", "\x00", s)
    s = re.sub(r"(?<=\d):(?=\d)", "\x01", s)
    s = re.sub(r"[^\w\s\x00\x01]|_", " ", s)
    s = re.sub(r"\bweek end\b", "weekend", s)
    s = re.sub(r"\bkey card\b", "keycard", s)  # so "key card" is not a payment card
    s = re.sub(r"\bwi fi\b", "wifi", s)
    s = re.sub(r"\b(a|the) call back\b", r"\1 callback", s)  # the noun, not the verb
    return s.replace("\x00", "/").replace("\x01", ":")


def words_of(text: str) -> list[str]:
    """``text`` normalised and split, contractions written without apostrophes expanded."""
    return [part for raw in normalize(text).split() for part in _SPOKEN_FORMS.get(raw, raw).split()]


def tokens(text: str) -> list[Token]:
    """``text`` as tokens, with number words combined ("twenty first" is one ordinal 21)."""
    return tokens_of(words_of(text))


def tokens_of(words: Sequence[str]) -> list[Token]:
    """Normalised ``words`` as tokens (see :func:`tokens`)."""
    toks: list[Token] = []
    i = 0
    while i < len(words):
        w = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if w in TENS and 0 < UNITS.get(nxt, 10) < 10:
            toks.append(Token(f"{w} {nxt}", TENS[w] + UNITS[nxt]))
            i += 2
            continue
        if w in TENS and ORDINALS.get(nxt, 10) < 10:
            toks.append(Token(f"{w} {nxt}", TENS[w] + ORDINALS[nxt], ordinal=True))
            i += 2
            continue
        if (w in UNITS and w != "zero") or w in TENS:
            toks.append(Token(w, UNITS.get(w) or TENS[w]))
        elif w in ORDINALS:
            toks.append(Token(w, ORDINALS[w], ordinal=True))
        elif m := _DIGITS.fullmatch(w):
            toks.append(Token(w, int(m[1]), ordinal=m[2] is not None, digits=True))
        else:
            toks.append(Token(w))
        i += 1
    return toks


def word_at(toks: Sequence[Token], i: int) -> str:
    """The word at ``i``, or "" outside the text (so look-ahead never needs bounds checks)."""
    return toks[i].w if 0 <= i < len(toks) else ""


def number_at(toks: Sequence[Token], i: int) -> Token | None:
    """The number token at ``i``, if there is one."""
    if 0 <= i < len(toks) and toks[i].num is not None:
        return toks[i]
    return None


def phrase_at(words: Sequence[str], phrase: str) -> list[int]:
    """Where the words of ``phrase`` occur in ``words``, in order."""
    parts = phrase.split()
    n = len(parts)
    return [i for i in range(len(words) - n + 1) if list(words[i : i + n]) == parts]


def padded(words: Sequence[str]) -> str:
    """``words`` joined with a space before and after, for :func:`has`."""
    return " " + " ".join(words) + " "


def has(padded_words: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs as whole words in ``padded_words`` (see :func:`padded`)."""
    return f" {phrase} " in padded_words


def is_number_word(word: str) -> bool:
    """A count as a token's word: "two", "twenty one", "3"."""
    first = word.split(" ", 1)[0]
    return word.isdigit() or first in UNITS or first in TENS
