"""Logs that outside input cannot forge, flood or fill with secrets.

Callers, Twilio and the model choose many of the values we log (a CallSid, a mark name, a
StreamError, an exception's text). :class:`SafeLogFilter`, installed on every handler by
``hotelvoice serve`` (:func:`configure_logging`), rewrites each record before it is formatted:

* each argument is redacted (payment tokens, phone numbers) and cut to ``ARG_LIMIT``
  characters, with a ``…(N more chars)`` marker;
* the formatted message is redacted again (values interpolated before logging), its control
  characters, Unicode line separators and bidi controls shown as visible escapes (``\\n``,
  ``\\x1b``, ``\\u2028``), and cut to ``MESSAGE_LIMIT`` characters as escaped (with a
  ``…(N chars in all)`` marker); so a record is one line of bounded length;
* a traceback keeps its lines, but each continuation line starts with ``"| "`` and is escaped
  and cut the same way, so nothing in an exception's text can pass for a record of its own.

Format strings are ours; arguments are outside values. :func:`safe` does the same to one value
for code that builds text before logging. :class:`RateLimit` bounds how often a kind of line
is logged process-wide (a token bucket per kind, with an injected clock).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from typing import TextIO

ARG_LIMIT = 200  # characters of one argument
MESSAGE_LIMIT = 2_000  # characters of a whole formatted message
TRACEBACK_LINE_LIMIT = 1_000
TRACEBACK_LINES = 200  # the first 20 and the last 180 of a longer traceback
CONTINUATION = "| "
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# --------------------------------------------------------------------------------------------
# Escaping and cutting

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE_POINTS = [
    *range(0x20),
    0x7F,
    *range(0x80, 0xA0),  # C1 controls, NEL (U+0085) among them
    0x200E,
    0x200F,
    0x2028,  # line separator
    0x2029,  # paragraph separator
    *range(0x202A, 0x202F),  # bidi embeddings and overrides
    *range(0x2066, 0x206A),  # bidi isolates
    0xFEFF,
]
_ESCAPES: dict[int, str] = {
    point: _NAMED.get(chr(point), f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}")
    for point in _UNSAFE_POINTS
}
_UNSAFE = re.compile("[" + "".join(re.escape(chr(p)) for p in _UNSAFE_POINTS) + "]")


def escape(text: str) -> str:
    """``text`` on one line: control characters and line separators as visible escapes.

    Backslashes are left alone, so an escape reads the same as the characters that spell it.
    """
    return text.translate(_ESCAPES) if _UNSAFE.search(text) else text


def clip(text: str, limit: int = ARG_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…({len(text) - limit} more chars)"


# --------------------------------------------------------------------------------------------
# Redaction

# A payment link's token is a bearer credential: /pay/<token> -> /pay/…
_PAY_TOKEN = re.compile(r"(/pay/)[^\s/?#\"'<>]+")
# tel: and sip: URIs: the user part keeps its last four digits (sip:…0123@pstn.twilio.com).
_URI_USER = re.compile(r"(?<![\w.-])(sips?:|tel:)([^\s@;>,\"'<]+)", re.IGNORECASE)
# E.164 numbers (+14155550123, or %2B14155550123 in a URL): +…0123.
_PHONE = re.compile(r"(?:\+|%2[bB])(\d{5,})")
_LAST_DIGITS = re.compile(r"\d{4}$")


def _uri_user(match: re.Match[str]) -> str:
    digits = _LAST_DIGITS.search(match[2])
    return f"{match[1]}…{digits[0] if digits else ''}"


def redact(text: str) -> str:
    """``text`` without payment tokens and with phone numbers cut to their last four digits.

    Idempotent: redacting twice gives what redacting once gave.
    """
    if "/pay/" in text:
        text = _PAY_TOKEN.sub(r"\1…", text)
    if ":" in text:
        text = _URI_USER.sub(_uri_user, text)
    if "+" in text or "%2" in text:
        text = _PHONE.sub(lambda m: "+…" + m[1][-4:], text)
    return text


def _shortened(text: str, limit: int) -> str:
    """``text`` redacted and clipped; a huge text is redacted only as far as it is kept (with
    room, so a number at the cut is still seen whole)."""
    if len(text) <= limit * 2:
        return clip(redact(text), limit)
    head = redact(text[: limit + 64])
    return f"{head[:limit]}…({len(text) - limit} more chars)"


def _one_line(text: str, limit: int) -> str:
    """``text`` redacted and escaped, at most ``limit`` characters once escaped (then it says
    how long the original was)."""
    head = text if len(text) <= limit * 2 else text[: limit * 2]
    shown = escape(redact(head))
    if len(shown) <= limit and head is text:
        return shown
    return f"{shown[:limit]}…({len(text)} chars in all)"


def safe(value: object, limit: int = ARG_LIMIT) -> str:
    """One outside value as loggable text: redacted, cut to ``limit``, on one line."""
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    return _one_line(text, limit)


# --------------------------------------------------------------------------------------------
# The filter

_PLAIN = (int, float, type(None))  # bool is an int


class Whole(str):
    """Text of our own making (a call's statistics line): logged whole, only the message's
    own limit applies. It is still redacted and escaped with the rest of the message."""


def _safe_arg(value: object) -> object:
    """An argument fit to be formatted: numbers as they are (``%d`` still works), long or
    redactable text replaced by its safe form (escaping waits for the whole message)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Whole):
        return redact(value)
    try:
        text = value if isinstance(value, str) else str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    cleaned = _shortened(text, ARG_LIMIT)
    if isinstance(value, str) or cleaned != text:
        return cleaned
    return value  # an object whose text needs nothing: %r still shows its repr


