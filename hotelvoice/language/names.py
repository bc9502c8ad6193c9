"""Callers' names, taken from what they said: never matched against a list of known names.

Pure. The rules:

* **Said after a cue**: "my name is Tom Baker", "the name is Alvarez", "last name is
  Kowalczyk", "put it under Jonathan Whitaker", "under the name ...": the words after it up
  to a pause (a comma or full stop in the transcript) or a word that is not a name ("and",
  "from", "please", ...), at most four.
* **Weaker cues** ("this is", "it's", "I'm", "... speaking") need the words to be written as
  names (capitalised, as a free-form recogniser writes them: "This is Priya Raman."), or the
  concierge to have just asked for the name; "this is great" and "I'm looking" are not
  introductions.
* **Just asked for the name**: one to four name-like words are the name ("Peter Novak").
* **Spelled letters win**: three or more single letters ("N O V A K", "N-O-V-A-K") spell the
  word before them ("Novak, N O V A K") or the name's last word when they start with its
  letter; alone they are the name.
* **A one-word correction** of a longer name replaces the word it corrects (same first
  letter: "Peter Nowak", then "No, Novak" is "Peter Novak"), otherwise the whole name.
"""

from __future__ import annotations

import re

from hotelvoice.language.words import MONTHS

# Words that are never part of a name, however they are written.
_FUNCTION_WORDS = frozenset(
    {
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mr",
        "mrs", "ms", "miss", "dr", "doctor", "sir", "madam",
        "a", "an", "the", "and", "or", "but", "so", "if", "of", "to", "in", "on", "at", "by", "for",
        "from", "with", "without", "about", "into", "as", "is", "are", "was", "were", "be", "been",
        "am", "i", "me", "my", "we", "us", "our", "you", "your", "he", "she", "it", "its", "they",
        "them", "their", "this", "that", "these", "those", "here", "there", "what", "who", "when",
        "where", "why", "how", "which", "not", "no", "yes", "yeah", "yep", "ok", "okay", "sure",
        "please", "thanks", "thank", "hi", "hello", "hey", "um", "uh", "er", "ah", "oh", "hmm",
        "well", "just", "only", "also", "too", "very", "really"
    }
)  # fmt: skip
# Words that are names only when written as one ("June", "Will", "Rose"), never in lower case.
_COMMON_WORDS = frozenset(
    {
        "calling", "call", "looking", "interested", "wondering", "trying", "hoping", "going",
        "staying", "booking", "book", "reserve", "reservation", "room", "rooms", "suite", "king",
        "queen", "double", "single", "twin", "night", "nights", "good", "great", "fine", "sorry",
        "happy", "glad", "speaking", "name", "names", "first", "last", "surname", "full", "spelled",
        "spell", "like", "would", "could", "can", "will", "want", "need", "have", "has", "had",
        "do", "does", "did", "get", "got", "make", "made", "let", "put", "under", "guest", "guests",
        "adult", "adults", "child", "children", "kid", "kids", "person", "people", "party",
        "family", "wife", "husband", "friend", "today", "tomorrow", "tonight", "morning",
        "afternoon", "evening",
        "january", "february", "march", "april", "may", "june", "july", "august",
        "september", "october", "november", "december", "number", "phone", "cell", "mobile",
        "still", "done", "all", "set", "bye", "goodbye", "again", "back", "now", "then", "later",
        "soon", "right", "correct", "wrong", "one", "two", "three", "four", "five", "six", "seven",
        "eight", "nine", "ten", "hotel", "inn", "front", "desk", "manager"
    }
)  # fmt: skip
_STRONG_CUES = re.compile(
    r"\b(?:my (?:full |first |last )?name is|my name's|(?:the |full |first |last )?name is|"
    r"name's|surname is|under the name(?: of)?|put (?:it|that|the reservation|the booking) "
    r"under|(?:book|reserve|hold) it under|it's under|it is under)\s+",
    re.IGNORECASE,
)
_WEAK_CUES = re.compile(r"\b(?:this is|it's|it is|i'm|i am)\s+", re.IGNORECASE)
_SPEAKING = re.compile(r"\b([A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+)?) (?:speaking|here)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*|[,.;:!?]")
_SPELLED = re.compile(r"(?<![A-Za-z])([A-Za-z])(?:[\s.,\-]+([A-Za-z])(?![A-Za-z])){2,}\.?")
_MAX_WORDS = 4


