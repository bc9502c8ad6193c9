"""One-time stream tokens, driven with explicit clock values (sans-IO)."""

from __future__ import annotations

import pytest

from hotelvoice.telephony.tokens import StreamTokens, TokenCheck, TokenRefused

CALL = "CA00000000000000000000000000000001"
OTHER_CALL = "CA00000000000000000000000000000002"


def call(n: int) -> str:
    return f"CA{n:032x}"


def test_mint_then_redeem_is_ok() -> None:
    tokens = StreamTokens()
    token = tokens.mint(CALL, now=100.0)
    assert tokens.pending() == 1
    assert tokens.redeem(token, CALL, now=101.0) is TokenCheck.OK
    assert tokens.pending() == 0


def test_tokens_are_unique_url_safe_and_fit_a_stream_parameter() -> None:
    tokens = StreamTokens()
    minted = {tokens.mint(call(n), now=0.0) for n in range(1000)}
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
    stale = [tokens.mint(call(t), now=float(t)) for t in range(5)]  # expire at 10..14
    assert tokens.pending() == 5
    fresh = tokens.mint(OTHER_CALL, now=12.0)  # prunes those minted at 0, 1 and 2
    assert tokens.pending() == 3
    assert [tokens.redeem(token, call(t), now=12.0) for t, token in enumerate(stale)] == [
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
        tokens.mint(call(t), now=float(t))
    assert tokens.redeem("unknown", CALL, now=100.0) is TokenCheck.UNKNOWN
    assert tokens.pending() == 0


def test_a_second_mint_for_a_call_replaces_the_first() -> None:
    tokens = StreamTokens()
    first = tokens.mint(CALL, now=0.0)
    second = tokens.mint(CALL, now=1.0)
    assert tokens.pending() == 1
    assert tokens.redeem(first, CALL, now=2.0) is TokenCheck.UNKNOWN
    assert tokens.redeem(second, CALL, now=2.0) is TokenCheck.OK


def test_when_full_minting_is_refused_and_genuine_tokens_stay() -> None:
    tokens = StreamTokens(max_pending=3)
    genuine = tokens.mint(CALL, now=0.0)
    tokens.mint(call(10), now=0.1)
    tokens.mint(call(11), now=0.2)
    for n in range(100):  # a flood of webhooks for calls that never stream
        with pytest.raises(TokenRefused) as refused:
            tokens.mint(call(100 + n), now=1.0)
        assert refused.value.reason == "full"
    assert tokens.pending() == 3
    assert tokens.redeem(genuine, CALL, now=2.0) is TokenCheck.OK
    tokens.mint(OTHER_CALL, now=2.0)  # room again once a token is spent
    assert tokens.pending() == 3


def test_a_call_whose_stream_started_cannot_mint_again() -> None:
    tokens = StreamTokens(streamed_memory_s=4 * 3600.0)
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, CALL, now=1.0) is TokenCheck.OK
    assert tokens.streamed(CALL)
    with pytest.raises(TokenRefused) as refused:
        tokens.mint(CALL, now=3600.0)  # a replayed webhook, an hour later
    assert refused.value.reason == "streamed"
    assert tokens.pending() == 0
    tokens.mint(CALL, now=4 * 3600.0 + 2.0)  # forgotten after the memory's span
    assert not tokens.streamed(CALL)


def test_a_wrong_call_redeem_does_not_mark_either_call_streamed() -> None:
    tokens = StreamTokens()
    token = tokens.mint(CALL, now=0.0)
    assert tokens.redeem(token, OTHER_CALL, now=1.0) is TokenCheck.WRONG_CALL
    assert not tokens.streamed(CALL) and not tokens.streamed(OTHER_CALL)
    tokens.mint(CALL, now=2.0)


def test_the_streamed_memory_is_bounded_oldest_first() -> None:
    tokens = StreamTokens(max_streamed=2)
    for n in range(3):
        assert tokens.redeem(tokens.mint(call(n), now=float(n)), call(n), now=n + 0.5) is (
            TokenCheck.OK
        )
    assert [tokens.streamed(call(n)) for n in range(3)] == [False, True, True]


def test_used_tokens_remembered_are_bounded() -> None:
    tokens = StreamTokens(max_pending=2)
    used = [tokens.mint(call(n), now=0.0) for n in range(2)]
    for n, token in enumerate(used):
        assert tokens.redeem(token, call(n), now=0.5) is TokenCheck.OK
    later = tokens.mint(call(5), now=1.0)
    assert tokens.redeem(later, call(5), now=1.5) is TokenCheck.OK
    # The oldest redeemed one is forgotten (UNKNOWN), but still refused.
    assert tokens.redeem(used[0], call(0), now=2.0) is TokenCheck.UNKNOWN
    assert tokens.redeem(used[1], call(1), now=2.0) is TokenCheck.USED


def test_many_calls_stay_bounded() -> None:
    tokens = StreamTokens(ttl_s=60.0, max_pending=100)
    refused = 0
    for t in range(10_000):
        try:
            tokens.mint(call(t), now=t / 10)
        except TokenRefused:
            refused += 1
    assert tokens.pending() == 100
    assert refused > 0


@pytest.mark.parametrize(("ttl_s", "max_pending"), [(0.0, 10), (-1.0, 10), (60.0, 0)])
def test_bad_settings_are_refused(ttl_s: float, max_pending: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        StreamTokens(ttl_s=ttl_s, max_pending=max_pending)