class _SafeArgs(dict[str, object]):
    """A mapping of arguments (``"%(h)s" % atoms``, as Hypercorn's access log does) whose
    values are made safe as they are looked up; the original is not kept in the record."""

    def __init__(self, source: Mapping[str, object]) -> None:
        super().__init__()
        self._source = source

    def __getitem__(self, key: str) -> object:
        return _safe_arg(self._source[key])


def _message(record: logging.LogRecord) -> str:
    msg: object = record.msg
    try:
        text = msg if isinstance(msg, str) else str(msg)
    except Exception:
        text = f"<unprintable {type(msg).__name__}>"
    args = record.args
    if args:
        safe_args: tuple[object, ...] | _SafeArgs
        if isinstance(args, Mapping):
            safe_args = _SafeArgs(args)
        else:
            safe_args = tuple(_safe_arg(arg) for arg in args)
        try:
            text = text % safe_args
        except Exception:  # a call site's mistake: still one safe line, with what it said
            shown = tuple(safe_args) if isinstance(safe_args, tuple) else "{…}"
            text = f"{text} (bad log arguments: {shown!r})"
    return _one_line(text, MESSAGE_LIMIT)


def _block(text: str) -> str:
    """A traceback or stack, each line escaped and cut, continuation lines marked."""
    lines = text.rstrip("\n").split("\n")
    if len(lines) > TRACEBACK_LINES:
        head = TRACEBACK_LINES // 10
        tail = TRACEBACK_LINES - head
        omitted = len(lines) - head - tail
        lines = [*lines[:head], f"… ({omitted} lines omitted)", *lines[-tail:]]
    return "\n".join(CONTINUATION + _one_line(line, TRACEBACK_LINE_LIMIT) for line in lines)


class SafeLogFilter(logging.Filter):
    """Rewrites every record it sees into its safe form (see the module's docstring).

    Install it on handlers, not loggers: a handler sees the records of every logger below it.
    Never drops a record; a record already rewritten is left as it is.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "hotelvoice_safe", False):
            return True
        record.msg = _message(record)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = _block(record.exc_text)
        if record.stack_info:
            record.stack_info = _block(record.stack_info)
        record.hotelvoice_safe = True
        return True


def configure_logging(
    level: str, *, stream: TextIO | None = None, access_stream: TextIO | None = None
) -> SafeLogFilter:
    """Logging for ``hotelvoice serve``: the root logger on ``stream`` (stderr), Hypercorn's
    access log on ``access_stream`` (stdout), every handler behind a :class:`SafeLogFilter`.

    ``web/server.py`` hands Hypercorn these loggers (not ``"-"``, which would make it build
    handlers of its own that the filter never sees).
    """
    logging.basicConfig(level=level.upper(), format=FORMAT, stream=stream or sys.stderr)
    safe_filter = SafeLogFilter()
    for handler in logging.getLogger().handlers:
        handler.addFilter(safe_filter)
    access = logging.getLogger("hypercorn.access")
    handler = logging.StreamHandler(access_stream or sys.stdout)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(safe_filter)
    access.handlers = [handler]
    access.propagate = False
    # transitions logs every state change at INFO (several lines each); the call's own log
    # lines and its summary already say what an operator needs.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    return safe_filter


# --------------------------------------------------------------------------------------------
# Rate limits


class RateLimit:
    """At most ``burst`` lines of each kind at once, refilled at ``burst`` per ``window_s``.

    Sans-IO: ``clock`` gives the time in seconds (``trio.current_time`` or
    ``time.monotonic``). What it refuses is counted, and the next line of that kind it admits
    says how many were suppressed. At most ``max_kinds`` kinds are tracked; the rest share
    the kind ``"other"``.
    """

    def __init__(
        self,
        *,
        burst: int,
        window_s: float,
        clock: Callable[[], float],
        max_kinds: int = 64,
    ) -> None:
        self.burst = burst
        self.rate = burst / window_s
        self._clock = clock
        self._max_kinds = max_kinds
        self._tokens: dict[str, float] = {}
        self._checked: dict[str, float] = {}
        self.suppressed: dict[str, int] = {}

    def admit(self, kind: str) -> int | None:
        """None: drop this line. Otherwise log it: the number says how many lines of this kind
        were suppressed since the last one admitted."""
        if kind not in self._tokens and len(self._tokens) >= self._max_kinds:
            kind = "other"
        now = self._clock()
        tokens = self._tokens.get(kind, float(self.burst))
        last = self._checked.get(kind, now)
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        self._checked[kind] = now
        if tokens < 1.0:
            self._tokens[kind] = tokens
            self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
            return None
        self._tokens[kind] = tokens - 1.0
        return self.suppressed.pop(kind, 0)

    def log(self, logger: logging.Logger, level: int, kind: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` if ``kind`` is within its rate; True if it was logged."""
        dropped = self.admit(kind)
        if dropped is None:
            return False
        if dropped:
            msg += " (%d similar lines suppressed)"
            args = (*args, dropped)
        logger.log(level, msg, *args, stacklevel=2)
        return True
