"""Stream tokens any worker process can redeem (``hotelvoice serve --workers N``).

A token is signed (:func:`~hotelvoice.telephony.tokens.sign_token`: an HMAC under a secret
the parent process generates and hands to its workers privately), so whichever worker the
media stream reaches can check it. What must be remembered across workers is kept in one
SQLite file they share (the deployment's, see ``web/workers.py``):

- ``spent_tokens``: the nonce of every token presented (its primary key), until it expires,
  so a replayed ``start`` reads ``USED`` on every worker;
- ``streamed_calls``: every CallSid whose stream started (its primary key), for
  :data:`~hotelvoice.telephony.tokens.STREAMED_MEMORY_S`, so a replayed webhook is refused
  on every worker.

Each check is a primary-key ``SELECT`` (a webhook) or two ``INSERT``s in one transaction (a
stream's start), in a file only these checks write (WAL, no fsync: it lives as long as the
deployment): about 20 and 60 microseconds (measured on the 2-core machine), once per webhook
and once per stream start, so it runs on the caller's thread (the event loop). A database
locked past ``BUSY_TIMEOUT_S`` refuses the stream (``UNKNOWN``), never admits it. Expiry
uses the wall clock, which every process shares; the ``now`` passed in
(``trio.current_time()``, per process) is not used.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from hotelvoice.telephony.tokens import (
    MIN_SECRET_BYTES,
    STREAMED_MEMORY_S,
    SignedToken,
    TokenCheck,
    TokenRefused,
    open_token,
    sign_token,
)

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 1.0
# Spent nonces and streamed CallSids past their span are deleted this often (seconds).
CLEANUP_INTERVAL_S = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS spent_tokens (
    nonce BLOB PRIMARY KEY,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS streamed_calls (
    call_sid TEXT PRIMARY KEY,
    started_at REAL NOT NULL
) WITHOUT ROWID;
"""


def connect(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A connection to the shared file (autocommit, WAL, no fsync), its tables created.
    Raises sqlite3.Error if the file cannot be opened."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        conn.executescript(SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


class SharedStreamTokens:
    """Signed one-time stream tokens, spent in a store the workers share (a TokenBook).

    ``path`` is the shared SQLite file, ``secret`` the workers' common key (at least 16
    bytes), ``clock`` the wall clock (seconds since the epoch).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        secret: bytes,
        *,
        ttl_s: float = 60.0,
        streamed_memory_s: float = STREAMED_MEMORY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_s <= 0 or streamed_memory_s <= 0:
            raise ValueError("ttl_s and streamed_memory_s must be positive")
        self._secret = secret
        self._ttl_s = ttl_s
        self._streamed_memory_s = streamed_memory_s
        self._clock = clock
        self._db = connect(Path(path))
        self._cleaned_at = -CLEANUP_INTERVAL_S

    def __repr__(self) -> str:  # never the secret
        return f"SharedStreamTokens(ttl_s={self._ttl_s})"

    def close(self) -> None:
        self._db.close()

    def mint(self, call_sid: str, now: float) -> str:
        """A signed token for ``call_sid``, valid for ``ttl_s``. Nothing is stored: any worker
        can check it. Raises TokenRefused: ``"streamed"`` if this CallSid's stream already ran
        (a replayed webhook), ``"full"`` if the shared file cannot be read."""
        wall = self._clock()
        self._cleanup(wall)
        try:
            streamed = self.streamed(call_sid)
        except sqlite3.Error as exc:  # a replay cannot be ruled out: no stream
            log.error("stream tokens: the shared store failed (%s); no token minted", exc)
            raise TokenRefused("full") from exc
        if streamed:
            raise TokenRefused("streamed")
        return sign_token(self._secret, call_sid, wall + self._ttl_s, secrets.token_bytes(16))

    def redeem(self, token: str, call_sid: str, now: float) -> TokenCheck:
        """Spend ``token`` for ``call_sid``: ``OK`` once, on whichever worker, and the CallSid
        is then remembered as streamed. A token signed for another call is spent too
        (``WRONG_CALL``: it has leaked); a second stream for a CallSid reads ``USED``."""
        signed = open_token(self._secret, token, call_sid)
        if signed is None:
            return TokenCheck.UNKNOWN
        wall = self._clock()
        if wall >= signed.expires_at:
            return TokenCheck.EXPIRED
        try:
            self._db.execute("BEGIN IMMEDIATE")  # both inserts, one commit
            check = self._spend(signed, call_sid, wall)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            log.error("stream tokens: the shared store failed (%s); stream refused", exc)
            return TokenCheck.UNKNOWN
        return check

    def _spend(self, signed: SignedToken, call_sid: str, wall: float) -> TokenCheck:
        if not self._insert("spent_tokens", signed.nonce, signed.expires_at):
            return TokenCheck.USED
        if not signed.for_call:
            return TokenCheck.WRONG_CALL
        if not self._insert("streamed_calls", call_sid, wall):
            return TokenCheck.USED  # two webhooks' tokens: only the first stream runs
        return TokenCheck.OK

    def streamed(self, call_sid: str) -> bool:
        """Whether ``call_sid``'s stream has started, on any worker (within the memory)."""
        row = self._db.execute(
            "SELECT 1 FROM streamed_calls WHERE call_sid = ? AND started_at > ?",
            (call_sid, self._clock() - self._streamed_memory_s),
        ).fetchone()
        return row is not None

    def _insert(self, table: str, key: object, value: float) -> bool:
        """Whether ``key`` was new to ``table`` (the primary key decides, across processes)."""
        cursor = self._db.execute(
            f"INSERT INTO {table} VALUES (?, ?) ON CONFLICT DO NOTHING", (key, value)
        )
        return cursor.rowcount == 1

    def _cleanup(self, wall: float) -> None:
        if wall - self._cleaned_at < CLEANUP_INTERVAL_S:
            return
        self._cleaned_at = wall
        try:
            self._db.execute("DELETE FROM spent_tokens WHERE expires_at <= ?", (wall,))
            self._db.execute(
                "DELETE FROM streamed_calls WHERE started_at <= ?",
                (wall - self._streamed_memory_s,),
            )
        except sqlite3.Error as exc:  # another worker is at it: the next one will do
            log.warning("stream tokens: cleanup skipped (%s)", exc)
