"""Signed stream tokens spent in a file several worker processes share: each "worker" here is
its own SharedStreamTokens with its own connection to the file, as in two processes."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotelvoice.telephony.shared_tokens import SharedStreamTokens
from hotelvoice.telephony.tokens import TokenCheck, TokenRefused, open_token, sign_token

CALL = "CA00000000000000000000000000000001"
OTHER_CALL = "CA00000000000000000000000000000002"
SECRET = bytes(range(32))


class Wall:
    """A wall clock the test moves (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def workers(tmp_path: Path, wall: Wall) -> Iterator[tuple[SharedStreamTokens, SharedStreamTokens]]:
    path = tmp_path / "shared.sqlite"
    first = SharedStreamTokens(path, SECRET, ttl_s=60.0, clock=wall)
    second = SharedStreamTokens(path, SECRET, ttl_s=60.0, clock=wall)
    yield first, second
    first.close()
    second.close()


def test_a_token_minted_by_one_worker_is_redeemed_by_the_other_once(
    workers: tuple[SharedStreamTokens, SharedStreamTokens],
) -> None:
    a, b = workers
    token = a.mint(CALL, now=0.0)
    assert len(token) == 64 and token.replace("-", "").replace("_", "").isalnum()
    assert b.redeem(token, CALL, now=0.0) is TokenCheck.OK
    # A replayed start is refused whichever worker it reaches.
    assert a.redeem(token, CALL, now=0.0) is TokenCheck.USED
    assert b.redeem(token, CALL, now=0.0) is TokenCheck.USED
    assert a.streamed(CALL) and b.streamed(CALL)


def test_a_replayed_webhook_is_refused_on_every_worker(
    workers: tuple[SharedStreamTokens, SharedStreamTokens], wall: Wall
) -> None:
    a, b = workers
    assert b.redeem(a.mint(CALL, now=0.0), CALL, now=0.0) is TokenCheck.OK
    for worker in (a, b):
        with pytest.raises(TokenRefused) as refused:
            worker.mint(CALL, now=0.0)
        assert refused.value.reason == "streamed"
    # Remembered for four hours, then forgotten (and cleaned up).
    wall.now += 4 * 3600.0 + 1
    a.mint(CALL, now=0.0)
    assert not b.streamed(CALL)


def test_two_webhooks_for_one_call_open_one_stream(
    workers: tuple[SharedStreamTokens, SharedStreamTokens],
) -> None:
    a, b = workers
    first, second = a.mint(CALL, now=0.0), b.mint(CALL, now=0.0)
    assert a.redeem(second, CALL, now=0.0) is TokenCheck.OK
    assert b.redeem(first, CALL, now=0.0) is TokenCheck.USED


def test_a_token_for_another_call_is_spent_and_refused(
    workers: tuple[SharedStreamTokens, SharedStreamTokens],
) -> None:
    a, b = workers
    token = a.mint(CALL, now=0.0)
    assert b.redeem(token, OTHER_CALL, now=0.0) is TokenCheck.WRONG_CALL
    assert a.redeem(token, CALL, now=0.0) is TokenCheck.USED  # it leaked: never again


def test_expired_forged_and_foreign_tokens_are_refused(
    workers: tuple[SharedStreamTokens, SharedStreamTokens], wall: Wall, tmp_path: Path
) -> None:
    a, b = workers
    late = a.mint(CALL, now=0.0)
    wall.now += 60.0
    assert b.redeem(late, CALL, now=0.0) is TokenCheck.EXPIRED
    fresh = a.mint(CALL, now=0.0)
    forged = fresh[:-2] + ("AA" if fresh[-2:] != "AA" else "BB")
    assert b.redeem(forged, CALL, now=0.0) is TokenCheck.UNKNOWN
    for junk in ("", "x" * 64, "é" * 64, "\udcff" * 64, fresh + "A"):
        assert b.redeem(junk, CALL, now=0.0) is TokenCheck.UNKNOWN
    # Signed with another deployment's secret: unknown here.
    other = SharedStreamTokens(tmp_path / "other.sqlite", b"k" * 32, clock=wall)
    assert b.redeem(other.mint(CALL, now=0.0), CALL, now=0.0) is TokenCheck.UNKNOWN
    other.close()
    assert b.redeem(fresh, CALL, now=0.0) is TokenCheck.OK  # the refusals spent nothing


def test_spent_tokens_are_cleaned_up_once_expired(
    workers: tuple[SharedStreamTokens, SharedStreamTokens], wall: Wall, tmp_path: Path
) -> None:
    a, b = workers
    for n in range(20):
        b.redeem(a.mint(f"CA{n:032x}", now=0.0), f"CA{n:032x}", now=0.0)
    wall.now += 4 * 3600.0 + 120
    a.mint(CALL, now=0.0)
    with sqlite3.connect(tmp_path / "shared.sqlite") as db:
        assert db.execute("SELECT count(*) FROM spent_tokens").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM streamed_calls").fetchone() == (0,)


def test_signed_tokens_check_their_mac_and_call() -> None:
    nonce = os.urandom(16)
    token = sign_token(SECRET, CALL, 1_800_000_060.0, nonce)
    opened = open_token(SECRET, token, CALL)
    assert opened is not None and opened.nonce == nonce and opened.for_call
    assert opened.expires_at == 1_800_000_060.0
    other = open_token(SECRET, token, OTHER_CALL)
    assert other is not None and not other.for_call
    assert open_token(b"x" * 32, token, CALL) is None
    with pytest.raises(ValueError, match="at least 16 bytes"):
        sign_token(b"short", CALL, 0.0, nonce)


def test_the_secret_is_not_in_the_repr(
    workers: tuple[SharedStreamTokens, SharedStreamTokens],
) -> None:
    assert SECRET.hex() not in repr(workers[0]) and str(SECRET) not in repr(workers[0])
