"""A small JSGF reader for tests: the rules of a grammar and random sentences from them.

Covers what ``hotelvoice.speech.grammar`` writes: words, ``<rule>`` references, ``( )``
groups, ``[ ]`` options and ``|`` alternatives (no weights, tags or ``*``/``+``).
"""

from __future__ import annotations

import random
import re

_TOKEN = re.compile(r"<[^>]+>|[()\[\]|]|[^\s()\[\]|<>]+")

# An expansion: a sequence of items; an item is a word, a rule name ("<x>"), a choice
# between expansions, or an optional expansion.
Expansion = list["Item"]
Item = str | tuple[str, list[Expansion]]


def rules(grammar: str) -> dict[str, str]:
    """Rule name (without brackets) -> body, from the grammar's ``<name> = body;`` lines."""
    found = {}
    for match in re.finditer(r"(?:public\s+)?<([^>]+)>\s*=\s*([^;]*);", grammar):
        found[match[1]] = match[2].strip()
    return found


def _parse(tokens: list[str], at: int, closer: str | None) -> tuple[list[Expansion], int]:
    """Alternatives up to ``closer`` (or the end): ``(alternatives, index after closer)``."""
    alternatives: list[Expansion] = [[]]
    while at < len(tokens):
        token = tokens[at]
        if token == closer:
            return alternatives, at + 1
        if token == "|":
            alternatives.append([])
            at += 1
        elif token in "([":
            inner, at = _parse(tokens, at + 1, ")" if token == "(" else "]")
            alternatives[-1].append(("choice" if token == "(" else "option", inner))
        else:
            alternatives[-1].append(token)
            at += 1
    if closer is not None:
        raise ValueError(f"unclosed group, expected {closer!r}")
    return alternatives, at


def sentence(grammar: dict[str, str], rule: str, rng: random.Random) -> str:
    """One random sentence of ``rule`` (each alternative and option equally likely)."""
    alternatives, _ = _parse(_TOKEN.findall(grammar[rule]), 0, None)
    return " ".join(_expand(grammar, rng.choice(alternatives), rng))


def _expand(grammar: dict[str, str], expansion: Expansion, rng: random.Random) -> list[str]:
    words: list[str] = []
    for item in expansion:
        if isinstance(item, tuple):
            kind, alternatives = item
            if kind == "option" and rng.random() < 0.5:
                continue
            words += _expand(grammar, rng.choice(alternatives), rng)
        elif item.startswith("<"):
            words += sentence(grammar, item[1:-1], rng).split()
        else:
            words.append(item)
    return words


def vocabulary(grammar: str) -> set[str]:
    """Every word the grammar's rules use."""
    words = set()
    for body in rules(grammar).values():
        words |= {t for t in _TOKEN.findall(body) if t not in "()[]|" and not t.startswith("<")}
    return words
