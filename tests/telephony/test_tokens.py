"""One-time stream tokens, driven with explicit clock values (sans-IO)."""

from __future__ import annotations

import pytest

from hotelvoice.telephony.tokens import StreamTokens, TokenCheck

CALL = "CA00000000000000000000000000000001"
OTHER_CALL = "CA00000000000000000000000000000002"


def test_mint_then_redeem_is_ok() -> None:
    tokens = StreamTokens()
    token = tokens.mint(CALL, now=100.0)
    assert tokens.pending() == 1
    assert tokens.redeem(token, CALL, now=101.0) is TokenCheck.OK
    assert tokens.pending() == 0


def test_tokens_are_unique_url_safe_and_fit_a_stream_parameter() -> None:
    tokens = StreamTokens()
    minted = {tokens.mint(CALL, now=0.0) for _ in range(1000)}
    assert len(minted) == 1000
    for token in minted:
        assert 32 <= len(token) < 100
        assert token.replace("-", "").replace("_", "").isalnum()


def test_second_redeem_is_used() -> None:
    tokens = StreamTokens()
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, CALL, now=1.0) is TokenCheck.OK
    assert tokens.redeem(token, CALL, now=2.0) is TokenCheck.USED
    assert tokens.redeem(token, CALL, now=59.0) is TokenCheck.USED


def test_used_token_is_remembered_across_other_mints() -> None:
    tokens = StreamTokens(ttl_s=60.0)
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, CALL, now=1.0) is TokenCheck.OK
    tokens.mint(OTHER_CALL, now=30.0)
    assert tokens.redeem(token, CALL, now=31.0) is TokenCheck.USED


def test_wrong_call_is_refused_and_spends_the_token() -> None:
    tokens = StreamTokens()
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, OTHER_CALL, now=1.0) is TokenCheck.WRONG_CALL
    assert tokens.pending() == 0
    assert tokens.redeem(token, CALL, now=2.0) is TokenCheck.USED


def test_valid_until_just_before_ttl() -> None:
    tokens = StreamTokens(ttl_s=60.0)
    token = tokens.mint(CALL, now=10.0)
    assert tokens.redeem(token, CALL, now=69.999) is TokenCheck.OK


def test_expired_exactly_at_ttl() -> None:
    tokens = StreamTokens(ttl_s=60.0)
    token = tokens.mint(CALL, now=10.0)
    assert tokens.redeem(token, CALL, now=70.0) is TokenCheck.EXPIRED


def test_expired_token_is_forgotten_afterwards() -> None:
    tokens = StreamTokens(ttl_s=60.0)
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, CALL, now=60.0) is TokenCheck.EXPIRED
    assert tokens.pending() == 0
    assert tokens.redeem(token, CALL, now=61.0) is TokenCheck.UNKNOWN


@pytest.mark.parametrize("presented", ["", "not-a-token", "x" * 10_000, "\ud800", "tøken", "\x00"])
def test_unknown_token(presented: str) -> None:
    tokens = StreamTokens()
    tokens.mint(CALL, now=0.0)
    assert tokens.redeem(presented, CALL, now=1.0) is TokenCheck.UNKNOWN
    assert tokens.pending() == 1


def test_token_of_another_store_is_unknown() -> None:
    token = StreamTokens().mint(CALL, now=0.0)
    assert StreamTokens().redeem(token, CALL, now=1.0) is TokenCheck.UNKNOWN


def test_mint_prunes_expired_tokens() -> None:
    tokens = StreamTokens(ttl_s=10.0)
    stale = [tokens.mint(CALL, now=float(t)) for t in range(5)]  # expire at 10..14
    assert tokens.pending() == 5
    fresh = tokens.mint(OTHER_CALL, now=12.0)  # prunes those minted at 0, 1 and 2
    assert tokens.pending() == 3
    assert [tokens.redeem(t, CALL, now=12.0) for t in stale] == [
        TokenCheck.UNKNOWN,
        TokenCheck.UNKNOWN,
        TokenCheck.UNKNOWN,
        TokenCheck.OK,
        TokenCheck.OK,
    ]
    assert tokens.redeem(fresh, OTHER_CALL, now=12.0) is TokenCheck.OK


def test_redeem_prunes_expired_tokens() -> None:
    tokens = StreamTokens(ttl_s=10.0)
    for t in range(3):
        tokens.mint(CALL, now=float(t))
    assert tokens.redeem("unknown", CALL, now=100.0) is TokenCheck.UNKNOWN
    assert tokens.pending() == 0


def test_max_pending_drops_the_oldest() -> None:
    tokens = StreamTokens(max_pending=3)
    minted = [tokens.mint(CALL, now=float(t)) for t in range(5)]
    assert tokens.pending() == 3
    assert tokens.redeem(minted[0], CALL, now=5.0) is TokenCheck.UNKNOWN
    assert tokens.redeem(minted[1], CALL, now=5.0) is TokenCheck.UNKNOWN
    assert [tokens.redeem(t, CALL, now=5.0) for t in minted[2:]] == [TokenCheck.OK] * 3


def test_max_pending_counts_remembered_used_tokens() -> None:
    tokens = StreamTokens(max_pending=2)
    used = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(used, CALL, now=0.5) is TokenCheck.OK
    tokens.mint(CALL, now=1.0)
    tokens.mint(CALL, now=2.0)  # the store is full: the used one is dropped
    assert tokens.pending() == 2
    # Forgotten, but still refused.
    assert tokens.redeem(used, CALL, now=3.0) is TokenCheck.UNKNOWN


def test_many_calls_stay_bounded() -> None:
    tokens = StreamTokens(ttl_s=60.0, max_pending=100)
    for t in range(10_000):
        tokens.mint(f"CA{t}", now=t / 10)
    assert tokens.pending() == 100


@pytest.mark.parametrize(("ttl_s", "max_pending"), [(0.0, 10), (-1.0, 10), (60.0, 0)])
def test_bad_settings_are_refused(ttl_s: float, max_pending: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        StreamTokens(ttl_s=ttl_s, max_pending=max_pending)
