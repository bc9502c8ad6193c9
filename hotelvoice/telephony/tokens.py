"""One-time tokens that tie a Media Streams WebSocket to the webhook that created it (sans-IO).

The webhook (whose signature was checked) mints a token bound to the CallSid and passes it as
a ``<Stream>`` ``<Parameter>``; the WebSocket's ``start`` message must bring it back, once,
for that same call, before the token expires. Time is passed in by the caller
(``trio.current_time()``), which keeps this module free of I/O and easy to test.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets

import attrs

__all__ = ["StreamTokens", "TokenCheck"]

# 32 random bytes: 43 URL-safe characters, far from the 500-character <Parameter> limit.
_TOKEN_BYTES = 32


class TokenCheck(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    WRONG_CALL = "wrong_call"


@attrs.define
class _Entry:
    token: str
    call_sid: str
    expires_at: float
    used: bool = False


class StreamTokens:
    """Mints and redeems one-time stream tokens.

    Tokens are valid for ``ttl_s`` seconds after minting (expired at exactly ``ttl_s``).
    Redeemed tokens are remembered until they expire, so a replay reads ``USED``; expired
    entries are forgotten on the next ``mint`` or ``redeem`` (then they read ``UNKNOWN``).
    At most ``max_pending`` tokens (redeemed ones included) are held; beyond that the oldest
    is dropped, which bounds memory when calls arrive and never connect.
    """

    def __init__(self, *, ttl_s: float = 60.0, max_pending: int = 10_000) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be at least 1, got {max_pending}")
        self._ttl_s = ttl_s
        self._max_pending = max_pending
        # Keyed by a digest of the token, so the lookup's timing reveals nothing useful about
        # the secret itself. Insertion order is mint order, hence also expiry order.
        self._entries: dict[bytes, _Entry] = {}
        self._unredeemed = 0

    def mint(self, call_sid: str, now: float) -> str:
        """A fresh token for ``call_sid``, valid until ``now + ttl_s``."""
        self._prune(now)
        while len(self._entries) >= self._max_pending:
            self._forget(next(iter(self._entries)))
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        self._entries[hashlib.sha256(token.encode()).digest()] = _Entry(
            token, call_sid, now + self._ttl_s
        )
        self._unredeemed += 1
        return token

    def redeem(self, token: str, call_sid: str, now: float) -> TokenCheck:
        """Spend ``token`` for ``call_sid``; only ``OK`` means the stream may proceed.

        Any presentation of a known, unexpired token spends it, including one for the wrong
        call: such a token has leaked and must not be accepted afterwards.
        """
        presented = token.encode("utf-8", "surrogatepass")  # it came off the wire: anything goes
        entry = self._entries.get(hashlib.sha256(presented).digest())
        try:
            if entry is None or not hmac.compare_digest(entry.token.encode(), presented):
                return TokenCheck.UNKNOWN
            if now >= entry.expires_at:
                return TokenCheck.EXPIRED
            if entry.used:
                return TokenCheck.USED
            entry.used = True
            self._unredeemed -= 1
            if entry.call_sid != call_sid:
                return TokenCheck.WRONG_CALL
            return TokenCheck.OK
        finally:
            # Pruning after the lookup lets a just-expired token read EXPIRED, not UNKNOWN.
            self._prune(now)

    def pending(self) -> int:
        """How many minted tokens are held and not yet redeemed (expired ones may linger
        until the next ``mint``/``redeem``)."""
        return self._unredeemed

    def _prune(self, now: float) -> None:
        expired = []
        for key, entry in self._entries.items():
            if entry.expires_at > now:
                break  # everything after this was minted later and expires later
            expired.append(key)
        for key in expired:
            self._forget(key)

    def _forget(self, key: bytes) -> None:
        if not self._entries.pop(key).used:
            self._unredeemed -= 1