def _name_like(word: str) -> bool:
    bare = word.replace("'", "").replace("-", "")
    lower = word.lower()
    if len(bare) < 2 or not bare.isalpha() or lower in _FUNCTION_WORDS:
        return False
    return word[0].isupper() or lower not in _COMMON_WORDS


def _title(word: str) -> str:
    """ "novak" -> "Novak", "o'brien" -> "O'Brien"; "McDonald" as written."""
    if any(c.isupper() for c in word[1:]) and not word.isupper():
        return word
    return re.sub(r"(^|['\-])([a-z])", lambda m: m[1] + m[2].upper(), word.lower())


_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "doctor"})
_MONTHS = frozenset(MONTHS)


def _words_after(text: str, *, capitalised: bool) -> list[str]:
    """The name-like words at the start of ``text``, up to a pause or another word; a title
    ("Dr.", "Mrs") before them is skipped."""
    words: list[str] = []
    found = _WORD.findall(text)
    while found and found[0].lower() in _TITLES:
        found = found[2:] if len(found) > 1 and found[1] == "." else found[1:]
    for word in found:
        if capitalised and word.lower() in _MONTHS:
            break  # "it's May 5th": a date, not a name
        if not word[0].isalpha() or not _name_like(word) or len(words) == _MAX_WORDS:
            break
        if capitalised and not word[0].isupper():
            break
        words.append(word)
    return words


def _spelled(text: str) -> tuple[str, int] | None:
    """Letters spelled out in ``text``: ``(word, where the spelling starts)``."""
    for match in _SPELLED.finditer(text):
        letters = re.findall(r"[A-Za-z]", match[0])
        if len(letters) >= 3:
            return "".join(letters).capitalize(), match.start()
    return None


def _merge_spelling(words: list[str], spelled: str) -> list[str]:
    """The spelled word replaces the said word it spells (same first letter), or the last
    word said, or is the name alone."""
    for i in range(len(words) - 1, -1, -1):
        if words[i][0].lower() == spelled[0].lower():
            return [*words[:i], spelled, *words[i + 1 :]]
    return [*words, spelled] if words else [spelled]


def find_name(text: str, *, expecting: bool = False) -> str | None:
    """The caller's name in ``text`` (see the module docstring), or None; ``expecting``: the
    concierge has just asked for it."""
    words: list[str] = []
    strong = _STRONG_CUES.search(text)
    if strong is not None:
        words = _words_after(text[strong.end() :], capitalised=False)
    if not words:
        for weak in _WEAK_CUES.finditer(text):
            words = _words_after(text[weak.end() :], capitalised=not expecting)
            if words:
                break
    if not words:
        speaking = _SPEAKING.search(text)
        if speaking is not None:
            words = speaking[1].split()
    spelled = _spelled(text)
    if spelled is not None:
        before = _WORD.findall(text[: spelled[1]])
        said = [w for w in before if w[0].isalpha()]
        if words:
            words = _merge_spelling(words, spelled[0])
        elif said and said[-1].lower() == spelled[0].lower():
            # "Peter Novak, N O V A K": a capitalised first name before the spelled one.
            first = said[-2:-1] if len(said) >= 2 else []
            if first and not (_name_like(first[0]) and first[0][0].isupper()):
                first = []
            words = _merge_spelling([*first, said[-1]], spelled[0])
        elif expecting or strong is not None:
            words = [spelled[0]]
    if not words and expecting:
        bare = [w for w in _WORD.findall(text) if w[0].isalpha()]
        while bare and bare[0].lower() in ("yes", "yeah", "sure", "ok", "okay", "um", "uh", "so"):
            bare = bare[1:]
        if 1 <= len(bare) <= _MAX_WORDS and all(_name_like(w) for w in bare):
            words = bare
    if not words:
        return None
    return " ".join(_title(w) for w in words)


def merge_name(known: str | None, said: str) -> str:
    """The caller's name after they said ``said``, ``known`` before (see the module
    docstring)."""
    if known is None or " " in said:
        return said
    words = known.split()
    for i in range(len(words) - 1, -1, -1):
        if len(words) > 1 and words[i][0].lower() == said[0].lower():
            return " ".join([*words[:i], said, *words[i + 1 :]])
    return said
