"""One-time tokens that tie a Media Streams WebSocket to the webhook that created it (sans-IO).

The webhook (whose signature was checked) mints a token bound to the CallSid and passes it as
a ``<Stream>`` ``<Parameter>``; the WebSocket's ``start`` message must bring it back, once,
for that same call, before the token expires. Time is passed in by the caller
(``trio.current_time()``), which keeps this module free of I/O and easy to test.

A CallSid has at most one pending token (a second webhook for it replaces the first), and a
CallSid whose stream has started cannot mint again for a few hours: a replayed webhook (its
signature has no timestamp) must not open a second stream that would write into the first
call's record. When the pending tokens reach their bound, minting is refused rather than
dropping a genuine caller's token.

Several worker processes (``hotelvoice serve --workers N``) cannot share this memory: there
the tokens are signed instead (:func:`sign_token`, :func:`open_token`, an HMAC any worker can
check) and what must be remembered (tokens spent, CallSids streamed) is kept in a store every
worker shares (``telephony/shared_tokens.py``). Both kinds are a :class:`TokenBook`.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import struct
from typing import Literal, Protocol

import attrs

__all__ = [
    "SignedToken",
    "StreamTokens",
    "TokenBook",
    "TokenCheck",
    "TokenRefused",
    "open_token",
    "sign_token",
]

# 32 random bytes: 43 URL-safe characters, far from the 500-character <Parameter> limit.
_TOKEN_BYTES = 32
# How long a CallSid whose stream started is remembered: longer than any call
# (HOTELVOICE_MAX_CALL_DURATION is 30 minutes by default) and any retry of its webhook.
STREAMED_MEMORY_S = 4 * 3600.0


class TokenCheck(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    WRONG_CALL = "wrong_call"


class TokenRefused(Exception):
    """No token minted: ``reason`` is ``"full"`` (too many pending) or ``"streamed"`` (this
    CallSid's stream has already started: a replayed webhook)."""

    def __init__(self, reason: Literal["full", "streamed"]) -> None:
        super().__init__(reason)
        self.reason: Literal["full", "streamed"] = reason


class TokenBook(Protocol):
    """What the webhook and the media stream need of a token store (``now``: the caller's
    ``trio.current_time()``)."""

    def mint(self, call_sid: str, now: float) -> str:
        """A fresh token for ``call_sid``. Raises TokenRefused."""
        ...

    def redeem(self, token: str, call_sid: str, now: float) -> TokenCheck:
        """Spend ``token`` for ``call_sid``; only ``OK`` lets the stream proceed."""
        ...


@attrs.define
class _Entry:
    token: str
    call_sid: str
    expires_at: float


class StreamTokens:
    """Mints and redeems one-time stream tokens.

    Tokens are valid for ``ttl_s`` seconds after minting (expired at exactly ``ttl_s``).
    Redeemed tokens are remembered until they expire (at most ``max_pending`` of them, the
    oldest forgotten first), so a replay reads ``USED``; expired tokens are forgotten on the
    next ``mint`` or ``redeem`` (then they read ``UNKNOWN``). At most ``max_pending``
    unredeemed tokens are held: beyond that :meth:`mint` refuses. CallSids whose stream
    started are remembered for ``streamed_memory_s`` (at most ``max_streamed``, oldest first).
    """

    def __init__(
        self,
        *,
        ttl_s: float = 60.0,
        max_pending: int = 10_000,
        streamed_memory_s: float = STREAMED_MEMORY_S,
        max_streamed: int = 50_000,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        if streamed_memory_s <= 0 or max_streamed < 1:
            raise ValueError("streamed_memory_s and max_streamed must be positive")
        self._ttl_s = ttl_s
        self._max_pending = max_pending
        self._streamed_memory_s = streamed_memory_s
        self._max_streamed = max_streamed
        # Keyed by a digest of the token, so the lookup's timing reveals nothing useful about
        # the secret itself. Insertion order is mint order, hence also expiry order.
        self._pending: dict[bytes, _Entry] = {}
        self._by_call: dict[str, bytes] = {}  # CallSid -> its pending token's digest
        self._used: dict[bytes, float] = {}  # redeemed token digest -> its expiry
        self._streamed: dict[str, float] = {}  # CallSid -> when its stream started

    def mint(self, call_sid: str, now: float) -> str:
        """A fresh token for ``call_sid``, valid until ``now + ttl_s``; it replaces any token
        still pending for that CallSid.

        Raises:
            TokenRefused: the pending tokens are at their bound (``"full"``), or this CallSid's
                stream has already started (``"streamed"``).
        """
        self._prune(now)
        if call_sid in self._streamed:
            raise TokenRefused("streamed")
        replaced = self._by_call.pop(call_sid, None)
        if replaced is not None:
            del self._pending[replaced]
        if len(self._pending) >= self._max_pending:
            raise TokenRefused("full")
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        digest = hashlib.sha256(token.encode()).digest()
        self._pending[digest] = _Entry(token, call_sid, now + self._ttl_s)
        self._by_call[call_sid] = digest
        return token

    def redeem(self, token: str, call_sid: str, now: float) -> TokenCheck:
        """Spend ``token`` for ``call_sid``; only ``OK`` means the stream may proceed (and the
        CallSid is then remembered as streamed).

        Any presentation of a known, unexpired token spends it, including one for the wrong
        call: such a token has leaked and must not be accepted afterwards.
        """
        presented = token.encode("utf-8", "surrogatepass")  # it came off the wire: anything goes
        digest = hashlib.sha256(presented).digest()
        entry = self._pending.get(digest)
        try:
            if entry is None or not hmac.compare_digest(entry.token.encode(), presented):
                expires_at = self._used.get(digest)
                if expires_at is not None and now < expires_at:
                    return TokenCheck.USED
                return TokenCheck.UNKNOWN
            if now >= entry.expires_at:
                return TokenCheck.EXPIRED
            self._forget(digest)
            self._used[digest] = entry.expires_at
            while len(self._used) > self._max_pending:
                del self._used[next(iter(self._used))]
            if entry.call_sid != call_sid:
                return TokenCheck.WRONG_CALL
            self._streamed[call_sid] = now
            while len(self._streamed) > self._max_streamed:
                del self._streamed[next(iter(self._streamed))]
            return TokenCheck.OK
        finally:
            # Pruning after the lookup lets a just-expired token read EXPIRED, not UNKNOWN.
            self._prune(now)

    def pending(self) -> int:
        """How many minted tokens are held and not yet redeemed (expired ones may linger
        until the next ``mint``/``redeem``)."""
        return len(self._pending)

    def streamed(self, call_sid: str) -> bool:
        """Whether ``call_sid``'s stream has started (within the memory's span)."""
        return call_sid in self._streamed

    def _prune(self, now: float) -> None:
        expired = []
        for key, entry in self._pending.items():
            if entry.expires_at > now:
                break  # everything after this was minted later and expires later
            expired.append(key)
        for key in expired:
            self._forget(key)
        while self._used:
            key, expires_at = next(iter(self._used.items()))
            if expires_at > now:
                break  # redeemed in about mint order; a straggler waits for the next prune
            del self._used[key]
        horizon = now - self._streamed_memory_s
        while self._streamed:
            call_sid, started_at = next(iter(self._streamed.items()))
            if started_at > horizon:
                break
            del self._streamed[call_sid]

    def _forget(self, key: bytes) -> None:
        entry = self._pending.pop(key)
        if self._by_call.get(entry.call_sid) == key:
            del self._by_call[entry.call_sid]


# --- signed tokens (several workers): sans-IO, the caller gives the secret and the wall clock

_BODY = struct.Struct(">8sQ16s")  # CallSid tag, expiry (ms since the epoch), nonce
_MAC_BYTES = 16
_TOKEN_CHARS = 4 * (_BODY.size + _MAC_BYTES) // 3
_SIGNED_CONTEXT = b"hotelvoice stream token v1\0"
MIN_SECRET_BYTES = 16


@attrs.frozen
class SignedToken:
    """A signed token whose MAC checked: ``nonce`` is what marks it spent."""

    nonce: bytes
    expires_at: float  # seconds since the epoch
    for_call: bool  # whether it was minted for the CallSid presented with it


def _call_tag(call_sid: str) -> bytes:
    return hashlib.sha256(call_sid.encode("utf-8", "surrogatepass")).digest()[:8]


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, _SIGNED_CONTEXT + body, hashlib.sha256).digest()[:_MAC_BYTES]


def sign_token(secret: bytes, call_sid: str, expires_at: float, nonce: bytes) -> str:
    """A token for ``call_sid`` valid until ``expires_at`` (seconds since the epoch): a tag of
    the CallSid, the expiry and the 16-byte ``nonce``, with an HMAC-SHA256 over them under
    ``secret`` (64 URL-safe characters). Raises ValueError for a short secret or nonce."""
    if len(secret) < MIN_SECRET_BYTES or len(nonce) != 16:
        raise ValueError("the secret must be at least 16 bytes and the nonce 16")
    body = _BODY.pack(_call_tag(call_sid), round(expires_at * 1000), nonce)
    return base64.urlsafe_b64encode(body + _mac(secret, body)).decode("ascii")


def open_token(secret: bytes, token: str, call_sid: str) -> SignedToken | None:
    """The token's contents if ``secret`` signed it, else None (malformed, forged, or signed
    with another secret). Whether it has expired or was spent is the caller's to check."""
    if len(token) != _TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token)
    except ValueError:
        return None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if len(body) != _BODY.size or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    tag, expires_ms, nonce = _BODY.unpack(body)
    for_call = hmac.compare_digest(tag, _call_tag(call_sid))
    return SignedToken(nonce=nonce, expires_at=expires_ms / 1000, for_call=for_call)
